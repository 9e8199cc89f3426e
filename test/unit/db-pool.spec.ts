import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { applicationName } from "../../src/adapters/database.js";

describe("the database pool's settings", () => {
	it("should default to 10 connections closed after 10 s idle, and take DB_POOL_MAX and DB_POOL_IDLE_MS", () => {
		expect(loadConfig({}).dbPool).toEqual({ max: 10, idleMs: 10_000 });
		expect(loadConfig({ DB_POOL_MAX: "4", DB_POOL_IDLE_MS: "30000" }).dbPool).toEqual({ max: 4, idleMs: 30_000 });
	});

	it("should refuse a pool of no connections, a fraction, or an idle time under a second", () => {
		expect(() => loadConfig({ DB_POOL_MAX: "0" })).toThrow(/DB_POOL_MAX/);
		expect(() => loadConfig({ DB_POOL_MAX: "2.5" })).toThrow(/DB_POOL_MAX/);
		expect(() => loadConfig({ DB_POOL_IDLE_MS: "10" })).toThrow(/DB_POOL_IDLE_MS/);
	});

	it("should name the connections after the node, within PostgreSQL's 63 bytes", () => {
		expect(applicationName("chat-ws-7d9f8-abcde")).toBe("cameo/chat-ws-7d9f8-abcde");
		expect(applicationName("x".repeat(100))).toHaveLength(63);
		expect(applicationName(undefined)).toMatch(/^cameo\/.+-\d+$/);
	});
});
