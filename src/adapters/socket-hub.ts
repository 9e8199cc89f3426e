/**
 * The sockets a chat-ws node holds, by session. Each socket shows every frame id at most once (live delivery and
 * resume replay overlap by design), and frames that arrive while a socket is still replaying its backlog wait in a
 * queue so the client sees history in order.
 */
import { randomUUID } from "node:crypto";
import type { ServerFrame } from "../domain/chat-wire.js";
import type { SessionFrames } from "./grpc-delivery.js";

/** The part of a `ws` WebSocket the hub uses. */
export interface SocketLike {
	readonly readyState: number;
	send(data: string): void;
	ping(): void;
	terminate(): void;
	close(code?: number, reason?: string): void;
}

const OPEN = 1;
/** Ids remembered per socket for de-duplication: far more than can be in flight at once. */
const RECENT_IDS = 512;

export interface ClientIdentity {
	userId: string;
	username: string;
	sessionId: string;
	characterId: string;
}

export class ChatClient {
	readonly id = randomUUID();
	readonly connectedAt = new Date();
	/** Cleared at each keep-alive ping, set again by the pong; a socket still false at the next ping is dead. */
	alive = true;
	/** The client's frames are handled one after another, so its messages are stored in the order sent. */
	work: Promise<void> = Promise.resolve();
	/** The last message this socket was shown in full (at first, the one the client resumed after): catch-ups start there. */
	lastShownId: string | undefined;
	private replaying = true;
	private queued: string[] = [];
	private readonly recentIds = new Set<string>();

	constructor(
		readonly socket: SocketLike,
		readonly identity: ClientIdentity,
		resumedAfter?: string,
	) {
		this.lastShownId = resumedAfter;
	}

	/** Sends a frame (object or serialized JSON) unless this socket already showed its id. */
	send(frame: ServerFrame | string): boolean {
		const text = typeof frame === "string" ? frame : JSON.stringify(frame);
		if (this.replaying) {
			this.queued.push(text);
			return true;
		}
		return this.write(text, typeof frame === "string" ? frameKey(text) : keyOf(frame));
	}

	/** Sends the replayed backlog, then whatever arrived meanwhile (minus what the backlog already showed). */
	finishReplay(backlog: ServerFrame[]): void {
		for (const frame of backlog) this.write(JSON.stringify(frame), keyOf(frame));
		this.replaying = false;
		const queued = this.queued;
		this.queued = [];
		for (const text of queued) this.write(text, frameKey(text));
	}

	private write(text: string, key: FrameKey): boolean {
		if (key.id) {
			if (this.recentIds.has(key.id)) return false;
			// Deltas share the id of their final frame: they are dropped once it is shown, but never remembered.
			if (!key.delta) {
				this.recentIds.add(key.id);
				if (this.recentIds.size > RECENT_IDS) this.recentIds.delete(this.recentIds.values().next().value as string);
			}
		}
		if (this.socket.readyState !== OPEN) return false;
		this.socket.send(text);
		if (key.id && !key.delta) this.lastShownId = key.id;
		return true;
	}
}

export class SocketHub {
	private readonly bySession = new Map<string, Set<ChatClient>>();
	private count = 0;

	get size(): number {
		return this.count;
	}

	/** Returns true when this is the node's first socket of the session (time to register the route). */
	add(client: ChatClient): boolean {
		let set = this.bySession.get(client.identity.sessionId);
		const first = !set;
		if (!set) this.bySession.set(client.identity.sessionId, (set = new Set()));
		if (!set.has(client)) this.count += 1;
		set.add(client);
		return first;
	}

	/** Returns true when the node no longer holds any socket of the session (time to drop the route). */
	remove(client: ChatClient): boolean {
		const set = this.bySession.get(client.identity.sessionId);
		if (!set?.delete(client)) return false;
		this.count -= 1;
		if (set.size > 0) return false;
		this.bySession.delete(client.identity.sessionId);
		return true;
	}

	/** Writes frames to every local socket of each session; returns the number of socket sends. */
	deliver(items: SessionFrames[]): number {
		let sent = 0;
		for (const { session_id, frames } of items) {
			for (const client of this.bySession.get(session_id) ?? []) {
				for (const frame of frames) if (client.send(frame)) sent += 1;
			}
		}
		return sent;
	}

	/**
	 * Sends each socket what `missedAfter` finds after the last message it was shown, minus what it has seen: replies
	 * stored while deliveries could not find this node (its routes lost with a Redis restart) reached no socket.
	 */
	async catchUp(missedAfter: (sessionId: string, afterId: string | undefined) => Promise<ServerFrame[]>): Promise<void> {
		for (const client of [...this.clients()]) {
			for (const frame of await missedAfter(client.identity.sessionId, client.lastShownId)) client.send(frame);
		}
	}

	/** Keep-alive: a socket that did not answer the last ping is gone (a phone that lost its network); ping the rest. */
	pingAll(): void {
		for (const client of this.clients()) {
			if (!client.alive) client.socket.terminate();
			else {
				client.alive = false;
				client.socket.ping();
			}
		}
	}

	sessionIds(): string[] {
		return [...this.bySession.keys()];
	}

	*clients(): Iterable<ChatClient> {
		for (const set of this.bySession.values()) yield* set;
	}
}

interface FrameKey {
	id?: string;
	delta: boolean;
}

function keyOf(frame: ServerFrame): FrameKey {
	return { id: "id" in frame ? frame.id : undefined, delta: frame.type === "ai.delta" };
}

// Our frames are serialized with `type` first and `id` right after it (or after `role`): read those without parsing.
const LEADING_KEYS = /^\{"type":"([^"]+)",(?:"role":"[^"]*",)?"id":"([^"]+)"/;

function frameKey(text: string): FrameKey {
	const lead = LEADING_KEYS.exec(text);
	if (lead) return { id: lead[2], delta: lead[1] === "ai.delta" };
	try {
		const { id, type } = JSON.parse(text) as { id?: unknown; type?: unknown };
		return { id: typeof id === "string" ? id : undefined, delta: type === "ai.delta" };
	} catch {
		return { delta: false };
	}
}
