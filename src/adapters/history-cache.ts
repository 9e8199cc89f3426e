/**
 * The hot recent history of each session, so the consumer builds a prompt without a SELECT per message.
 * Cluster: a Redis list `<ns>:history:<session>` of the latest messages (trimmed to a window, expiring when idle).
 * Embedded: no cache; reads fall through to PostgreSQL.
 * The cache is only ever appended to when it already holds the session (RPUSHX), so a partial list never
 * passes for the whole: a missing key means "read PostgreSQL and fill".
 */
import type { Redis } from "ioredis";
import { redisKey } from "./redis.js";

export interface HistoryEntry {
	id: string;
	role: "user" | "ai";
	content: string;
	/** Position in the session (messages.seq), so the rolling summary knows what it already holds. */
	seq?: string;
}

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

	async append(sessionId: string, entry: HistoryEntry): Promise<void> {
		const key = this.key(sessionId);
		const length = await this.redis.rpushx(key, JSON.stringify(entry));
		if (length > this.window) await this.redis.ltrim(key, -this.window, -1);
		if (length > 0) await this.redis.expire(key, IDLE_TTL_SECONDS);
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

/** Embedded mode: nothing cached, every read goes to PostgreSQL. */
export class NoHistoryCache implements HistoryCache {
	async append(): Promise<void> {}
	async read(): Promise<null> {
		return null;
	}
	async fill(): Promise<void> {}
	async drop(): Promise<void> {}
}
