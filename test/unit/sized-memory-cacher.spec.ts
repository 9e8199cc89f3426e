import { afterAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { SizedMemoryCacher, cachedBytes } from "../../src/adapters/sized-memory-cacher.js";
import { createBrokerOptions } from "../../moleculer.config.js";
import { loadConfig } from "../../src/config.js";

describe("SizedMemoryCacher", () => {
	const cacher = new SizedMemoryCacher({ maxBytes: 100_000, ttlSeconds: 300 });
	const broker = new ServiceBroker({ logger: false, cacher });
	afterAll(() => broker.stop());
	const entry = (i: number) => ({ i, text: "x".repeat(10_000) });

	it("should keep the total size of its entries under maxBytes, dropping the least recently used", async () => {
		for (let i = 0; i < 50; i += 1) await cacher.set(`k${i}`, entry(i));
		const kept = [];
		for (let i = 0; i < 50; i += 1) if (await cacher.get(`k${i}`)) kept.push(i);
		expect(kept.length * cachedBytes(entry(0))).toBeLessThanOrEqual(100_000);
		expect(kept).toEqual(Array.from({ length: kept.length }, (_, n) => 50 - kept.length + n));
		expect(kept.length).toBeGreaterThanOrEqual(8);
	});

	it("should not keep an entry larger than the whole cache", async () => {
		await cacher.set("huge", { text: "x".repeat(200_000) });
		expect(await cacher.get("huge")).toBeNull();
	});

	it("should be the embedded cacher, and the cluster's Redis cacher should expire every entry", () => {
		const base = { DATABASE_URL: "postgres://localhost/x", JWT_SECRET: "x".repeat(32), CHARACTERS_CACHE_MB: "16" };
		expect(createBrokerOptions(loadConfig(base)).cacher).toBeInstanceOf(SizedMemoryCacher);
		const cluster = createBrokerOptions(
			loadConfig({
				...base,
				MODE: "cluster",
				SERVICES: "characters",
				REDIS_URL: "redis://127.0.0.1:6379",
				TRANSPORTER: "redis://127.0.0.1:6379",
			}),
		);
		expect(cluster.cacher).toMatchObject({ type: "Redis", options: { ttl: 300 } });
	});
});
