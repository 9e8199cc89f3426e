/**
 * Which chat-ws nodes hold a WebSocket of a chat session, so the dispatcher and the AI consumer know where to send
 * its frames. A session may be open on several nodes at once (several devices of one user).
 * Cluster: a Redis hash `<ns>:routes:<session>` of gRPC address -> expiry (epoch ms). Each entry is refreshed by a
 * heartbeat of the node that holds it, so a crashed node's entries age out even while other nodes keep the key
 * alive; the key itself expires with the last heartbeat, so an abandoned session leaves nothing behind.
 * Embedded: an in-process map.
 * Expiry compares epoch ms written by one node with another node's clock: fine while clock skew stays well below the
 * TTL (NTP), and the TTL is several heartbeat intervals anyway.
 */
import type { Redis } from "ioredis";
import { redisKey } from "./redis.js";

export interface RouteRegistry {
	/** This node now holds a socket of the session (also refreshes the entry's TTL). */
	add(sessionId: string, address: string): Promise<void>;
	/** The last socket of the session on that node closed, or the node is known dead. */
	remove(sessionId: string, address: string): Promise<void>;
	/** The addresses currently holding sockets of the session. */
	lookup(sessionId: string): Promise<string[]>;
	/** Periodic heartbeat for every session this node holds, in one round trip. */
	refresh(sessionIds: string[], address: string): Promise<void>;
	/**
	 * Calls `listener` each time the store (re)connects, when entries may have been lost (a Redis restarted without
	 * persistence); returns the un-listen function.
	 */
	onReconnect(listener: () => void): () => void;
	/** Calls `listener` each time the store's connection is lost; returns the un-listen function. */
	onDisconnect(listener: () => void): () => void;
}

// Deletes the given fields only if they are still expired: a node may have refreshed one since we read the hash.
const DELETE_EXPIRED = `
local removed = 0
for i = 2, #ARGV do
	local expiry = redis.call("HGET", KEYS[1], ARGV[i])
	if expiry and tonumber(expiry) <= tonumber(ARGV[1]) then
		removed = removed + redis.call("HDEL", KEYS[1], ARGV[i])
	end
end
return removed`;

export class RedisRouteRegistry implements RouteRegistry {
	private readonly ttlMs: number;

	constructor(
		private readonly redis: Redis,
		private readonly namespace: string,
		ttlSeconds: number,
	) {
		if (!(ttlSeconds > 0)) throw new Error(`route TTL must be positive, got ${ttlSeconds}`);
		this.ttlMs = Math.round(ttlSeconds * 1000);
	}

	add(sessionId: string, address: string): Promise<void> {
		return this.refresh([sessionId], address);
	}

	async remove(sessionId: string, address: string): Promise<void> {
		await this.redis.hdel(this.key(sessionId), address);
	}

	async lookup(sessionId: string): Promise<string[]> {
		const key = this.key(sessionId);
		const entries = await this.redis.hgetall(key);
		const now = Date.now();
		const live: string[] = [];
		const expired: string[] = [];
		for (const [address, expiry] of Object.entries(entries)) {
			(Number(expiry) > now ? live : expired).push(address);
		}
		if (expired.length > 0) await this.redis.eval(DELETE_EXPIRED, 1, key, now, ...expired);
		return live;
	}

	async refresh(sessionIds: string[], address: string): Promise<void> {
		if (sessionIds.length === 0) return;
		const expiry = Date.now() + this.ttlMs;
		// MULTI, not a bare pipeline: a connection lost between HSET and PEXPIRE must not leave a key without a TTL.
		const multi = this.redis.multi();
		for (const sessionId of sessionIds) {
			const key = this.key(sessionId);
			multi.hset(key, address, expiry).pexpire(key, this.ttlMs);
		}
		const results = await multi.exec();
		const failed = results?.find(([err]) => err);
		if (!results || failed) throw failed?.[0] ?? new Error("route refresh transaction was aborted");
	}

	onReconnect(listener: () => void): () => void {
		this.redis.on("ready", listener);
		return () => void this.redis.off("ready", listener);
	}

	onDisconnect(listener: () => void): () => void {
		this.redis.on("close", listener);
		return () => void this.redis.off("close", listener);
	}

	private key(sessionId: string): string {
		return redisKey(this.namespace, "routes", sessionId);
	}
}

/**
 * Embedded mode and single-node: the same contract in memory. Entries never expire unless a TTL is given, because
 * here a node cannot die without taking the registry with it.
 */
export class LocalRouteRegistry implements RouteRegistry {
	private readonly routes = new Map<string, Map<string, number>>();
	private readonly ttlMs: number;

	constructor(ttlSeconds = Number.POSITIVE_INFINITY) {
		if (!(ttlSeconds > 0)) throw new Error(`route TTL must be positive, got ${ttlSeconds}`);
		this.ttlMs = ttlSeconds * 1000;
	}

	async add(sessionId: string, address: string): Promise<void> {
		this.set(sessionId, address, Date.now() + this.ttlMs);
	}

	async remove(sessionId: string, address: string): Promise<void> {
		const entries = this.routes.get(sessionId);
		entries?.delete(address);
		if (entries?.size === 0) this.routes.delete(sessionId);
	}

	async lookup(sessionId: string): Promise<string[]> {
		const entries = this.routes.get(sessionId);
		if (!entries) return [];
		const now = Date.now();
		for (const [address, expiry] of entries) if (expiry <= now) entries.delete(address);
		if (entries.size === 0) this.routes.delete(sessionId);
		return [...entries.keys()];
	}

	async refresh(sessionIds: string[], address: string): Promise<void> {
		const expiry = Date.now() + this.ttlMs;
		for (const sessionId of sessionIds) this.set(sessionId, address, expiry);
	}

	/** In memory: nothing to reconnect, nothing lost. */
	onReconnect(): () => void {
		return () => undefined;
	}

	onDisconnect(): () => void {
		return () => undefined;
	}

	private set(sessionId: string, address: string, expiry: number): void {
		let entries = this.routes.get(sessionId);
		if (!entries) this.routes.set(sessionId, (entries = new Map()));
		entries.set(address, expiry);
	}
}
