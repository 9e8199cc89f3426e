/**
 * The sockets a chat-ws node holds, by session. Each socket shows every frame id at most once (live delivery and
 * resume replay overlap by design), and frames that arrive while a socket is still replaying its backlog wait in a
 * queue so the client sees history in order.
 *
 * What one socket may cost is bounded: frames received and not yet handled (closed with 1008 beyond
 * `maxQueuedFrames`), rate-limit breaches per minute (1008 beyond `maxLimitBreaches`), and bytes waiting to be sent
 * to a client that does not read (terminated beyond `maxBufferedBytes`). A socket also ends when its token expires
 * (4001, checked at each keep-alive round), and a user holds at most `maxSocketsPerUser` sockets on this node.
 */
import { randomUUID } from "node:crypto";
import type { Viewer } from "../domain/characters.js";
import { serializeFrame, type SerializedFrame, type ServerFrame, type SessionFrames } from "../domain/chat-wire.js";
import type { MessagesDeletedFrame } from "../domain/chat-frames.js";

/** The part of a `ws` WebSocket the hub uses. */
export interface SocketLike {
	readonly readyState: number;
	/** Bytes queued to be sent and not yet handed to the kernel. */
	readonly bufferedAmount: number;
	send(data: string): void;
	ping(): void;
	terminate(): void;
	close(code?: number, reason?: string): void;
}

const OPEN = 1;
/** Ids remembered per socket for de-duplication: far more than can be in flight at once. */
const RECENT_IDS = 512;
const BREACH_WINDOW_MS = 60_000;
/** A socket this hub closes is dropped this long after, should the client not answer the close (it may not read). */
const CLOSE_GRACE_MS = 1000;

/** Application close codes (4000-4999, RFC 6455) and the standard ones this hub uses. */
export const CloseCode = {
	PolicyViolation: 1008,
	Restarting: 1012,
	Kicked: 4000,
	TokenExpired: 4001,
	AccountDisabled: 4003,
	/** The same code as a disabled account's: this user may no longer be in this room (the reason says which). */
	RemovedFromRoom: 4003,
	CharacterUnavailable: 4004,
} as const;

export interface ClientIdentity {
	userId: string;
	username: string;
	/** Display name: what `{{user}}` stands for. */
	name: string;
	role: Viewer["role"];
	/** The user opted in to NSFW characters when the socket opened. */
	showNsfw?: boolean;
	sessionId: string;
	characterId: string;
	/** The id (`jti`) of the token the socket was opened with: a logout closes that token's sockets only. */
	tokenId?: string;
	/** Opened with an API key (`tokenId` is the key's id): a password change leaves it open, as it leaves the key. */
	apiKey?: boolean;
	/** In a room: its owner, and the persona name this user writes as there (absent in a one-character chat). */
	room?: { owner: string; persona: string };
}

/** A socket as operators see it (the `chat-ws.sockets` action). */
export interface SocketInfo {
	node_id: string;
	session_id: string;
	username: string;
	character_id: string;
	connected_at: string;
}

export interface ClientLimits {
	maxQueuedFrames: number;
	maxLimitBreaches: number;
	maxBufferedBytes: number;
}

const NO_LIMITS: ClientLimits = { maxQueuedFrames: Infinity, maxLimitBreaches: Infinity, maxBufferedBytes: Infinity };

export interface ClientOptions {
	/** The message the client resumed after. */
	resumedAfter?: string;
	limits?: ClientLimits;
	/** When the client's token expires (ms since the epoch). */
	expiresAt?: number;
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
	/**
	 * Where the next catch-up starts instead, while deliveries may be failing (Redis away): `lastShownId` as it was
	 * when they began to. The socket's own echo still moves `lastShownId` on meanwhile, past what others said and could
	 * not be delivered. Undefined while nothing is failing; null when nothing had been shown.
	 */
	catchUpFrom: string | null | undefined;
	readonly expiresAt: number | undefined;
	private readonly limits: ClientLimits;
	private replaying = true;
	private queued: SerializedFrame[] = [];
	private queuedBytes = 0;
	private readonly recentIds = new Set<string>();
	/** Frames received and not yet handled. */
	private pending = 0;
	private breaches: number[] = [];
	/** Set when this hub ends the socket (a limit, a grant lost): frames still waiting are dropped, not handled. */
	private ended = false;

