/** The hot history caches: Redis (cluster) on this machine's Redis, and the in-process one (embedded). */
import { afterAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { MemoryHistoryCache, RedisHistoryCache, type HistoryCache } from "../../src/adapters/history-cache.js";
import { redisKey } from "../../src/adapters/redis.js";
import { uniqueName } from "../support/config.js";
import { REDIS_URL } from "../support/cluster.js";

const WINDOW = 3;
const redis = new Redis(REDIS_URL);
const namespace = uniqueName("hist");
const entry = (n: number) => ({
	id: `m${n}`,
	role: n % 2 ? ("ai" as const) : ("user" as const),
	content: `message ${n}`,
	seq: String(n),
});

afterAll(async () => {
	const keys = await redis.keys(`${namespace}:*`);
	if (keys.length) await redis.del(...keys);
	await redis.quit();
});

describe.each([
	["Redis", () => new RedisHistoryCache(redis, namespace, WINDOW)],
	["memory", () => new MemoryHistoryCache(WINDOW, 1024 * 1024)],
] as [string, () => HistoryCache][])("%s history cache", (_name, create) => {
	it("should not start a session's history by appending to it: a missing one is read from PostgreSQL", async () => {
		const cache = create();
		const session = uniqueName("s");
		await cache.append(session, entry(1));
		expect(await cache.read(session)).toBeNull();
	});

	it("should keep the newest window of a filled session as messages are appended, oldest first", async () => {
		const cache = create();
		const session = uniqueName("s");
		await cache.fill(session, [entry(1), entry(2)]);
		for (const n of [3, 4, 5]) await cache.append(session, entry(n));
		expect(await cache.read(session)).toEqual([entry(3), entry(4), entry(5)]);
		await cache.drop(session);
		expect(await cache.read(session)).toBeNull();
	});
});

it("should let an idle session's history expire in Redis", async () => {
	const cache = new RedisHistoryCache(redis, namespace, WINDOW);
	const session = uniqueName("s");
	await cache.fill(session, [entry(1)]);
	await redis.persist(redisKey(namespace, "history", session));
	await cache.append(session, entry(2));
	expect(await redis.ttl(redisKey(namespace, "history", session))).toBeGreaterThan(3600);
});
