/**
 * The chat pipeline as a cluster: separate brokers for accounts, two chat-ws nodes, the ai-consumer and the
 * dispatcher, on the real Redis transporter, RabbitMQ (AMQP channels), Redis (history, routes) and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import type { ServiceBroker } from "moleculer";
import amqp from "amqplib";
import { Redis } from "ioredis";
import { Chan, type UserMsgPayload } from "../../src/domain/chat-wire.js";
import type { ChatModel } from "../../src/domain/chat-model.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { ChatRuntime } from "../../src/adapters/chat-runtime.js";
import { createTestCharacter, uniqueName } from "../support/config.js";
import {
	AMQP_URL,
	REDIS_URL,
	awaitService,
	clusterNamespace,
	clusterNode,
	removeNamespace,
} from "../support/cluster.js";
import { eventually } from "../support/process.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const namespace = clusterNamespace("cl");

function node(services: string): ServiceBroker {
	return clusterNode(namespace, services, {
		CHAT_REPLY_TIMEOUT: "2",
		CHAT_REPLY_MAX_ATTEMPTS: "30",
		CHAT_MESSAGES_PER_MINUTE: "1000",
	});
}

let core: ServiceBroker;
let ws1: ServiceBroker;
let ws2: ServiceBroker;
let consumer: ServiceBroker;
let dispatcher: ServiceBroker;
let redis: Redis;
let characterId = "";

const wsUrl = (b: ServiceBroker) => `ws://127.0.0.1:${b.getLocalService("chat-ws").settings.port as number}`;
const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

async function login() {
	const username = uniqueName("cl");
	await core.call("auth.register", { username, name: "Cluster User", password: "password123" });
	const { access_token } = await core.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { username, token: access_token };
}

async function open(b: ServiceBroker, token: string, extra = "") {
	const socket = await ChatSocket.open(`${wsUrl(b)}/ws/${characterId}?token=${token}${extra}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string };
}

async function repliesTo(messageId: string): Promise<number> {
	const [rows] = await (core.getLocalService("auth") as unknown as DbThis).db.sequelize.query(
		`SELECT count(*)::int AS n FROM messages WHERE reply_to = $1 AND role = 'ai'`,
		{ bind: [messageId] },
	);
	return (rows as { n: number }[])[0].n;
}

beforeAll(async () => {
	core = node("auth,characters,sessions");
	ws1 = node("chat-ws");
	ws2 = node("chat-ws");
	consumer = node("ai-consumer");
	dispatcher = node("dispatcher");
	await Promise.all([core, ws1, ws2, consumer, dispatcher].map((b) => b.start()));
	// The accounts node broadcasts user.disabled: both chat-ws nodes must hear it.
	await awaitService([core], "chat-ws", 2);
	redis = new Redis(REDIS_URL);
	// A character of this file's own: other files create characters in the same database at the same time.
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await Promise.all([core, ws1, ws2, consumer, dispatcher].map((b) => b?.stop().catch(() => undefined)));
	redis.disconnect();
	await removeNamespace(namespace);
}, 60_000);

describe("chat pipeline, cluster", () => {
	it("should close a disabled user's sockets on every chat-ws node with 4003", async () => {
		const { username, token } = await login();
		const [one, two] = await Promise.all([open(ws1, token), open(ws2, token)]);
		await core.call("auth.setDisabled", { username, disabled: true });
		const closed = (s: ChatSocket) =>
			Promise.race([s.closed, new Promise((r) => setTimeout(() => r("open after 5 s"), 5000))]);
		expect(await Promise.all([closed(one.socket), closed(two.socket)])).toEqual([4003, 4003]);
	});

	it("should carry a message through RabbitMQ to the other ws node's socket, and keep Redis history in order", async () => {
		const { token } = await login();
		const { socket, sessionId } = await open(ws2, token);
		socket.send({ content: "Hello from node two" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		expect(reply.content).toEqual(expect.stringContaining("offline"));
		expect(await repliesTo(echo.id as string)).toBe(1);
		// Deltas come over the gRPC delta stream from the consumer's node, in order; the final frame travels another
		// path (RabbitMQ, dispatcher) and may overtake the last ones, which the socket then drops: a prefix arrives.
		const streamed = socket
			.ofType("ai.delta")
			.map((d) => d.delta)
			.join("");
		expect(streamed.length).toBeGreaterThan(0);
		expect((reply.content as string).startsWith(streamed)).toBe(true);

		const history = (await redis.lrange(`${namespace}:history:${sessionId}`, 0, -1)).map((e) => JSON.parse(e));
		expect(history.slice(-2)).toEqual([
			expect.objectContaining({ id: echo.id, role: "user", content: "Hello from node two" }),
			expect.objectContaining({ id: reply.id, role: "ai", content: reply.content }),
		]);
		await socket.close();
	});

	it("should take a message sent the moment the socket opens, before the connection frame", async () => {
		const { token } = await login();
		// Widen the window between the upgrade and the end of connection setup (a slow Redis), where frames once got lost.
		const routes = (ws1.getLocalService("chat-ws") as unknown as { runtime: ChatRuntime }).runtime.routes;
		const add = routes.add.bind(routes);
		routes.add = async (...args) => {
			await new Promise((r) => setTimeout(r, 300));
			return add(...args);
		};
		const socket = await ChatSocket.open(`${wsUrl(ws1)}/ws/${characterId}?token=${token}`).finally(() =>
			setTimeout(() => (routes.add = add), 400),
		);
		socket.send({ content: "Right away" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		// The connection frame still comes first.
		expect(socket.frames[0].type).toBe("connection");
		await socket.close();
	});

	it("should deliver a reply to every device on the session, across nodes", async () => {
		const { token } = await login();
		const phone = await open(ws1, token);
		const laptop = await open(ws2, token, `&session_id=${phone.sessionId}`);
		phone.socket.send({ content: "Both of you should hear this" });
		const echo = await phone.socket.next((f) => f.type === "echo");
		const [onPhone, onLaptop] = await Promise.all([
			phone.socket.next((f) => isReply(f) && f.reply_to === echo.id),
			laptop.socket.next((f) => isReply(f) && f.reply_to === echo.id),
		]);
		expect(onLaptop.id).toBe(onPhone.id);
		await Promise.all([phone.socket.close(), laptop.socket.close()]);
	});

	it("should replay a reply that was made while the user was away, exactly once", async () => {
		const { token } = await login();
		await consumer.stop();
		const { socket, sessionId } = await open(ws1, token);
		socket.send({ content: "Answer me when I am gone" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.close();

		consumer = node("ai-consumer");
		await consumer.start();
		await eventually(async () => (await repliesTo(echo.id as string)) === 1, 20_000, "the reply to be stored");

		const back = await open(ws2, token, `&session_id=${sessionId}&after=${echo.id}`);
		const reply = await back.socket.next(isReply);
		expect(reply.reply_to).toBe(echo.id);
		await new Promise((r) => setTimeout(r, 500));
		expect(back.socket.ofType("ai").filter((f) => f.reply_to === echo.id)).toHaveLength(1);
		expect(await repliesTo(echo.id as string)).toBe(1);
		await back.socket.close();
	});

	it("should stop a generation running on another node", async () => {
		const service = consumer.getLocalService("ai-consumer") as unknown as { model: ChatModel };
		const original = service.model;
		service.model = {
			name: "slow",
			async *stream(_messages, opts) {
				for (let i = 0; i < 100; i++) {
					await new Promise((r) => setTimeout(r, 30));
					if (opts?.signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
					yield `w${i} `;
				}
			},
		};
		try {
			const { token } = await login();
			const { socket } = await open(ws2, token);
			socket.send({ content: "Go on and on" });
			const echo = await socket.next((f) => f.type === "echo");
			await socket.next(() => socket.ofType("ai.delta").length >= 2);
			socket.send({ type: "stop" });
			const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
			expect(reply.stopped).toBe(true);
			expect((reply.content as string).split(" ").filter(Boolean).length).toBeLessThan(100);
			await socket.close();
		} finally {
			service.model = original;
		}
	});

	it("should store one reply when the same chat.user.msg is delivered twice", async () => {
		const { token, username } = await login();
		const { socket, sessionId } = await open(ws1, token);
		socket.send({ content: "Say it once" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		const payload: UserMsgPayload = {
			message_id: echo.id as string,
			session_id: sessionId,
			username,
			character_id: characterId,
			content: "Say it once",
		};
		await dispatcher.sendToChannel(Chan.UserMsg, payload, { persistent: true });
		await dispatcher.sendToChannel(Chan.UserMsg, payload, { persistent: true });
		await new Promise((r) => setTimeout(r, 1500));
		expect(await repliesTo(echo.id as string)).toBe(1);
		// The socket showed the reply once, though it was delivered again.
		expect(socket.ofType("ai").filter((f) => f.reply_to === echo.id)).toHaveLength(1);
		await socket.close();
	});

	it("should dead-letter a message whose consumer always throws, and tell the user ai_unavailable", async () => {
		await consumer.stop();
		const broken = node("ai-consumer");
		await broken.start();
		const failing: ChatModel = {
			name: "broken",
			// eslint-disable-next-line require-yield
			async *stream() {
				throw new Error("provider exploded");
			},
		};
		(broken.getLocalService("ai-consumer") as unknown as { model: ChatModel }).model = failing;
		try {
			const { token } = await login();
			const { socket } = await open(ws1, token);
			socket.send({ content: "This will not work" });
			const echo = await socket.next((f) => f.type === "echo");
			const error = await socket.next((f) => f.type === "error", 20_000);
			expect(error).toMatchObject({ code: "ai_unavailable", reply_to: echo.id });

			const connection = await amqp.connect(AMQP_URL);
			const channel = await connection.createChannel();
			const dead = await channel.checkQueue(`${namespace}.chat.user.msg.dead`);
			expect(dead.messageCount).toBeGreaterThanOrEqual(1);
			await connection.close();
			await socket.close();
		} finally {
			await broken.stop();
			consumer = node("ai-consumer");
			await consumer.start();
		}
	});

	it("should give every message exactly one reply across a RabbitMQ restart, and reconnect by itself", async () => {
		const { token } = await login();
		const { socket } = await open(ws2, token);
		const echoes: string[] = [];
		const send = async (content: string) => {
			socket.send({ content });
			echoes.push((await socket.next((f) => f.type === "echo" && f.content === content)).id as string);
		};
		for (let i = 0; i < 3; i++) await send(`before restart ${i}`);
		execFileSync("rabbitmqctl", ["stop_app"], { stdio: "ignore" });
		try {
			for (let i = 0; i < 3; i++) await send(`during restart ${i}`);
		} finally {
			execFileSync("rabbitmqctl", ["start_app"], { stdio: "ignore" });
		}
		for (let i = 0; i < 3; i++) await send(`after restart ${i}`);

		await eventually(
			async () => (await Promise.all(echoes.map(repliesTo))).every((n) => n === 1),
			60_000,
			"a reply to every message",
		);
		for (const id of echoes) {
			await socket.next((f) => isReply(f) && f.reply_to === id, 20_000);
		}
		const shown = socket.ofType("ai").filter((f) => echoes.includes(f.reply_to as string));
		expect(shown).toHaveLength(echoes.length);
		expect((await Promise.all(echoes.map(repliesTo))).every((n) => n === 1)).toBe(true);
		// The consumers resubscribed under the same dead-letter queue names (the adapter used to prefix them again).
		const queues = execFileSync("rabbitmqctl", ["list_queues", "-q", "--no-table-headers", "name"], {
			encoding: "utf8",
		});
		expect(queues).not.toContain(`${namespace}.${namespace}.`);
		await socket.close();
	}, 120_000);
});
