/**
 * The chat pipeline's `cameo_*` series on the health port's /metrics: moved by a real chat over a socket (embedded,
 * real PostgreSQL), queue depths sampled from the real RabbitMQ by a cluster dispatcher, and a chat with metrics off.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homedir } from "node:os";
import amqp from "amqplib";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { chatMetrics } from "../../src/adapters/chat-metrics.js";
import { startHealthServer, type HealthServer } from "../../src/adapters/health-server.js";
import { LlmUnavailableError, type ChatModel } from "../../src/domain/chat-model.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { AMQP_URL, clusterEnv, clusterNamespace, removeNamespace } from "../support/cluster.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

async function scrape(health: HealthServer): Promise<string> {
	const res = await fetch(`http://127.0.0.1:${health.port}/metrics`);
	expect(res.status).toBe(200);
	return res.text();
}

/** The value of the series `name` whose labels include `labels`; 0 while there is none. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
	for (const line of text.split("\n")) {
		const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
		if (match?.[1] !== name) continue;
		const has = Object.fromEntries([...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
		if (Object.entries(labels).every(([k, v]) => has[k] === v)) return Number(match[3]);
	}
	return 0;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
	const started = Date.now();
	while (!(await check())) {
		if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/** An embedded broker with a character of its own, and a way to open a chat with it as a new user. */
async function embedded(env: Record<string, string>) {
	const config = testConfig({ NAMESPACE: uniqueName("ns"), CHAT_MESSAGES_PER_MINUTE: "1000", ...env });
	const broker = createBroker(config, { logger: false });
	const health = await startHealthServer(broker, config);
	await broker.start();
	const characterId = await createTestCharacter(broker);
	const wsPort = broker.getLocalService("chat-ws").settings.port as number;
	const openChat = async () => {
		const username = uniqueName("met");
		await broker.call("auth.register", { username, name: "Metered", password: "password123" });
		const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
			username,
			password: "password123",
		});
		const socket = await ChatSocket.open(
			`ws://127.0.0.1:${wsPort}/ws/${characterId}?token=${encodeURIComponent(access_token)}`,
		);
		await socket.next((f) => f.type === "ai" && f.reply_to === null);
		return socket;
	};
	return { broker, health, openChat };
}

const replyTo = (echo: Frame) => (f: Frame) => f.type === "ai" && f.reply_to === echo.id;

