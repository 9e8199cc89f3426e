/**
 * Per-user limits, which must hold however many sockets and nodes a user spreads over: chat messages per minute,
 * chat tokens per 24 hours, and failed logins per username. (Per-IP and per-socket limits are in rate-limiter.ts.)
 * rate-limiter-flexible counters in Redis in a cluster (the shared connection, keys under the namespace, an in-memory
 * stand-in while Redis is unreachable); in memory in embedded mode, one counter per process, so chat-ws and the
 * dispatcher count the same tokens.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import { errorFrame, type ErrorFrame } from "../domain/chat-wire.js";
import type { Limits } from "../domain/admin.js";
import { acquireRedis, redisKey, releaseRedis } from "./redis.js";

export interface Verdict {
	allowed: boolean;
	retryAfterSeconds: number;
}

/** A user's limits (src/adapters/user-limits.ts): an admin's overrides, else the server's defaults. */
export interface LimitsSource {
	of(username: string): Promise<Limits>;
}

export interface ChatQuotas {
	/** Counts one message of `username`; the error frame to answer with when it is over one of their limits. */
	admitMessage(username: string): Promise<ErrorFrame | undefined>;
	/** Counts a stored reply's tokens. Never refuses: they are spent already; the user's next message is. */
	addTokens(username: string, tokens: number): Promise<void>;
	close(): Promise<void>;
}

export interface LoginThrottle {
	/**
	 * Counts a login attempt for `username` from `client` (an IP), before the password is checked; refused once the
	 * pair's budget, or the username's budget over all clients, is spent.
	 */
	attempt(username: string, client: string): Promise<Verdict>;
	/** The right password: the pair's count starts again, and this attempt no longer counts for the username. */
	succeeded(username: string, client: string): Promise<void>;
	close(): Promise<void>;
}

const DAY_SECONDS = 24 * 3600;
/**
 * The counters' own budgets, above any limit a user may have: each message and token is counted, and compared with
 * that user's limit here, so one counter serves every limit and a changed limit holds at once for the current window.
 */
export const MAX_MESSAGES_PER_MINUTE = 1_000_000;
export const MAX_TOKENS_PER_DAY = 1_000_000_000;
const LOGIN_WINDOW_SECONDS = 15 * 60;

/** CHAT_USER_TOKENS_PER_DAY and CHAT_USER_MESSAGES_PER_MINUTE: every user's limits unless an admin set their own. */
export function defaultLimits(config: Config): Limits {
	return { tokens_per_day: config.chat.userTokensPerDay, messages_per_minute: config.chat.userMessagesPerMinute };
}

/** `limits`: each user's own (chat-ws); without it, the defaults (the services that only count tokens). */
export function createChatQuotas(config: Config, limits?: LimitsSource): ChatQuotas {
	const store = limiterStore(config);
	const messages = store.limiter("user-msg", MAX_MESSAGES_PER_MINUTE, 60);
	const tokens = store.limiter("user-tokens", MAX_TOKENS_PER_DAY, DAY_SECONDS);
	const defaults = defaultLimits(config);
	const limitsOf = (username: string) => (limits ? limits.of(username) : Promise.resolve(defaults));
	return {
		async admitMessage(username) {
			// Sent together, so the message waits one Redis round trip (the limits are cached). The token count is only
			// read here.
			const [hit, used, limit] = await Promise.all([
				counted(messages.consume(username)),
				tokens.get(username),
				limitsOf(username),
			]);
			if (hit.consumedPoints > limit.messages_per_minute) {
				const retry_after = seconds(hit.msBeforeNext);
				return errorFrame("rate_limited", "You are sending messages too fast", { retry_after });
			}
			const tokensPerDay = limit.tokens_per_day;
			if (tokensPerDay > 0 && used && used.consumedPoints >= tokensPerDay) {
				return errorFrame("quota_exceeded", "You have used up your daily token quota", {
					retry_after: seconds(used.msBeforeNext),
				});
			}
			return undefined;
		},
		async addTokens(username, count) {
			if (count > 0) await tokens.penalty(username, count);
		},
		close: store.close,
	};
}

/**
 * Every attempt counts and a success clears the count, so it is the failures since the last success. Counting before
 * the password check stops parallel guesses slipping past the limit, and refusing unknown usernames alike tells an
 * attacker nothing about which exist.
 * Per (username, client), so a stranger's failures lock out only the stranger; the larger per-username budget still
 * bounds guessing spread over many addresses. A client already refused spends none of the username's budget, so
 * one client alone cannot lock the owner out.
 */
export function createLoginThrottle(config: Config): LoginThrottle {
	const store = limiterStore(config);
	const perClient = store.limiter("login-user-client", config.loginFailuresPerUser, LOGIN_WINDOW_SECONDS);
	const perUser = store.limiter("login-user", config.loginFailuresPerUserTotal, LOGIN_WINDOW_SECONDS);
	// JSON keeps the two parts apart whatever characters they hold.
	const pair = (username: string, client: string) => JSON.stringify([username, client]);
	return {
		async attempt(username, client) {
			const own = await consume(perClient, pair(username, client));
			return own.allowed ? consume(perUser, username) : own;
		},
		async succeeded(username, client) {
			await Promise.all([perClient.delete(pair(username, client)), perUser.reward(username, 1)]);
		},
		close: store.close,
	};
}

/** Embedded mode's counters, by key prefix (which holds the namespace) and budget: shared by the services of one process. */
const memoryLimiters = new Map<string, RateLimiterMemory>();

function limiterStore(config: Config) {
	const redis: Redis | undefined =
		config.mode === "cluster" && config.redisUrl ? acquireRedis(config.redisUrl) : undefined;
	return {
		limiter(name: string, points: number, duration: number): RateLimiterAbstract {
			const keyPrefix = redisKey(config.namespace, "limit", name);
			const memory = () => new RateLimiterMemory({ keyPrefix, points, duration });
			if (redis) {
				// Not waiting for a reconnect on the hot path: while Redis is down, this node counts on its own.
				return new RateLimiterRedis({
					keyPrefix,
					points,
					duration,
					storeClient: redis,
					rejectIfRedisNotReady: true,
					insuranceLimiter: memory(),
				});
			}
			const id = `${keyPrefix}/${points}/${duration}`;
			let limiter = memoryLimiters.get(id);
			if (!limiter) memoryLimiters.set(id, (limiter = memory()));
			return limiter;
		},
		async close() {
			if (redis) await releaseRedis();
		},
	};
}

async function consume(limiter: RateLimiterAbstract, key: string): Promise<Verdict> {
	try {
		await limiter.consume(key);
		return { allowed: true, retryAfterSeconds: 0 };
	} catch (rejection) {
		if (rejection instanceof RateLimiterRes)
			return { allowed: false, retryAfterSeconds: seconds(rejection.msBeforeNext) };
		throw rejection;
	}
}

/** A consume's count, also when it went past the counter's own budget (it is over the user's limit then too). */
function counted(consumed: Promise<RateLimiterRes>): Promise<RateLimiterRes> {
	return consumed.catch((rejection: unknown) => {
		if (rejection instanceof RateLimiterRes) return rejection;
		throw rejection;
	});
}

function seconds(ms: number): number {
	return Math.max(1, Math.ceil(ms / 1000));
}
