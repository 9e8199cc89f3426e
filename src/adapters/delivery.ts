/**
 * Puts frames on the sockets of a chat session, wherever they are.
 * Embedded: the chat-ws service in this process writes them to its sockets.
 * Cluster: the route registry names the chat-ws nodes holding the session's sockets; each gets a gRPC call
 * (`GrpcDelivery`, grpc-delivery.ts).
 * Best effort by design: every final message is stored first, and a client that misses one gets it on resume.
 */
import type { ServiceBroker } from "moleculer";
import type { AiDeltaFrame, ServerFrame, SessionFrames } from "../domain/chat-wire.js";

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
