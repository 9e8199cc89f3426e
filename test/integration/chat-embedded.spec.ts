/**
 * The chat flow in embedded mode (one broker, in-process channels) over real sockets and real PostgreSQL:
 * the seed README's flow, resume, history REST, handshake refusals and hostile frames.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Server } from "node:http";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { createBroker } from "../../src/broker.js";
import { createTestCharacter, TEST_JWT_SECRET, testConfig, uniqueName } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayPort } from "../support/gateway.js";
import type { ChatModel } from "../../src/domain/chat-model.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { UserMsgPayload } from "../../src/domain/chat-wire.js";
import { signAccessToken } from "../../src/domain/access-tokens.js";

/** A model that says `words` words, one every `delayMs`, and honours abort like a real provider. */
function slowModel(words: number, delayMs: number): ChatModel {
	return {
		name: "slow-test-model",
		async *stream(_messages, opts) {
			for (let i = 0; i < words; i++) {
				await new Promise((r) => setTimeout(r, delayMs));
				if (opts?.signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
				yield `${i === 0 ? "" : " "}word${i}`;
			}
		},
	};
}

let broker: ServiceBroker;
let wsBase = "";
let apiBase = "";
let characterId = "";

interface Login {
	id: string;
	username: string;
	token: string;
	/** The call options the gateway would give this user's requests (ctx.meta.user). */
	caller: { meta: { user: { id: string; username: string; name: string; role: "user" } } };
}

async function login(name = "Chatty"): Promise<Login> {
	const username = uniqueName("chat");
	const { id } = await broker.call<{ id: string }, object>("auth.register", {
		username,
		name,
		password: "password123",
	});
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { id, username, token: access_token, caller: { meta: { user: { id, username, name, role: "user" } } } };
}

/** A character of a new owner's (who may then change it); returns both. */
async function ownCharacter(fields: Record<string, unknown> = {}): Promise<{ owner: Login; id: string }> {
	const owner = await login("Owner");
	const { id } = await broker.call<{ id: string }, object>(
		"characters.create",
		{ name: `Keeper ${uniqueName("k")}`, system_prompt: "You keep a lighthouse.", greeting: "Hello.", ...fields },
		{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
	);
	return { owner, id };
}

function chatUrl(token: string, extra = "", base = wsBase, character = characterId) {
	return `${base}/ws/${character}?token=${encodeURIComponent(token)}${extra}`;
}

const isAi = (f: Frame) => f.type === "ai" && f.reply_to !== null;

beforeAll(async () => {
	const config = testConfig({
		NAMESPACE: uniqueName("ns"),
		CHAT_MESSAGES_PER_MINUTE: "1000",
		CHAT_PING_INTERVAL_MS: "300",
		API_HOST: "127.0.0.1",
	});
	broker = createBroker(config, { logger: false });
	await broker.start();
	const wsPort = broker.getLocalService("chat-ws").settings.port as number;
	wsBase = `ws://127.0.0.1:${wsPort}`;
	apiBase = `127.0.0.1:${gatewayPort(broker)}`;
	// A character of this file's own: other files create characters in the same database at the same time.
	characterId = await createTestCharacter(broker);
});

afterAll(() => broker?.stop());

describe("chat over WebSocket, embedded", () => {
	it("should greet, echo and answer in character, and store both messages in order", async () => {
		const { username, token, caller } = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		const hello = await socket.next((f) => f.type === "connection");
		expect(hello).toMatchObject({
			message: "Connected to chat",
			username,
			character_id: characterId,
			model: "offline",
			resumed: false,
		});
		const greeting = await socket.next((f) => f.type === "ai");
		expect(greeting).toMatchObject({ role: "ai", reply_to: null });

		socket.send({ content: "Hello there, who are you?" });
		const echo = await socket.next((f) => f.type === "echo");
		expect(echo).toMatchObject({ role: "user", content: "Hello there, who are you?", id: expect.any(String) });
		expect(new Date(echo.timestamp as string).toISOString()).toBe(echo.timestamp);
		const reply = await socket.next(isAi);
		expect(reply).toMatchObject({ role: "ai", reply_to: echo.id, content: expect.stringContaining("offline") });

		const page = await broker.call<{ messages: { id: string; role: string }[] }, object>(
			"sessions.messages",
			{ id: hello.session_id },
			caller,
		);
		expect(page.messages.map((m) => m.id)).toEqual([greeting.id, echo.id, reply.id]);
		await socket.close();
	});

	it("should open a new session with the alternate greeting asked for", async () => {
		const sequelize = (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize;
		await sequelize.query(`UPDATE ai_characters SET alternate_greetings = $2 WHERE id = $1`, {
			bind: [characterId, JSON.stringify(["Oh! A second way to say hello.", "A third, rarer hello."])],
		});
		await broker.cacher?.clean("characters.**");
		const { token } = await login();
		const second = await ChatSocket.open(chatUrl(token, "&greeting=2"));
		expect(await second.next((f) => f.type === "ai")).toMatchObject({
			content: "A third, rarer hello.",
			reply_to: null,
		});
		const fallback = await ChatSocket.open(chatUrl(token, "&greeting=9"));
		expect(await fallback.next((f) => f.type === "ai")).toMatchObject({ content: expect.stringContaining("Well met") });
		await expect(ChatSocket.open(chatUrl(token, "&greeting=-1"))).rejects.toMatchObject({ status: 400 });
		await Promise.all([second.close(), fallback.close()]);
	});

	it("should be reachable on the gateway's port too", async () => {
		const { token } = await login();
		const socket = await ChatSocket.open(chatUrl(token, "", `ws://${apiBase}`));
		await socket.next((f) => f.type === "connection");
		socket.send({ content: "through the gateway" });
		await socket.next(isAi);
		await socket.close();
	});

	it("should replay exactly what came after `after` when resuming", async () => {
		const { token } = await login();
		const first = await ChatSocket.open(chatUrl(token));
		const hello = await first.next((f) => f.type === "connection");
		first.send({ content: "one" });
		const echo1 = await first.next((f) => f.type === "echo");
		await first.next((f) => isAi(f) && f.reply_to === echo1.id);
		first.send({ content: "two" });
		const echo2 = await first.next((f) => f.type === "echo" && f.content === "two");
		const reply2 = await first.next((f) => isAi(f) && f.reply_to === echo2.id);
		await first.close();

		const resumed = await ChatSocket.open(chatUrl(token, `&session_id=${hello.session_id}&after=${echo1.id}`));
		expect(await resumed.next((f) => f.type === "connection")).toMatchObject({
			session_id: hello.session_id,
			resumed: true,
		});
		await resumed.next((f) => f.id === reply2.id);
		await new Promise((r) => setTimeout(r, 200));
		const replayedIds = resumed.frames.filter((f) => f.id).map((f) => f.id);
		// reply to "one", then "two" and its reply: each once, in order.
		expect(replayedIds).toHaveLength(3);
		expect(replayedIds.slice(1)).toEqual([echo2.id, reply2.id]);
		await resumed.close();
	});

	it("should refuse bad handshakes with a status and never crash", async () => {
		const owner = await login();
		const other = await login();
		const own = await ChatSocket.open(chatUrl(owner.token));
		const { session_id } = await own.next((f) => f.type === "connection");
		await own.close();

		const cases: [string, number][] = [
			[chatUrl("not-a-token"), 401],
			[`${wsBase}/ws/${characterId}`, 401],
			[chatUrl(owner.token, "", wsBase, "00000000-0000-4000-8000-000000000000"), 404],
			[chatUrl(owner.token, "", wsBase, "nope"), 404],
			[chatUrl(other.token, `&session_id=${session_id}`), 404],
			[chatUrl(owner.token, "&session_id=00000000-0000-4000-8000-000000000000"), 404],
			[chatUrl(owner.token, "&session_id=garbage"), 400],
			[`${wsBase}/elsewhere`, 404],
		];
		for (const [url, status] of cases) {
			await expect(ChatSocket.open(url), url).rejects.toMatchObject({ status });
		}
		const health = await fetch(`${wsBase.replace("ws:", "http:")}/health`);
		expect(await health.json()).toMatchObject({ status: "ok" });
	});

	it("should answer every bad frame with an error frame and keep serving", async () => {
		const { token } = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		await socket.next((f) => f.type === "connection");
		const bystander = await ChatSocket.open(chatUrl(token));
		await bystander.next((f) => f.type === "connection");

		const cases: [unknown, string][] = [
			["this is not json", "invalid_json"],
			[{}, "invalid_message"],
			[[1, 2], "invalid_message"],
			[{ content: 42 }, "invalid_message"],
			[{ content: "   \n\t " }, "empty_content"],
			[{ content: "x".repeat(4001) }, "content_too_long"],
			[{ type: "teleport", content: "hi" }, "unknown_type"],
			['{"content": "\\u0000 null byte"', "invalid_json"],
		];
		for (const [frame, code] of cases) {
			const before = socket.ofType("error").length;
			socket.send(frame);
			await socket.next(() => socket.ofType("error").length > before);
			expect(socket.ofType("error").at(-1)).toMatchObject({ type: "error", code, message: expect.any(String) });
		}
		socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
		await socket.next((f) => f.code === "binary_not_supported");
		expect(socket.ofType("echo")).toHaveLength(0);

		// A 1 MB frame is over the frame limit: the socket is closed with 1009, the node keeps serving.
		socket.send(JSON.stringify({ content: "y".repeat(1024 * 1024) }));
		expect(await socket.closed).toBe(1009);
		bystander.send({ content: "still there?" });
		await bystander.next(isAi);
		await bystander.close();
	});

	it("should reap a socket that stops answering pings", async () => {
		const { token } = await login();
		const healthUrl = `${wsBase.replace("ws:", "http:")}/health`;
		const sockets = async () => ((await (await fetch(healthUrl)).json()) as { sockets: number }).sockets;
		const socket = await ChatSocket.open(chatUrl(token));
		await socket.next((f) => f.type === "connection");
		const before = await sockets();
		// A client that stops reading never answers the server's pings, like a phone that lost its network.
		(socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
		const deadline = Date.now() + 5000;
		while ((await sockets()) !== before - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
		expect(await sockets()).toBe(before - 1);
		socket.ws.terminate();
	});

	it("should answer a socket that sends too fast with rate_limited frames", async () => {
		const limited = createBroker(
			testConfig({ NAMESPACE: uniqueName("rl"), SERVICES: "auth,characters,chat-ws", CHAT_MESSAGES_PER_MINUTE: "3" }),
			{ logger: false },
		);
		await limited.start();
		try {
			const { token } = await login();
			const port = limited.getLocalService("chat-ws").settings.port as number;
			const socket = await ChatSocket.open(chatUrl(token, "", `ws://127.0.0.1:${port}`));
			await socket.next((f) => f.type === "connection");
			for (let i = 0; i < 5; i++) socket.send({ content: `burst ${i}` });
			await socket.next(() => socket.ofType("echo").length + socket.ofType("error").length === 5);
			expect(socket.ofType("echo").map((f) => f.content)).toEqual(["burst 0", "burst 1", "burst 2"]);
			expect(socket.ofType("error")).toEqual([
				expect.objectContaining({ code: "rate_limited", retry_after: expect.any(Number) }),
				expect.objectContaining({ code: "rate_limited" }),
			]);
			await socket.close();
		} finally {
			await limited.stop();
		}
	});

	it("should refuse to start, naming WS_PORT, when another program took the port", async () => {
		const squatter = net.createServer();
		await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
		const port = (squatter.address() as net.AddressInfo).port;
		const blocked = createBroker(
			testConfig({
				NAMESPACE: uniqueName("taken"),
				SERVICES: "auth,characters,chat-ws",
				WS_HOST: "127.0.0.1",
				WS_PORT: String(port),
			}),
			{ logger: false },
		);
		try {
			await expect(blocked.start()).rejects.toThrow(
				`WS_PORT=${port} on 127.0.0.1 cannot be listened on: taken by another program`,
			);
		} finally {
			await blocked.stop().catch(() => undefined);
			squatter.close();
		}
	});

	/** A new user's socket, after one message and its whole reply, with the deltas that came before it. */
	async function askForAStory() {
		const { token } = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		await socket.next((f) => f.type === "connection");
		socket.send({ content: "Tell me a story" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isAi(f) && f.reply_to === echo.id);
		return { socket, echo, reply, deltas: socket.ofType("ai.delta") };
	}

	it("should stream the reply as deltas that add up to the final frame", async () => {
		const consumer = broker.getLocalService("ai-consumer") as unknown as { model: ChatModel };
		const original = consumer.model;
		// Chunks a few milliseconds apart, as from a provider: each leaves as a delta of its own.
		consumer.model = slowModel(8, 5);
		try {
			const { socket, echo, reply, deltas } = await askForAStory();
			expect(deltas.length).toBeGreaterThan(3);
			expect(deltas.every((d) => d.id === reply.id && d.reply_to === echo.id && d.variant === 0)).toBe(true);
			expect(deltas.map((d) => d.delta).join("")).toBe(reply.content);
			// Every delta came before the final frame.
			expect(socket.frames.indexOf(reply)).toBeGreaterThan(socket.frames.indexOf(deltas.at(-1)!));
			await socket.close();
		} finally {
			consumer.model = original;
		}
	});

	it("should send the chunks a model yields at once as one delta", async () => {
		// The offline model at zero delay yields a reply's words in one go.
		const { socket, reply, deltas } = await askForAStory();
		expect(deltas.map((d) => d.delta)).toEqual([reply.content]);
		await socket.close();
	});

	it("should stop a reply mid-stream and keep the partial text, marked stopped", async () => {
		const consumer = broker.getLocalService("ai-consumer") as unknown as { model: ChatModel };
		const original = consumer.model;
		consumer.model = slowModel(60, 50);
		try {
			const { token, caller } = await login();
			const socket = await ChatSocket.open(chatUrl(token));
			const hello = await socket.next((f) => f.type === "connection");
			socket.send({ content: "Talk for a long time" });
			const echo = await socket.next((f) => f.type === "echo");
			await socket.next(() => socket.ofType("ai.delta").length >= 3);
			socket.send({ type: "stop" });
			const reply = await socket.next((f) => isAi(f) && f.reply_to === echo.id);
			expect(reply.stopped).toBe(true);
			const words = (reply.content as string).trim().split(" ");
			expect(words.length).toBeGreaterThanOrEqual(3);
			expect(words.length).toBeLessThan(60);
			const page = await broker.call<{ messages: { id: string; content: string }[] }, object>(
				"sessions.messages",
				{ id: hello.session_id },
				caller,
			);
			expect(page.messages.at(-1)).toMatchObject({ id: reply.id, content: reply.content });
			await socket.close();
		} finally {
			consumer.model = original;
		}
	});

	it("should regenerate the last reply as a new variant, and refuse older ones", async () => {
		const { token, caller } = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		const hello = await socket.next((f) => f.type === "connection");
		socket.send({ content: "first" });
		const first = await socket.next((f) => f.type === "echo" && f.content === "first");
		await socket.next((f) => isAi(f) && f.reply_to === first.id);
		socket.send({ content: "second" });
		const second = await socket.next((f) => f.type === "echo" && f.content === "second");
		const original = await socket.next((f) => isAi(f) && f.reply_to === second.id);

		socket.send({ type: "regenerate", reply_to: second.id });
		const variant = await socket.next((f) => isAi(f) && f.reply_to === second.id && f.variant === 1);
		expect(variant.id).not.toBe(original.id);
		socket.send({ type: "regenerate", reply_to: first.id });
		expect(await socket.next((f) => f.type === "error")).toMatchObject({
			code: "cannot_regenerate",
			reply_to: first.id,
		});

		const page = await broker.call<{ messages: { id: string; variant: number; active: boolean }[] }, object>(
			"sessions.messages",
			{ id: hello.session_id },
			caller,
		);
		const variants = page.messages.filter((m) => m.id === original.id || m.id === variant.id);
		expect(variants).toEqual([
			expect.objectContaining({ id: original.id, variant: 0, active: false }),
			expect.objectContaining({ id: variant.id, variant: 1, active: true }),
		]);
		await socket.close();
	});

	it("should list my sessions newest first with the last message, page messages, and delete", async () => {
		const { token, caller } = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		const hello = await socket.next((f) => f.type === "connection");
		for (const content of ["a", "b", "c"]) {
			socket.send({ content });
			const echo = await socket.next((f) => f.type === "echo" && f.content === content);
			await socket.next((f) => isAi(f) && f.reply_to === echo.id);
		}
		await socket.close();
		const sessions = await broker.call<{ id: string; last_message: { role: string } }[], object>(
			"sessions.list",
			{},
			caller,
		);
		expect(sessions[0]).toMatchObject({
			id: hello.session_id,
			character_id: characterId,
			last_message: { role: "ai" },
		});

		const newest = await broker.call<{ has_more: boolean; messages: { id: string; content: string }[] }, object>(
			"sessions.messages",
			{ id: hello.session_id, limit: 4 },
			caller,
		);
		expect(newest.has_more).toBe(true);
		expect(newest.messages.map((m) => m.content).slice(0, 3)).toEqual(["b", expect.any(String), "c"]);
		const older = await broker.call<{ has_more: boolean; messages: unknown[] }, object>(
			"sessions.messages",
			{ id: hello.session_id, before: newest.messages[0].id, limit: 10 },
			caller,
		);
		expect(older).toMatchObject({ has_more: false });
		expect(older.messages).toHaveLength(3); // greeting, "a", reply to "a"

		const stranger = { meta: { user: { id: randomUUID(), username: "someone_else", name: "Someone", role: "user" } } };
		await expect(broker.call("sessions.messages", { id: hello.session_id }, stranger)).rejects.toMatchObject({
			code: 404,
		});
		await broker.call("sessions.remove", { id: hello.session_id }, caller);
		await expect(broker.call("sessions.messages", { id: hello.session_id }, caller)).rejects.toMatchObject({
			code: 404,
		});
	});
});

describe("sessions, greetings and grants", () => {
	it("should listen on API_HOST (or WS_HOST), not on every interface", () => {
		const server = (broker.getLocalService("chat-ws") as unknown as { httpServer: Server }).httpServer;
		expect((server.address() as { address: string }).address).toBe("127.0.0.1");
	});

	it("should reuse one empty session for 30 reconnections, give open tabs a chat each, and list a chat once something is said", async () => {
		const { username, token, caller } = await login();
		const greetingIds = new Set<string>();
		const sessionIds = new Set<string>();
		for (let i = 0; i < 30; i += 1) {
			const socket = await ChatSocket.open(chatUrl(token));
			sessionIds.add((await socket.next((f) => f.type === "connection")).session_id as string);
			greetingIds.add((await socket.next((f) => f.type === "ai")).id as string);
			await socket.close();
		}
		expect(sessionIds.size).toBe(1);
		expect(greetingIds.size).toBe(1);
		const [sessionId] = sessionIds;
		// Three tabs open at once: the empty chat for one of them, a new one each for the others.
		const tabs = await Promise.all(Array.from({ length: 3 }, () => ChatSocket.open(chatUrl(token))));
		const tabSessions = await Promise.all(
			tabs.map(async (s) => (await s.next((f) => f.type === "connection")).session_id),
		);
		expect(new Set(tabSessions).size).toBe(3);
		expect(tabSessions).toContain(sessionId);
		await Promise.all(tabs.map((s) => s.close()));
		const sequelize = (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize;
		const [rows] = await sequelize.query(`SELECT id FROM chat_sessions WHERE username = $1`, { bind: [username] });
		expect(rows).toHaveLength(3);
		// Nothing said yet: not a chat to continue.
		expect(await broker.call("sessions.list", {}, caller)).toEqual([]);

		// Resuming it shows the same greeting; once the user speaks, it is listed and is not reused for a fresh handshake.
		const resumed = await ChatSocket.open(chatUrl(token, `&session_id=${sessionId}`));
		expect(await resumed.next((f) => f.type === "ai")).toMatchObject({ id: [...greetingIds][0] });
		resumed.send({ content: "Hello" });
		await resumed.next(isAi);
		await resumed.close();
		expect(await broker.call("sessions.list", {}, caller)).toEqual([expect.objectContaining({ id: sessionId })]);
		const next = await ChatSocket.open(chatUrl(token));
		expect((await next.next((f) => f.type === "connection")).session_id).not.toBe(sessionId);
		await next.close();
	}, 30_000);

	it("should fill {{user}} with the display name and {{char}}, in any case, in the stored greeting and alternates", async () => {
		const { id, owner } = await ownCharacter({
			name: "Agnes",
			greeting: "Shut the door behind you, {{User}}. {{CHAR}} does not like drafts.",
			alternate_greetings: ["<USER>! <BOT> was expecting you, {{ user }}."],
		});
		expect(owner).toBeDefined();
		const { token, caller } = await login("Mira Vale");
		const socket = await ChatSocket.open(chatUrl(token, "", wsBase, id));
		const { session_id } = await socket.next((f) => f.type === "connection");
		expect(await socket.next((f) => f.type === "ai")).toMatchObject({
			content: "Shut the door behind you, Mira Vale. Agnes does not like drafts.",
		});
		const alternate = await ChatSocket.open(chatUrl(token, "&greeting=1", wsBase, id));
		expect(await alternate.next((f) => f.type === "ai")).toMatchObject({
			content: "Mira Vale! Agnes was expecting you, Mira Vale.",
		});
		const page = await broker.call<{ messages: { content: string }[] }, object>(
			"sessions.messages",
			{ id: session_id },
			caller,
		);
		expect(page.messages[0].content).toBe("Shut the door behind you, Mira Vale. Agnes does not like drafts.");
		await Promise.all([socket.close(), alternate.close()]);
	});

	it("should publish the user's display name with each message and regeneration, for {{user}}", async () => {
		const published: UserMsgPayload[] = [];
		const original = broker.sendToChannel.bind(broker);
		broker.sendToChannel = ((channel: string, payload: UserMsgPayload, opts?: object) => {
			published.push(payload);
			return original(channel, payload, opts);
		}) as typeof broker.sendToChannel;
		try {
			const { token } = await login("Mira Vale");
			const socket = await ChatSocket.open(chatUrl(token));
			await socket.next((f) => f.type === "connection");
			socket.send({ content: "Hi" });
			const echo = await socket.next((f) => f.type === "echo");
			await socket.next(isAi);
			socket.send({ type: "regenerate", reply_to: echo.id });
			await socket.next((f) => isAi(f) && f.variant === 1);
			expect(published.filter((p) => p.message_id === echo.id).map((p) => p.user_name)).toEqual([
				"Mira Vale",
				"Mira Vale",
			]);
			await socket.close();
		} finally {
			broker.sendToChannel = original;
		}
	});

	it("should close a disabled user's open sockets with 4003", async () => {
		const { username, token } = await login();
		const bystander = await login();
		const socket = await ChatSocket.open(chatUrl(token));
		const other = await ChatSocket.open(chatUrl(bystander.token));
		await Promise.all([socket, other].map((s) => s.next((f) => f.type === "connection")));
		await broker.call("auth.setDisabled", { username, disabled: true });
		expect(await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r("open after 5 s"), 5000))])).toBe(
			4003,
		);
		other.send({ content: "still here" });
		await other.next(isAi);
		await other.close();
	});

	it("should close a socket with 4001 when its token expires", async () => {
		const { id, username } = await login();
		const token = signAccessToken({ userId: id, username }, TEST_JWT_SECRET, 2);
		const socket = await ChatSocket.open(chatUrl(token));
		await socket.next((f) => f.type === "connection");
		socket.send({ content: "before expiry" });
		await socket.next(isAi);
		const closed = await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r("open after 5 s"), 5000))]);
		expect(closed).toBe(4001);
		expect(socket.ofType("echo")).toHaveLength(1);
	});

	it("should tell a socket its character turned private, store nothing it sends after, and list the chat no more", async () => {
		const { owner, id } = await ownCharacter();
		const { token, caller } = await login();
		const socket = await ChatSocket.open(chatUrl(token, "", wsBase, id));
		const { session_id } = await socket.next((f) => f.type === "connection");
		socket.send({ content: "before" });
		await socket.next(isAi);
		expect(await broker.call("sessions.list", {}, caller)).toEqual([expect.objectContaining({ id: session_id })]);
		const ownerSocket = await ChatSocket.open(chatUrl(owner.token, "", wsBase, id));
		await ownerSocket.next((f) => f.type === "connection");

		await broker.call(
			"characters.update",
			{ id, is_public: false },
			{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
		);
		expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "character_unavailable" });
		socket.send({ content: "are you still there?" });
		expect(await socket.closed).toBe(4004);
		const page = await broker.call<{ messages: { role: string; content: string }[] }, object>(
			"sessions.messages",
			{ id: session_id },
			caller,
		);
		expect(page.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["before"]);
		// Its new name is not the user's to read.
		expect(await broker.call("sessions.list", {}, caller)).toEqual([]);
		await expect(ChatSocket.open(chatUrl(token, `&session_id=${session_id}`, wsBase, id))).rejects.toMatchObject({
			status: 404,
		});

		// The owner may still see it: their socket stays.
		ownerSocket.send({ content: "still mine" });
		await ownerSocket.next(isAi);
		await ownerSocket.close();
	});
});
