/**
 * Branching and naming chats over REST, in embedded mode (one broker, real sockets and PostgreSQL): POST
 * /sessions/:id/branch copies a session's story up to a message into a new session that goes on by itself;
 * GET/PATCH /sessions/:id and GET /sessions show titles (set or default) and where a branch came from.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import { ChatStore } from "../../src/adapters/chat-store.js";
import { replyId } from "../../src/domain/chat-wire.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";

let broker: ServiceBroker;
let sequelize: Sequelize;
let store: ChatStore;
let api = "";
let wsBase = "";
let characterId = "";
let characterName = "";

interface Login {
	username: string;
	token: string;
}

interface Message {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	model: string | null;
	reply_status?: string;
	variant?: number;
	active?: boolean;
	stopped?: boolean;
	timestamp: string;
	edited_at: string | null;
}

async function login(): Promise<Login> {
	const username = uniqueName("branch");
	await broker.call("auth.register", { username, name: "Brancher", password: "password123" });
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { username, token: access_token };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes
async function rest(who: Login, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
	const res = await fetch(api + path, {
		method,
		headers: {
			Authorization: `Bearer ${who.token}`,
			...(body === undefined ? {} : { "Content-Type": "application/json" }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function messagesOf(who: Login, sessionId: string): Promise<Message[]> {
	const page = await rest(who, "GET", `/sessions/${sessionId}/messages?limit=200`);
	expect(page.status).toBe(200);
	return page.body.messages;
}

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

async function open(who: Login, sessionId?: string): Promise<{ socket: ChatSocket; sessionId: string }> {
	const extra = sessionId ? `&session_id=${sessionId}` : "";
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(who.token)}${extra}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string };
}

/** Sends `content` and waits for its echo and reply. */
async function say(socket: ChatSocket, content: string): Promise<{ echo: Frame; reply: Frame }> {
	socket.send({ content });
	const echo = await socket.next((f) => f.type === "echo" && f.content === content);
	const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
	return { echo, reply };
}

/** A chat of three turns ("one", "two", "three"), the socket closed. */
async function story(who: Login): Promise<{ sessionId: string; messages: Message[] }> {
	const { socket, sessionId } = await open(who);
	for (const line of ["one", "two", "three"]) await say(socket, line);
	await socket.close();
	return { sessionId, messages: await messagesOf(who, sessionId) };
}

async function sessionCount(username: string): Promise<number> {
	const [[row]] = (await sequelize.query(`SELECT count(*)::int AS n FROM chat_sessions WHERE username = $1`, {
		bind: [username],
	})) as [{ n: number }[], unknown];
	return row.n;
}

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("branch"), CHAT_MESSAGES_PER_MINUTE: "1000" }), {
		logger: false,
	});
	await broker.start();
	sequelize = (broker.getLocalService("sessions") as unknown as DbThis).db.sequelize;
	store = new ChatStore(sequelize);
	api = gatewayOrigin(broker);
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	characterId = await createTestCharacter(broker);
	const [[character]] = (await sequelize.query(`SELECT name FROM ai_characters WHERE id = $1`, {
		bind: [characterId],
	})) as [{ name: string }[], unknown];
	characterName = character.name;
});

afterAll(() => broker?.stop());

