/**
 * The hot recent history of each session, so the consumer builds a prompt without a SELECT per message.
 * Cluster: a Redis list `<ns>:history:<session>` of the latest messages (trimmed to a window, expiring when idle).
 * Embedded: the same in this process's memory, least recently used sessions evicted past a size budget.
 * The cache is only ever appended to when it already holds the session (RPUSHX), so a partial list never
 * passes for the whole: a missing key means "read PostgreSQL and fill".
 */
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import { redisKey } from "./redis.js";
import type { HistoryEntry } from "../domain/history.js";

export interface HistoryCache {
	/** Appends if the session is cached; otherwise does nothing (the next read fills from PostgreSQL). */
	append(sessionId: string, entry: HistoryEntry): Promise<void>;
	/** The cached window, oldest first, or null when the session is not cached. */
	read(sessionId: string): Promise<HistoryEntry[] | null>;
	/** Replaces the cached window with `entries` (oldest first). */
	fill(sessionId: string, entries: HistoryEntry[]): Promise<void>;
	drop(sessionId: string): Promise<void>;
}

const IDLE_TTL_SECONDS = 24 * 3600;

export class RedisHistoryCache implements HistoryCache {
	constructor(
		private readonly redis: Redis,
		private readonly namespace: string,
		private readonly window: number,
	) {}

	/** One round trip: trimming and expiring a key that RPUSHX did not find do nothing. */
	async append(sessionId: string, entry: HistoryEntry): Promise<void> {
		const key = this.key(sessionId);
		const results = await this.redis
			.pipeline()
			.rpushx(key, JSON.stringify(entry))
			.ltrim(key, -this.window, -1)
			.expire(key, IDLE_TTL_SECONDS)
			.exec();
		const failed = results?.find(([err]) => err)?.[0];
		if (failed) throw failed;
	}

	async read(sessionId: string): Promise<HistoryEntry[] | null> {
		const items = await this.redis.lrange(this.key(sessionId), 0, -1);
		return items.length === 0 ? null : items.map((item) => JSON.parse(item) as HistoryEntry);
	}

	async fill(sessionId: string, entries: HistoryEntry[]): Promise<void> {
		const key = this.key(sessionId);
		const multi = this.redis.multi().del(key);
		if (entries.length > 0) {
			multi.rpush(key, ...entries.slice(-this.window).map((e) => JSON.stringify(e))).expire(key, IDLE_TTL_SECONDS);
		}
		await multi.exec();
	}

	async drop(sessionId: string): Promise<void> {
		await this.redis.del(this.key(sessionId));
	}

	private key(sessionId: string): string {
		return redisKey(this.namespace, "history", sessionId);
	}
}

/**
 * Embedded mode: every service runs in this process, so one map is the whole cache. Entries are kept as given
 * (never mutated) and handed out as copies of the window.
 */
export class MemoryHistoryCache implements HistoryCache {
	private readonly sessions: LRUCache<string, HistoryEntry[]>;

	constructor(
		private readonly window: number,
		maxBytes: number,
	) {
		this.sessions = new LRUCache({
			maxSize: maxBytes,
			// UTF-16 strings: ~2 bytes a character, plus the entry's ids.
			sizeCalculation: (entries) => entries.reduce((bytes, e) => bytes + 2 * e.content.length + 200, 200),
			ttl: IDLE_TTL_SECONDS * 1000,
			updateAgeOnGet: true,
		});
	}

	async append(sessionId: string, entry: HistoryEntry): Promise<void> {
		const entries = this.sessions.get(sessionId);
		if (entries) this.sessions.set(sessionId, [...entries, entry].slice(-this.window));
	}

	async read(sessionId: string): Promise<HistoryEntry[] | null> {
		return this.sessions.get(sessionId)?.slice() ?? null;
	}

	async fill(sessionId: string, entries: HistoryEntry[]): Promise<void> {
		this.sessions.set(sessionId, entries.slice(-this.window));
	}

	async drop(sessionId: string): Promise<void> {
		this.sessions.delete(sessionId);
	}
}
