/**
 * Fixed-window rate limiting from rate-limiter-flexible: in memory in embedded mode, in Redis in a cluster so the
 * limit holds across replicas (the gateway's per-client limits, chat-ws's handshake limits), with an in-memory
 * fallback while Redis is unreachable.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Redis } from "ioredis";

export interface RateLimiter {
	/** Counts one hit for `key`; `allowed: false` once the window's budget is spent. */
	hit(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

export function createRateLimiter(opts: {
	keyPrefix: string;
	points: number;
	durationSeconds: number;
	redis?: Redis;
}): RateLimiter {
	const base = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.durationSeconds };
	const limiter = opts.redis
		? // Not waiting for a reconnect: while Redis is down, this node counts on its own.
			new RateLimiterRedis({
				...base,
				storeClient: opts.redis,
				rejectIfRedisNotReady: true,
				insuranceLimiter: new RateLimiterMemory(base),
			})
		: new RateLimiterMemory(base);
	return {
		async hit(key) {
			try {
				await limiter.consume(key);
				return { allowed: true, retryAfterSeconds: 0 };
			} catch (rejection) {
				if (rejection instanceof RateLimiterRes) {
					return { allowed: false, retryAfterSeconds: Math.ceil(rejection.msBeforeNext / 1000) };
				}
				throw rejection;
			}
		},
	};
}
