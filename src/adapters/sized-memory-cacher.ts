/**
 * Moleculer's MemoryLRU cacher, bounded by the size of what it holds rather than by a count of entries: a cached
 * character can be 2 MB or 200 bytes, so no entry count bounds the memory. Moleculer's plain Memory cacher has no
 * bound at all (12 gallery reads of big cards took a process from 0.6 to 1.65 GB).
 */
import { Cachers } from "moleculer";

interface LruOptions {
	max: number;
	length(value: unknown): number;
	maxAge: number;
	updateAgeOnGet: boolean;
}
type LruConstructor = new (options: LruOptions) => unknown;

/** An entry's size: its JSON, which is also what the Redis cacher of a cluster stores. */
export function cachedBytes(value: unknown): number {
	return (JSON.stringify(value) ?? "").length + 64;
}

export class SizedMemoryCacher extends Cachers.MemoryLRU {
	/** `maxBytes` of entries in all; each lives at most `ttlSeconds` (actions may ask for less). */
	constructor(opts: { maxBytes: number; ttlSeconds: number }) {
		super({ max: opts.maxBytes, ttl: opts.ttlSeconds });
		const self = this as unknown as { cache: { constructor: LruConstructor } };
		// The lru-cache (v6) moleculer pinned for this cacher, again with a length function: `max` then bounds their sum.
		// Reads don't extend an entry's life: the TTL bounds how stale a read can be after a change made elsewhere.
		const Lru = self.cache.constructor;
		self.cache = new Lru({
			max: opts.maxBytes,
			length: cachedBytes,
			maxAge: opts.ttlSeconds * 1000,
			updateAgeOnGet: false,
		}) as typeof self.cache;
	}
}
