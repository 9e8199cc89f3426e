/**
 * Puts frames on the sockets of a chat session, wherever they are.
 * Embedded: the chat-ws service in this process writes them to its sockets.
 * Cluster: the route registry names the chat-ws nodes holding the session's sockets; each gets a gRPC call.
 * Best effort by design: every final message is stored first, and a client that misses one gets it on resume.
 */
import type { ServiceBroker } from "moleculer";
import { status } from "@grpc/grpc-js";
import type { AiDeltaFrame, ServerFrame } from "../domain/chat-wire.js";
import type { DeliveryClientPool, SessionFrames } from "./grpc-delivery.js";
import type { RouteRegistry } from "./route-registry.js";

export interface Delivery {
	/** Sends frames to every socket of the session; resolves with the number of socket sends made. */
	send(sessionId: string, frames: ServerFrame[]): Promise<number>;
	/** A best-effort channel for the deltas of one reply: the session's sockets are looked up once, not per delta. */
	openDeltaStream(sessionId: string): Promise<DeltaStream>;
}

export interface DeltaStream {
	push(frame: AiDeltaFrame): void;
}

/** What a chat-ws service offers for delivery to its own sockets. */
export interface LocalSocketSink {
	deliverLocal(items: SessionFrames[]): number;
}

export class LocalDelivery implements Delivery {
	constructor(private readonly broker: ServiceBroker) {}

	async send(sessionId: string, frames: ServerFrame[]): Promise<number> {
		const sink = this.sink();
		return sink ? sink.deliverLocal([{ session_id: sessionId, frames: frames.map((f) => JSON.stringify(f)) }]) : 0;
	}

	async openDeltaStream(sessionId: string): Promise<DeltaStream> {
		const sink = this.sink();
		return coalescedDeltas((frame) => sink?.deliverLocal([{ session_id: sessionId, frames: [frame] }]));
	}

	private sink(): LocalSocketSink | undefined {
		return this.broker.getLocalService("chat-ws") as unknown as LocalSocketSink | undefined;
	}
}

export class GrpcDelivery implements Delivery {
	constructor(
		private readonly routes: RouteRegistry,
		private readonly clients: DeliveryClientPool,
		private readonly logger: { warn(...args: unknown[]): void },
	) {}

	async send(sessionId: string, frames: ServerFrame[]): Promise<number> {
		const addresses = await this.routes.lookup(sessionId);
		if (addresses.length === 0) return 0;
		const items = [{ session_id: sessionId, frames: frames.map((f) => JSON.stringify(f)) }];
		const results = await Promise.all(
			addresses.map(async (address) => {
				try {
					return await this.clients.deliver(address, items);
				} catch (err) {
					this.logger.warn(`Delivery to ${address} failed: ${(err as Error).message}`);
					// A node that cannot be reached holds no live socket we can serve: forget it for this session.
					// (A live node re-adds its routes at its next heartbeat anyway.)
					if ((err as { code?: number }).code === status.UNAVAILABLE) {
						await this.routes.remove(sessionId, address).catch(() => undefined);
					}
					return 0;
				}
			}),
		);
		return results.reduce((a, b) => a + b, 0);
	}

	async openDeltaStream(sessionId: string): Promise<DeltaStream> {
		const addresses = await this.routes.lookup(sessionId);
		return coalescedDeltas((frame) => {
			for (const address of addresses) this.clients.streamDeltas(address, [{ session_id: sessionId, frames: [frame] }]);
		});
	}
}

/**
 * The deltas of one reply pushed in the same turn of the event loop leave as one frame (their text joined): a fast
 * model yields many chunks at once, and every frame is a write to every socket of the session. A chunk that arrives
 * on its own (a model streaming over the network) still leaves at once, in the next turn.
 */
export function coalescedDeltas(send: (frame: string) => void): DeltaStream {
	let pending: AiDeltaFrame | null = null;
	return {
		push(frame) {
			if (pending) {
				pending.delta += frame.delta;
				return;
			}
			pending = { ...frame };
			setImmediate(() => {
				const joined = pending!;
				pending = null;
				send(JSON.stringify(joined));
			});
		},
	};
}