describe("POST /sessions/:id/branch", () => {
	it("should copy the messages up to the branch point under new ids, replies answering the copies", async () => {
		const me = await login();
		const { sessionId, messages } = await story(me);
		const [greeting, one, oneReply, two, twoReply] = messages;
		await sequelize.query(`UPDATE chat_sessions SET summary = 'They met.', summary_upto_seq = 1 WHERE id = $1`, {
			bind: [sessionId],
		});
		await sequelize.query(`UPDATE messages SET content = 'two, edited', edited_at = now() WHERE id = $1`, {
			bind: [two.id],
		});

		const branch = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: twoReply.id });
		expect(branch.status).toBe(201);
		expect(branch.body).toMatchObject({
			character_id: characterId,
			character_name: characterName,
			title: `${characterName} — one`,
			branched_from: { session_id: sessionId, message_id: twoReply.id },
			last_message: { role: "ai", content: twoReply.content },
		});
		expect(branch.body.id).not.toBe(sessionId);

		const copies = await messagesOf(me, branch.body.id);
		expect(copies.map((m) => [m.role, m.content, m.model])).toEqual(
			[greeting, one, oneReply, { ...two, content: "two, edited" }, twoReply].map((m) => [m.role, m.content, m.model]),
		);
		for (const id of messages.map((m) => m.id)) expect(copies.map((m) => m.id)).not.toContain(id);
		// Replies answer the copies, as a first reply would (its id derived from the copy's).
		expect(copies[2]).toMatchObject({ reply_to: copies[1].id, id: replyId(copies[1].id, 0), variant: 0, active: true });
		expect(copies[4]).toMatchObject({ reply_to: copies[3].id, id: replyId(copies[3].id, 0), variant: 0, active: true });
		expect(copies[0].reply_to).toBeNull();
		expect([copies[1].reply_status, copies[3].reply_status]).toEqual(["replied", "replied"]);
		expect(copies[3].edited_at).not.toBeNull();
		expect(copies.map((m) => m.timestamp)).toEqual(messages.slice(0, 5).map((m) => m.timestamp));

		// The summary is not copied (the branch's own turns make it); the original is untouched.
		expect((await store.getSession(branch.body.id))?.summary).toBeNull();
		expect((await store.getSession(sessionId))?.summary).toBe("They met.");
		expect(await messagesOf(me, sessionId)).toEqual(
			messages.map((m) => (m.id === two.id ? { ...m, content: "two, edited", edited_at: expect.any(String) } : m)),
		);

		// Listed first (made last, though its copies keep their times), and shown by id, with where it came from.
		const listed = await rest(me, "GET", "/sessions?limit=100");
		expect(listed.body[0].id).toBe(branch.body.id);
		expect(listed.body.find((s: { id: string }) => s.id === branch.body.id)).toEqual(branch.body);
		expect(listed.body.find((s: { id: string }) => s.id === sessionId).branched_from).toBeNull();
		expect((await rest(me, "GET", `/sessions/${branch.body.id}`)).body).toEqual(branch.body);
	});

	it("should copy a user message branched from as failed, never pending, so it is not sent to the model", async () => {
		const me = await login();
		const { sessionId, messages } = await story(me);
		const three = messages[5];
		const branch = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: three.id });
		expect(branch.status).toBe(201);
		const copies = await messagesOf(me, branch.body.id);
		expect(copies).toHaveLength(6);
		expect(copies.at(-1)).toMatchObject({ role: "user", content: "three", reply_status: "failed" });
		const [[pending]] = (await sequelize.query(
			`SELECT count(*)::int AS n FROM messages WHERE session_id = $1 AND reply_status = 'pending'`,
			{ bind: [branch.body.id] },
		)) as [{ n: number }[], unknown];
		expect(pending.n).toBe(0);
	});

	it("should branch from the greeting alone, and list that branch though nothing was said in it", async () => {
		const me = await login();
		const { sessionId, messages } = await story(me);
		const branch = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: messages[0].id });
		expect(branch.status).toBe(201);
		expect(branch.body.title).toBe(characterName);
		expect((await messagesOf(me, branch.body.id)).map((m) => m.content)).toEqual([messages[0].content]);
		const listed = await rest(me, "GET", "/sessions?limit=100");
		expect(listed.body.map((s: { id: string }) => s.id)).toContain(branch.body.id);
	});

	it("should copy the shown swipe, or the one branched from when it is not the shown one", async () => {
		const me = await login();
		const { socket, sessionId } = await open(me);
		await say(socket, "one");
		const { echo, reply: first } = await say(socket, "two");
		socket.send({ type: "regenerate", reply_to: echo.id });
		const second = await socket.next((f) => isReply(f) && f.reply_to === echo.id && f.variant === 1);
		await socket.close();
		await sequelize.query(`UPDATE messages SET content = 'the first swipe' WHERE id = $1`, { bind: [first.id] });

		const shown = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: echo.id });
		const fromShown = await messagesOf(me, shown.body.id);
		expect(fromShown.at(-1)).toMatchObject({ role: "user", content: "two", reply_status: "failed" });
		const atSecond = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: second.id });
		const withSecond = await messagesOf(me, atSecond.body.id);
		expect(withSecond.filter((m) => m.role === "ai").map((m) => m.content)).not.toContain("the first swipe");
		expect(withSecond.at(-1)).toMatchObject({ content: second.content, variant: 0, active: true });

		const atFirst = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: first.id });
		const withFirst = await messagesOf(me, atFirst.body.id);
		expect(withFirst).toHaveLength(5);
		expect(withFirst.at(-1)).toMatchObject({ content: "the first swipe", variant: 0, active: true });
		expect(withFirst.at(-2)).toMatchObject({ content: "two", reply_status: "replied" });
	});

	it("should let the original and the branch go on independently over WebSocket", async () => {
		const me = await login();
		const { sessionId, messages } = await story(me);
		const branch = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: messages[2].id });
		const branchBefore = await messagesOf(me, branch.body.id);

		const original = await open(me, sessionId);
		const copy = await open(me, branch.body.id);
		expect(copy.sessionId).toBe(branch.body.id);
		const inOriginal = await say(original.socket, "on in the original");
		const inBranch = await say(copy.socket, "on in the branch");
		expect(inBranch.reply.id).not.toBe(inOriginal.reply.id);
		await Promise.all([original.socket.close(), copy.socket.close()]);

		const afterOriginal = await messagesOf(me, sessionId);
		expect(afterOriginal.slice(0, messages.length)).toEqual(messages);
		expect(afterOriginal.slice(messages.length).map((m) => m.id)).toEqual([inOriginal.echo.id, inOriginal.reply.id]);
		const afterBranch = await messagesOf(me, branch.body.id);
		expect(afterBranch.slice(0, branchBefore.length)).toEqual(branchBefore);
		expect(afterBranch.slice(branchBefore.length).map((m) => m.id)).toEqual([inBranch.echo.id, inBranch.reply.id]);
		expect(afterBranch.map((m) => m.content)).not.toContain("on in the original");
	});

	it("should branch all of the story or nothing when a rewind deletes the branch point at the same time", async () => {
		const me = await login();
		for (let round = 0; round < 3; round++) {
			const { sessionId, messages } = await story(me);
			const before = await sessionCount(me.username);
			const [branch, rewind] = await Promise.all([
				rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: messages[4].id }),
				rest(me, "DELETE", `/sessions/${sessionId}/messages/${messages[1].id}`),
			]);
			expect(rewind.status).toBe(204);
			expect((await messagesOf(me, sessionId)).map((m) => m.id)).toEqual([messages[0].id]);
			if (branch.status === 404) {
				expect(branch.body.code).toBe("MESSAGE_NOT_FOUND");
				expect(await sessionCount(me.username)).toBe(before);
			} else {
				expect(branch.status).toBe(201);
				const copies = await messagesOf(me, branch.body.id);
				expect(copies.map((m) => m.content)).toEqual(messages.slice(0, 5).map((m) => m.content));
			}
		}
	});

	it("should refuse a branch point that is not a message of the session, and create nothing", async () => {
		const me = await login();
		const other = await login();
		const { sessionId } = await story(me);
		const { sessionId: secondSession, messages: second } = await story(me);
		const { sessionId: theirSession, messages: theirs } = await story(other);
		const before = await sessionCount(me.username);
		for (const messageId of ["00000000-0000-4000-8000-000000000000", second[1].id, theirs[1].id]) {
			const refused = await rest(me, "POST", `/sessions/${sessionId}/branch`, { message_id: messageId });
			expect(refused.status, messageId).toBe(404);
			expect(refused.body.code).toBe("MESSAGE_NOT_FOUND");
		}
		// Their session, even with its own message: as if it did not exist.
		const theirsRefused = await rest(me, "POST", `/sessions/${theirSession}/branch`, { message_id: theirs[1].id });
		expect(theirsRefused).toMatchObject({ status: 404, body: { code: "SESSION_NOT_FOUND" } });
		const invalid = await rest(me, "POST", `/sessions/${secondSession}/branch`, { message_id: "nope" });
		expect(invalid).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
		expect(await sessionCount(me.username)).toBe(before);
		expect(await sessionCount(other.username)).toBe(1);
	});
});

