/**
 * The per-process health server: liveness, readiness through a broker's whole life (embedded and on the real Redis
 * transporter and RabbitMQ), Moleculer's metrics in Prometheus format on the same port, and the SIGTERM drain of the
 * real process.
 */
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { startHealthServer, type HealthServer } from "../../src/adapters/health-server.js";
import { TEST_JWT_SECRET, testConfig, uniqueName } from "../support/config.js";
import { freePort, startCameo, waitForStatus, type RunningProcess } from "../support/process.js";
import { startFakeGemini, type FakeServer } from "../support/fake-gemini.js";
import { REDIS_URL } from "../support/services.js";

interface Answer {
	status: number;
	type: string | null;
	body: string;
	json: () => Record<string, unknown>;
}

async function get(health: HealthServer, path: string, init: RequestInit = {}): Promise<Answer> {
	const res = await fetch(`http://127.0.0.1:${health.port}${path}`, init);
	const body = await res.text();
	return {
		status: res.status,
		type: res.headers.get("content-type"),
		body,
		json: () => JSON.parse(body) as Record<string, unknown>,
	};
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
	const started = Date.now();
	while (!(await check())) {
		if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

describe("Health server, where ai-consumer runs with a refused model key", () => {
	let broker: ServiceBroker;
	let health: HealthServer;
	let fake: FakeServer;

	beforeAll(async () => {
		fake = await startFakeGemini({ apiKey: "the-right-key" });
		const config = testConfig({
			SERVICES: "characters,ai-consumer",
			NAMESPACE: uniqueName("hllm"),
			HEALTH_PORT: "0",
			GOOGLE_API_KEY: "a-wrong-key",
			GEMINI_BASE_URL: fake.url,
		});
		broker = createBroker(config, { logger: false });
		health = await startHealthServer(broker, config);
		await broker.start();
	});

	afterAll(async () => {
		await broker.stop();
		await health.close();
		await fake.stop();
	});

	it("should stay ready but say in /readyz that the key is refused, as checked at start", async () => {
		await until(async () => (await get(health, "/readyz")).json().llm !== "unchecked");
		const ready = await get(health, "/readyz");
		expect(ready.status).toBe(200);
		expect(ready.json()).toEqual({
			status: "ready",
			llm: "misconfigured: HTTP 400: API key not valid. Please pass a valid API key. (API_KEY_INVALID)",
		});
		expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1beta/models/gemini-3.8-flash"]);
	});
});

describe("Health server, embedded", () => {
	let broker: ServiceBroker;
	let health: HealthServer;

	beforeAll(async () => {
		const config = testConfig({ SERVICES: "auth", HEALTH_PORT: "0", METRICS_ENABLED: "true" });
		broker = createBroker(config, { logger: false });
		health = await startHealthServer(broker, config);
	});

	afterAll(async () => {
		await broker.stop();
		await health.close();
	});

	it("should be live but not ready before the broker starts", async () => {
		expect((await get(health, "/livez")).status).toBe(200);
		const ready = await get(health, "/readyz");
		expect(ready.status).toBe(503);
		expect(ready.type).toBe("application/json");
		expect(ready.json()).toEqual({
			status: "not_ready",
			not_ready: { broker: "starting", services: "not started: auth" },
		});
	});

	it("should be ready once the broker has started and the database answers", async () => {
		await broker.start();
		const ready = await get(health, "/readyz");
		expect(ready.json()).toEqual({ status: "ready" });
		expect(ready.status).toBe(200);
	});

	it("should serve Moleculer's metrics in Prometheus text format", async () => {
		await broker.call("auth.register", { username: uniqueName("hm"), name: "Metrics", password: "password123" });
		const metrics = await get(health, "/metrics");
		expect(metrics.status).toBe(200);
		expect(metrics.type).toContain("text/plain; version=0.0.4");
		expect(metrics.body).toMatch(/^moleculer_broker_started\{.*nodeID=.*\} 1$/m);
		expect(metrics.body).toMatch(/^moleculer_request_total\{.*action="auth\.register".*\} 1$/m);
	});

	it("should refuse other paths and methods", async () => {
		expect((await get(health, "/nope")).json()).toEqual({ detail: "Not found", code: "NOT_FOUND" });
		expect((await get(health, "/readyz", { method: "POST" })).status).toBe(405);
	});

	it("should turn readiness off at SIGTERM while staying live, then both off once stopped", async () => {
		health.markStopping();
		const draining = await get(health, "/readyz");
		expect(draining.status).toBe(503);
		expect(draining.json()).toMatchObject({ not_ready: { broker: "stopping" } });
		expect((await get(health, "/livez")).status).toBe(200);

		await broker.stop();
		expect((await get(health, "/livez")).json()).toEqual({ status: "stopping" });
		const stopped = await get(health, "/readyz");
		expect(stopped.status).toBe(503);
		expect(stopped.json()).toMatchObject({ not_ready: { broker: "stopping" } });
	});

	it("should not serve /metrics when metrics are disabled", async () => {
		const config = testConfig({ SERVICES: "auth", HEALTH_PORT: "0", METRICS_ENABLED: "false" });
		const server = await startHealthServer(createBroker(config, { logger: false }), config);
		try {
			expect((await get(server, "/metrics")).status).toBe(404);
		} finally {
			await server.close();
		}
	});

	it("should reject when its port is taken", async () => {
		const config = testConfig({ SERVICES: "auth", HEALTH_PORT: String(health.port) });
		await expect(startHealthServer(createBroker(config, { logger: false }), config)).rejects.toMatchObject({
			code: "EADDRINUSE",
		});
	});
});

describe("Health server, cluster", () => {
	const namespace = uniqueName("hc").replace(/_/g, "-");
	const clusterConfig = (services: string) =>
		testConfig({
			CAMEO_MODE: "cluster",
			TRANSPORTER: REDIS_URL,
			REDIS_URL,
			AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
			NAMESPACE: namespace,
			SERVICES: services,
			GRPC_HOST: "127.0.0.1",
			HEALTH_PORT: "0",
			NODE_ID: `${services}-${uniqueName("n")}`,
		});
	let accounts: ServiceBroker;
	let chat: ServiceBroker;
	let health: HealthServer;

	beforeAll(async () => {
		accounts = createBroker(clusterConfig("auth,characters"), { logger: false });
		const config = clusterConfig("chat-ws");
		chat = createBroker(config, { logger: false });
		health = await startHealthServer(chat, config);
	});

	afterAll(async () => {
		await chat.stop();
		await accounts.stop();
		await health.close();
	});

	it("should wait for the services a local service depends on, then be ready with transporter and channels up", async () => {
		const starting = chat.start();
		// Connected to Redis, but chat-ws waits for auth and characters, which run on no node yet.
		await until(
			async () => (await get(health, "/readyz")).json().not_ready !== undefined && chat.transit?.connected === true,
		);
		const waiting = (await get(health, "/readyz")).json();
		expect(waiting).toMatchObject({
			not_ready: { broker: "starting", services: "not started: chat-ws", channels: "disconnected" },
		});
		expect(waiting.not_ready).not.toHaveProperty("transporter");

		await accounts.start();
		await starting;
		await until(async () => (await get(health, "/readyz")).status === 200);
		expect((await get(health, "/metrics")).body).toContain("moleculer_transit_connected");
	});
});

// An address of this machine other than loopback, if it has one.
const outsideAddress = Object.values(networkInterfaces())
	.flat()
	.find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe("Health server bind address", () => {
	it.skipIf(!outsideAddress)("should listen only on HEALTH_HOST (else API_HOST), not on every interface", async () => {
		const envs: Record<string, string>[] = [{ HEALTH_HOST: "127.0.0.1" }, { API_HOST: "127.0.0.1" }];
		for (const env of envs) {
			const config = testConfig({ SERVICES: "auth", HEALTH_PORT: "0", ...env });
			const health = await startHealthServer(createBroker(config, { logger: false }), config);
			try {
				expect((await fetch(`http://127.0.0.1:${health.port}/livez`)).status).toBe(200);
				await expect(fetch(`http://${outsideAddress}:${health.port}/livez`)).rejects.toThrow();
			} finally {
				await health.close();
			}
		}
	});
});

describe("Health server in the cameo process", () => {
	let proc: RunningProcess | undefined;

	afterAll(() => {
		proc?.child.kill("SIGKILL");
	});

	it("should answer 503 on /readyz from SIGTERM on, stay live while draining, then exit cleanly", async () => {
		const port = await freePort();
		proc = startCameo({
			DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
			JWT_SECRET: TEST_JWT_SECRET,
			SERVICES: "auth",
			HEALTH_PORT: String(port),
			SHUTDOWN_DELAY_MS: "1500",
			LOGLEVEL: "warn",
		});
		await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 20_000, proc);

		proc.child.kill("SIGTERM");
		await waitForStatus(`http://127.0.0.1:${port}/readyz`, 503, 1000, proc);
		expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
		expect(await proc.exited).toBe(0);
	});
});
