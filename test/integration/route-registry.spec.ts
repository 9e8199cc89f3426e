/**
 * The route registry contract on both implementations (real Redis on REDIS_URL or 127.0.0.1:6379), plus the Redis
 * layout that other nodes and operators rely on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { LocalRouteRegistry, RedisRouteRegistry, type RouteRegistry } from "../../src/adapters/route-registry.js";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
const namespace = `test-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const A = "10.0.0.1:50051";
const B = "10.0.0.2:50051";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let sessionCounter = 0;
const newSession = () => `s${++sessionCounter}`;

afterAll(async () => {
	const keys = await redis.keys(`${namespace}:*`);
	if (keys.length > 0) await redis.del(...keys);
	await redis.quit();
});

describe.each([
	{ name: "RedisRouteRegistry", create: (ttlSeconds: number) => new RedisRouteRegistry(redis, namespace, ttlSeconds) },
	{ name: "LocalRouteRegistry", create: (ttlSeconds: number) => new LocalRouteRegistry(ttlSeconds) },
])("$name contract", ({ create }) => {
	let registry: RouteRegistry;
	beforeAll(() => {
		registry = create(30);
	});

	it("should know nothing of a session never added", async () => {
		expect(await registry.lookup(newSession())).toEqual([]);
	});

	it("should add, look up and remove two addresses of one session", async () => {
		const session = newSession();
		await registry.add(session, A);
		await registry.add(session, B);
		await registry.add(session, A);
		expect((await registry.lookup(session)).sort()).toEqual([A, B]);

		await registry.remove(session, A);
		expect(await registry.lookup(session)).toEqual([B]);
		await registry.remove(session, A);
		await registry.remove(session, B);
		expect(await registry.lookup(session)).toEqual([]);
	});

	it("should keep sessions apart", async () => {
		const [one, two] = [newSession(), newSession()];
		await registry.add(one, A);
		await registry.add(two, B);
		expect(await registry.lookup(one)).toEqual([A]);
		expect(await registry.lookup(two)).toEqual([B]);
	});

	it("should expire an address that stopped refreshing while another stays", async () => {
		const short = create(1);
		const session = newSession();
		await short.add(session, A);
		await sleep(600);
		await short.add(session, B);
		await sleep(600);
		expect(await short.lookup(session)).toEqual([B]);
		await sleep(600);
		expect(await short.lookup(session)).toEqual([]);
	});

	it("should extend every refreshed session's entries", async () => {
		const short = create(1);
		const sessions = [newSession(), newSession(), newSession()];
		for (const session of sessions) await short.add(session, A);
		await short.add(sessions[0], B);
		await sleep(600);
		await short.refresh(sessions, A);
		await short.refresh([], A);
		await sleep(600);
		for (const session of sessions) expect(await short.lookup(session)).toEqual([A]);
	});
});

describe("RedisRouteRegistry layout", () => {
	const registry = new RedisRouteRegistry(redis, namespace, 30);

	it("should store a hash of address -> expiry (epoch ms) under <ns>:routes:<session> with a key TTL", async () => {
		const session = newSession();
		const before = Date.now();
		await registry.add(session, A);
		const key = `${namespace}:routes:${session}`;
		const expiry = Number(await redis.hget(key, A));
		expect(expiry).toBeGreaterThanOrEqual(before + 30_000);
		expect(expiry).toBeLessThanOrEqual(Date.now() + 30_000);
		const pttl = await redis.pttl(key);
		expect(pttl).toBeGreaterThan(29_000);
		expect(pttl).toBeLessThanOrEqual(30_000);
	});

	it("should delete expired fields on lookup, so a dead node's entry does not live on with the key", async () => {
		const session = newSession();
		const key = `${namespace}:routes:${session}`;
		await registry.add(session, A);
		await redis.hset(key, B, Date.now() - 1);
		expect(await registry.lookup(session)).toEqual([A]);
		expect(await redis.hkeys(key)).toEqual([A]);
	});

	it("should let the whole key expire once no node refreshes it", async () => {
		const session = newSession();
		await new RedisRouteRegistry(redis, namespace, 0.3).add(session, A);
		expect(await redis.exists(`${namespace}:routes:${session}`)).toBe(1);
		await sleep(450);
		expect(await redis.exists(`${namespace}:routes:${session}`)).toBe(0);
	});

	it("should refuse a non-positive TTL", () => {
		expect(() => new RedisRouteRegistry(redis, namespace, 0)).toThrow(/positive/);
		expect(() => new LocalRouteRegistry(-1)).toThrow(/positive/);
	});
});
