/**
 * Puts frames on the sockets of a chat session, wherever they are.
 * Embedded: the chat-ws service of this process attaches its sockets (`attachLocal`) and gets them.
 * Cluster: the route registry names the chat-ws nodes holding the session's sockets; each gets a gRPC call
 * (`GrpcDelivery`, grpc-delivery.ts).
 * Best effort by design: every final message is stored first, and a client that misses one gets it on resume.
 */
import { serializeFrame } from "../domain/chat-wire.js";
import type { AiDeltaFrame, SerializedFrame, ServerFrame, SessionFrames } from "../domain/chat-wire.js";

export interface Delivery {
	/** Sends frames to every socket of the session; resolves with the number of socket sends made. */
	send(sessionId: string, frames: ServerFrame[]): Promise<number>;
	/** A best-effort channel for the deltas of one reply: the session's sockets are looked up once, not per delta. */
	openDeltaStream(sessionId: string): Promise<DeltaStream>;
	/** chat-ws registers the sockets it holds; returns the function that unregisters them. */
	attachLocal(sink: LocalSocketSink): () => void;
}

export interface DeltaStream {
	push(frame: AiDeltaFrame): void;
}

/** Writes frames to a chat-ws node's own sockets; returns the number of socket sends. */
export type LocalSocketSink = (items: SessionFrames[]) => number;

/** Delivery within one process (embedded): to the sockets attached, or nowhere while no chat-ws runs here. */
export class LocalDelivery implements Delivery {
	private sink: LocalSocketSink | undefined;

	attachLocal(sink: LocalSocketSink): () => void {
		this.sink = sink;
		return () => {
			if (this.sink === sink) this.sink = undefined;
		};
	}

	async send(sessionId: string, frames: ServerFrame[]): Promise<number> {
		return this.sink?.([{ session_id: sessionId, frames: frames.map(serializeFrame) }]) ?? 0;
	}

	async openDeltaStream(sessionId: string): Promise<DeltaStream> {
		const sink = this.sink;
		return coalescedDeltas((frame) => sink?.([{ session_id: sessionId, frames: [frame] }]));
	}
}

/**
 * The deltas of one reply pushed in the same turn of the event loop leave as one frame (their text joined): a fast
 * model yields many chunks at once, and every frame is a write to every socket of the session. A chunk that arrives
 * on its own (a model streaming over the network) still leaves at once, in the next turn.
 */
export function coalescedDeltas(send: (frame: SerializedFrame) => void): DeltaStream {
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
				send(serializeFrame(joined));
			});
		},
	};
}
