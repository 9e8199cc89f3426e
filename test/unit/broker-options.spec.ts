import { describe, expect, it } from "vitest";
import { Errors } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config.js";
import { loadConfig } from "../../src/config.js";

const cluster = (transporter: string) =>
	loadConfig({
		TRANSPORTER: transporter,
		JWT_SECRET: "x".repeat(32),
		DATABASE_URL: "postgres://db/cameo",
		SERVICES: "auth",
	});

describe("createBrokerOptions", () => {
	it("should connect a Redis transporter without CLIENT SETINFO, which a reconnecting subscriber cannot survive (ioredis#2037)", () => {
		expect(createBrokerOptions(cluster("redis://redis:6379")).transporter).toBe(
			"redis://redis:6379?disableClientInfo=true",
		);
		expect(createBrokerOptions(cluster("rediss://redis:6380/1?family=6")).transporter).toBe(
			"rediss://redis:6380/1?family=6&disableClientInfo=true",
		);
		expect(createBrokerOptions(cluster("redis://redis:6379?disableClientInfo=1")).transporter).toBe(
			"redis://redis:6379?disableClientInfo=1",
		);
		expect(createBrokerOptions(cluster("nats://nats:4222")).transporter).toBe("nats://nats:4222");
		expect(createBrokerOptions(loadConfig({})).transporter).toBeNull();
	});

	it("should retry calls that never reached a handler, never a timed-out one (it may still be running)", () => {
		const { retryPolicy } = createBrokerOptions(loadConfig({}));
		const check = retryPolicy?.check as (err: Error) => boolean;
		expect(check(new Errors.RequestTimeoutError({ action: "characters.create", nodeID: "n1" }))).toBe(false);
		expect(check(new Errors.ServiceNotAvailableError({ action: "characters.list", nodeID: "n1" }))).toBe(true);
		expect(check(new Errors.RequestRejectedError({ action: "characters.list", nodeID: "n1" }))).toBe(true);
		expect(check(new Errors.MoleculerClientError("Bad", 422, "VALIDATION_ERROR"))).toBe(false);
	});
});