describe("session titles", () => {
	it("should default to the character and the first user line, and take a title or null", async () => {
		const me = await login();
		const { sessionId } = await story(me);
		const shown = await rest(me, "GET", `/sessions/${sessionId}`);
		expect(shown).toMatchObject({ status: 200, body: { id: sessionId, title: `${characterName} — one` } });

		const renamed = await rest(me, "PATCH", `/sessions/${sessionId}`, { title: "  The long night  " });
		expect(renamed).toMatchObject({ status: 200, body: { id: sessionId, title: "The long night" } });
		expect((await rest(me, "GET", `/sessions/${sessionId}`)).body).toEqual(renamed.body);
		const listed = await rest(me, "GET", "/sessions?limit=100");
		expect(listed.body.find((s: { id: string }) => s.id === sessionId).title).toBe("The long night");

		const reset = await rest(me, "PATCH", `/sessions/${sessionId}`, { title: null });
		expect(reset).toMatchObject({ status: 200, body: { title: `${characterName} — one` } });
		expect((await rest(me, "GET", `/sessions/${sessionId}`)).body.title).toBe(`${characterName} — one`);

		// A chat in which nothing was said yet: not listed, but shown by id, named after the character.
		const fresh = await open(me);
		await fresh.socket.close();
		expect((await rest(me, "GET", `/sessions/${fresh.sessionId}`)).body).toMatchObject({
			title: characterName,
			last_message: { role: "ai" },
		});
		expect((await rest(me, "GET", "/sessions?limit=100")).body.map((s: { id: string }) => s.id)).not.toContain(
			fresh.sessionId,
		);
	});

	it("should refuse an empty, blank, too long or missing title, and someone else's session", async () => {
		const me = await login();
		const other = await login();
		const { sessionId } = await story(me);
		for (const body of [{ title: "" }, { title: "   " }, { title: "x".repeat(121) }, { title: 5 }, {}]) {
			const refused = await rest(me, "PATCH", `/sessions/${sessionId}`, body);
			expect(refused, JSON.stringify(body)).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
		}
		expect((await rest(me, "PATCH", `/sessions/${sessionId}`, { title: "x".repeat(120) })).status).toBe(200);
		const theirs = await rest(other, "PATCH", `/sessions/${sessionId}`, { title: "Mine now" });
		expect(theirs).toMatchObject({ status: 404, body: { code: "SESSION_NOT_FOUND" } });
		expect(await rest(other, "GET", `/sessions/${sessionId}`)).toMatchObject({ status: 404 });
		expect((await rest(me, "GET", `/sessions/${sessionId}`)).body.title).toBe("x".repeat(120));
	});

	it("should list one character's chats with ?character_id=, the newest first", async () => {
		const me = await login();
		const otherCharacter = await createTestCharacter(broker);
		const { sessionId: older } = await story(me);
		const { socket, sessionId: elsewhere } = await ChatSocket.open(
			`${wsBase}/ws/${otherCharacter}?token=${encodeURIComponent(me.token)}`,
		).then(async (s) => ({ socket: s, sessionId: (await s.next((f) => f.type === "connection")).session_id }));
		await say(socket, "hello elsewhere");
		await socket.close();
		const { sessionId: newer } = await story(me);

		const mine = await rest(me, "GET", `/sessions?character_id=${characterId}`);
		expect(mine.body.map((s: { id: string }) => s.id)).toEqual([newer, older]);
		const theirs = await rest(me, "GET", `/sessions?character_id=${otherCharacter}`);
		expect(theirs.body.map((s: { id: string }) => s.id)).toEqual([elsewhere]);
		expect((await rest(me, "GET", "/sessions?character_id=nope")).status).toBe(422);
	});
});