	constructor(
		readonly socket: SocketLike,
		readonly identity: ClientIdentity,
		options: ClientOptions = {},
	) {
		this.lastShownId = options.resumedAfter;
		this.limits = options.limits ?? NO_LIMITS;
		this.expiresAt = options.expiresAt;
	}

	/**
	 * Queues `handle` after the frames before it. False, with the socket closed (1008), when too many are waiting
	 * already: a client that sends faster than its frames can be handled.
	 */
	enqueue(handle: () => Promise<void>, onError: (err: unknown) => void): boolean {
		if (this.ended) return false;
		if (this.pending >= this.limits.maxQueuedFrames) {
			this.end(CloseCode.PolicyViolation, "Too many frames waiting; slow down");
			return false;
		}
		this.pending += 1;
		this.work = this.work
			.then(() => (this.ended ? undefined : handle()))
			.catch(onError)
			.finally(() => (this.pending -= 1));
		return true;
	}

	/**
	 * Counts a refusal for going over a rate limit. False, with the socket closed (1008), once it is one more than the
	 * minute allows: a client that ignores `retry_after` gets no more error frames.
	 */
	breach(now = Date.now()): boolean {
		this.breaches = this.breaches.filter((t) => t > now - BREACH_WINDOW_MS);
		this.breaches.push(now);
		if (this.breaches.length <= this.limits.maxLimitBreaches) return true;
		this.end(CloseCode.PolicyViolation, "Too many frames over the rate limit");
		return false;
	}

	/** Closes the socket and drops the frames still waiting to be handled. */
	end(code: number, reason: string): void {
		if (this.ended) return;
		this.ended = true;
		this.socket.close(code, reason);
		setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
	}

	expired(now = Date.now()): boolean {
		return this.expiresAt !== undefined && now >= this.expiresAt;
	}

	/** Sends a frame (as is, or serialized already) unless this socket already showed its id. */
	send(frame: ServerFrame | SerializedFrame): boolean {
		const serialized = "json" in frame ? frame : serializeFrame(frame);
		if (this.replaying) {
			this.queuedBytes += serialized.json.length;
			if (this.queuedBytes > this.limits.maxBufferedBytes) return this.overflow();
			this.queued.push(serialized);
			return true;
		}
		return this.write(serialized);
	}

	/** Sends the replayed backlog, then whatever arrived meanwhile (minus what the backlog already showed). */
	finishReplay(backlog: ServerFrame[]): void {
		for (const frame of backlog) this.write(serializeFrame(frame));
		this.replaying = false;
		const queued = this.queued;
		this.queued = [];
		for (const frame of queued) this.write(frame);
	}

	private write({ type, id, json }: SerializedFrame): boolean {
		// A rewind forgets the messages it deleted: a reply asked for again gets the id of the one deleted (variant 0).
		if (type === "messages.deleted")
			for (const deleted of (JSON.parse(json) as MessagesDeletedFrame).ids) this.recentIds.delete(deleted);
		// Deltas share the id of their final frame: they are dropped once it is shown, but never remembered.
		const delta = type === "ai.delta";
		if (id) {
			if (this.recentIds.has(id)) return false;
			if (!delta) {
				this.recentIds.add(id);
				if (this.recentIds.size > RECENT_IDS) this.recentIds.delete(this.recentIds.values().next().value as string);
			}
		}
		if (this.socket.readyState !== OPEN) return false;
		if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) return this.overflow();
		this.socket.send(json);
		// Catch-ups start after the newest message shown; an edit or a continuation (a key with `@`) names an older one.
		if (id && (type === "echo" || type === "ai" || type === "message") && !id.includes("@")) this.lastShownId = id;
		return true;
	}

	/** The client does not read what it is sent: drop it (it resumes with `after` and misses nothing stored). */
	private overflow(): false {
		this.ended = true;
		this.queued = [];
		this.socket.terminate();
		return false;
	}
}