describe("cameo metrics, embedded", () => {
	let env: Awaited<ReturnType<typeof embedded>>;

	beforeAll(async () => {
		env = await embedded({ METRICS_ENABLED: "true", HEALTH_PORT: "0" });
	});

	afterAll(async () => {
		await env?.broker.stop();
		await env?.health.close();
	});

	it("should count a message in, its reply out, the reply's latency, first delta and tokens, and the open socket", async () => {
		const before = await scrape(env.health);
		const socket = await env.openChat();
		expect(value(await scrape(env.health), "cameo_ws_open_sockets")).toBe(1);

		socket.send({ content: "How do you measure a song?" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next(replyTo(echo));
		const after = await scrape(env.health);

		const moved = (name: string, labels: Record<string, string> = {}) =>
			value(after, name, labels) - value(before, name, labels);
		expect(moved("cameo_messages_in_total")).toBe(1);
		expect(moved("cameo_messages_out_total")).toBe(1);
		expect(moved("cameo_reply_latency_seconds_count")).toBe(1);
		expect(value(after, "cameo_reply_latency_seconds_bucket", { le: "+Inf" })).toBe(
			value(after, "cameo_reply_latency_seconds_count"),
		);
		const offline = { provider: "offline", model: "offline" };
		expect(moved("cameo_llm_first_delta_seconds_count", offline)).toBe(1);
		expect(moved("cameo_llm_tokens_total", { ...offline, type: "input" })).toBeGreaterThan(0);
		expect(moved("cameo_llm_tokens_total", { ...offline, type: "output" })).toBeGreaterThan(0);
		expect(after).toMatch(new RegExp(`^cameo_messages_in_total\\{.*nodeID="${env.broker.nodeID}".*\\} \\d+$`, "m"));
		expect(after).toContain("# TYPE cameo_messages_in_total counter");
		expect(after).toContain("# TYPE cameo_ws_open_sockets gauge");
		expect(after).toContain("# TYPE cameo_reply_latency_seconds histogram");

		socket.send({});
		await socket.next((f) => f.type === "error" && f.code === "invalid_message");
		expect(value(await scrape(env.health), "cameo_ws_error_frames_total", { code: "invalid_message" })).toBe(1);

		await socket.close();
		await until(async () => value(await scrape(env.health), "cameo_ws_open_sockets") === 0);
	});

	it("should serve process and host metrics, but nothing about the machine's user, command line or network", async () => {
		const text = await scrape(env.health);
		expect(value(text, "process_memory_rss")).toBeGreaterThan(0);
		const names = new Set(
			text
				.split("\n")
				.filter((l) => l && !l.startsWith("#"))
				.map((l) => l.split(/[{ ]/)[0]),
		);
		const exposed = [...names].filter((n) =>
			/^(process_(arguments|pid|ppid|versions)|os_(user|network|hostname|type|release|arch|platform|datetime|cpu_info_model))/.test(
				n,
			),
		);
		expect(exposed).toEqual([]);
		expect(text).not.toContain(homedir());
		expect(text).not.toContain(process.argv[1]);
		expect(text).not.toMatch(/\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/i);
	});

	it("should count an LLM failure by provider and reason, and the ai_unavailable frame it causes", async () => {
		const consumer = env.broker.getLocalService("ai-consumer") as unknown as { model: ChatModel };
		const original = consumer.model;
		const quotaGone = new LlmUnavailableError("gemini", "rate_limited", 429, 3, "gemini-test", "quota exhausted");
		consumer.model = {
			name: "gemini:gemini-test",
			stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(quotaGone) }) }),
		};
		try {
			const socket = await env.openChat();
			socket.send({ content: "Are you there?" });
			await socket.next((f) => f.type === "error" && f.code === "ai_unavailable");
			const metrics = await scrape(env.health);
			expect(value(metrics, "cameo_llm_errors_total", { provider: "gemini", reason: "rate_limited" })).toBe(1);
			expect(value(metrics, "cameo_ws_error_frames_total", { code: "ai_unavailable" })).toBe(1);
			await socket.close();
		} finally {
			consumer.model = original;
		}
	});
});

describe("cameo metrics, cluster dispatcher", () => {
	const namespace = clusterNamespace("met");
	const waiting = `ai-consumer.${namespace}.chat.user.msg`;
	let broker: ServiceBroker;
	let health: HealthServer;

	beforeAll(async () => {
		// Two messages for an ai-consumer that never came: the depth the dispatcher's first sample must see.
		const connection = await amqp.connect(AMQP_URL);
		const channel = await connection.createConfirmChannel();
		await channel.assertQueue(waiting, { durable: true });
		channel.sendToQueue(waiting, Buffer.from("{}"));
		channel.sendToQueue(waiting, Buffer.from("{}"));
		await channel.waitForConfirms();
		await connection.close();

		const config = testConfig(
			clusterEnv(namespace, { SERVICES: "dispatcher", NODE_ID: `dispatcher-${uniqueName("n")}`, HEALTH_PORT: "0" }),
		);
		broker = createBroker(config, { logger: false });
		health = await startHealthServer(broker, config);
		await broker.start();
	});

	afterAll(async () => {
		await broker?.stop();
		await health?.close();
		await removeNamespace(namespace);
	});

	it("should sample the depth of the chat queues", async () => {
		await until(async () => value(await scrape(health), "cameo_queue_messages", { queue: waiting }) === 2);
	});
});

describe("cameo metrics disabled", () => {
	let env: Awaited<ReturnType<typeof embedded>>;

	beforeAll(async () => {
		env = await embedded({ METRICS_ENABLED: "false", HEALTH_PORT: "0" });
	});

	afterAll(async () => {
		await env?.broker.stop();
		await env?.health.close();
	});

	it("should still chat, with helpers that do nothing", async () => {
		const socket = await env.openChat();
		socket.send({ content: "Nobody is counting?" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next(replyTo(echo));
		socket.send({});
		await socket.next((f) => f.type === "error");
		await socket.close();

		expect(() => chatMetrics(env.broker).replyLatency(1)).not.toThrow();
		expect(env.broker.metrics.hasMetric("cameo_messages_in_total")).toBe(false);
		expect((await fetch(`http://127.0.0.1:${env.health.port}/metrics`)).status).toBe(404);
	});
});
