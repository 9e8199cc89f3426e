/**
 * Who of a room is here: on every join and leave, its sockets on every node are sent a `presence` frame listing its
 * people (owner first) and whether each has a socket open anywhere. Each chat-ws node answers for its own sockets
 * (`chat-ws.present`); joins and leaves are rare next to messages, so asking every node then is cheap.
 */
import type { ServiceBroker } from "moleculer";
import type { PresenceFrame } from "../domain/chat-frames.js";
import type { Delivery } from "./delivery.js";
import type { RoomStore } from "./room-store.js";

/** What the registry lists for each service instance (its types name only the schema). */
interface ServiceEntry {
	name: string;
	nodeID: string;
}

export class RoomPresence {
	constructor(
		private readonly broker: ServiceBroker,
		private readonly rooms: RoomStore,
		private readonly delivery: Delivery,
		private readonly logger: { warn(...a: unknown[]): void },
	) {}

	/** Sends the room's presence to all its sockets; a node that does not answer counts as holding none. */
	async announce(sessionId: string): Promise<void> {
		try {
			const services = this.broker.registry.getServiceList({ onlyAvailable: true }) as unknown as ServiceEntry[];
			const nodes = services.filter((s) => s.name === "chat-ws").map((s) => s.nodeID);
			const here = await Promise.all(
				[...new Set(nodes)].map((nodeID) =>
					this.broker
						.call<string[], { session_id: string }>("chat-ws.present", { session_id: sessionId }, { nodeID })
						.catch(() => []),
				),
			);
			const online = new Set(here.flat());
			const people = await this.rooms.people(sessionId);
			const frame: PresenceFrame = {
				type: "presence",
				members: people.map((username) => ({ username, online: online.has(username) })),
			};
			await this.delivery.send(sessionId, [frame]);
		} catch (err) {
			this.logger.warn({ session_id: sessionId }, "Presence not announced:", err);
		}
	}
}