export class SocketHub {
	private readonly bySession = new Map<string, Set<ChatClient>>();
	/** Between `deliveriesMayFail` and the next `catchUp`. */
	private deliveriesFailing = false;
	private count = 0;
	/** Sockets per username, counted from the handshake (claimSlot) to the close (releaseSlot). */
	private readonly slots = new Map<string, number>();

	get size(): number {
		return this.count;
	}

	/** Takes one of the user's `max` socket slots; false when all are taken. */
	claimSlot(username: string, max: number): boolean {
		const taken = this.slots.get(username) ?? 0;
		if (taken >= max) return false;
		this.slots.set(username, taken + 1);
		return true;
	}

	releaseSlot(username: string): void {
		const taken = (this.slots.get(username) ?? 0) - 1;
		if (taken > 0) this.slots.set(username, taken);
		else this.slots.delete(username);
	}

	/** Closes the sockets `match` picks; returns how many. */
	closeWhere(match: (client: ChatClient) => boolean, code: number, reason: string): number {
		const clients = [...this.clients()].filter(match);
		for (const client of clients) client.end(code, reason);
		return clients.length;
	}

	/** Who has a socket of the session open on this node. */
	usersIn(sessionId: string): string[] {
		return [...new Set([...(this.bySession.get(sessionId) ?? [])].map((c) => c.identity.username))];
	}

	/** Whether this node holds a socket of the session. */
	holds(sessionId: string): boolean {
		return this.bySession.has(sessionId);
	}

	/** Returns true when this is the node's first socket of the session (time to register the route). */
	add(client: ChatClient): boolean {
		if (this.deliveriesFailing) client.catchUpFrom ??= client.lastShownId ?? null;
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
	async catchUp(
		missedAfter: (identity: ClientIdentity, afterId: string | undefined) => Promise<ServerFrame[]>,
	): Promise<void> {
		this.deliveriesFailing = false;
		for (const client of [...this.clients()]) {
			const from = client.catchUpFrom === undefined ? client.lastShownId : (client.catchUpFrom ?? undefined);
			client.catchUpFrom = undefined;
			for (const frame of await missedAfter(client.identity, from)) client.send(frame);
		}
	}

	/**
	 * Deliveries may fail from now until the next catch-up (Redis, which finds the sockets' nodes, is away): each
	 * socket's catch-up will start where it stands now, not after the echoes of its own messages sent meanwhile. In a
	 * room, what the others said meanwhile reached nobody, and starting after a later echo would skip it for good.
	 */
	deliveriesMayFail(): void {
		this.deliveriesFailing = true;
		for (const client of this.clients()) client.catchUpFrom ??= client.lastShownId ?? null;
	}

	/**
	 * Keep-alive: a socket that did not answer the last ping is gone (a phone that lost its network); one whose token
	 * expired is closed with 4001 (the client logs in again); ping the rest.
	 */
	pingAll(now = Date.now()): void {
		for (const client of this.clients()) {
			if (!client.alive) client.socket.terminate();
			else if (client.expired(now)) client.end(CloseCode.TokenExpired, "Token expired");
			else {
				client.alive = false;
				client.socket.ping();
			}
		}
	}

	/** This node's sockets (of one user, when given) for operators. */
	describe(nodeId: string, username?: string): SocketInfo[] {
		return [...this.clients()]
			.filter((c) => !username || c.identity.username === username)
			.map((c) => ({
				node_id: nodeId,
				session_id: c.identity.sessionId,
				username: c.identity.username,
				character_id: c.identity.characterId,
				connected_at: c.connectedAt.toISOString(),
			}));
	}

	sessionIds(): string[] {
		return [...this.bySession.keys()];
	}

	*clients(): Iterable<ChatClient> {
		for (const set of this.bySession.values()) yield* set;
	}
}
