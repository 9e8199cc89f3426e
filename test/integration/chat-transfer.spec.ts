/**
 * Chat import and export over REST (issue 16), in embedded mode (one broker, real sockets and PostgreSQL):
 * SillyTavern JSONL and cameo's JSON in and out, the round trip keeping messages, speakers and active variants,
 * imported messages never sent to the model, and the session going on over WebSocket afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, signUp, testConfig, uniqueName, type SignedUp } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { probeHealth } from "../support/stalls.js";

let broker: ServiceBroker;
let sequelize: Sequelize;
let api = "";
let wsBase = "";
let characterId = "";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes
type Json = any;

async function send(
	who: SignedUp,
	method: string,
	path: string,
	body?: string | FormData,
	type?: string,
): Promise<{ status: number; body: Json; text: string; headers: Headers }> {
	const res = await fetch(api + path, {
		method,
		headers: { Authorization: `Bearer ${who.token}`, ...(type ? { "Content-Type": type } : {}) },
		body,
	});
	const text = await res.text();
	let parsed: Json;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: res.status, body: parsed, text, headers: res.headers };
}

const jsonl = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n");
const lines = (text: string) => text.split("\n").map((l) => JSON.parse(l));
const importChat = (who: SignedUp, body: string | FormData, type?: string, character = characterId) =>
	send(who, "POST", `/sessions/import?character_id=${character}`, body, type);

/** A SillyTavern chat as its versions wrote them: header with "unused" names, swipes, a system line, three date forms. */
const SILLY_TAVERN_CHAT = jsonl(
	{
		user_name: "unused",
		character_name: "unused",
		create_date: "2026-11-24@20h44m09s",
		chat_metadata: { integrity: "abc", note_prompt: "" },
	},
	{
		name: "Seraphina",
		is_user: false,
		is_system: false,
		send_date: "November 24, 2026 8:44pm",
		mes: "Welcome, traveller.",
		extra: {},
	},
	{
		name: "Ann",
		is_user: true,
		is_system: false,
		send_date: 1795552449156,
		mes: "Who are you?",
		extra: { isSmallSys: false },
	},
	{
		name: "Seraphina",
		is_user: false,
		is_system: false,
		send_date: "2026-11-24T20:46:00.000Z",
		mes: "A guardian of this glade.",
		swipe_id: 1,
		swipes: ["A keeper of the woods.", "A guardian of this glade.", "Nobody you should fear."],
		swipe_info: [
			{ send_date: "2026-11-24T20:45:30.000Z", extra: {} },
			{ send_date: "2026-11-24T20:46:00.000Z", extra: {} },
			{ send_date: "2026-11-24T20:46:30.000Z", extra: {} },
		],
		extra: { api: "openai", model: "gpt-x", reasoning: "" },
		force_avatar: "seraphina.png",
	},
	{
		name: "SillyTavern System",
		is_user: false,
		is_system: true,
		send_date: "2026-11-24T20:47:00.000Z",
		mes: "Chat was renamed",
	},
	{ name: "Ann", is_user: true, is_system: false, send_date: "2026-11-24T20:48:00.000Z", mes: "Thank you.", extra: {} },
	{
		name: "Seraphina",
		is_user: false,
		is_system: false,
		send_date: "2026-11-24T20:48:30.000Z",
		mes: "Rest now.",
		extra: {},
	},
);

async function pendingWork(sessionId: string): Promise<number> {
	const [[row]] = (await sequelize.query(
		`SELECT (SELECT count(*) FROM messages WHERE session_id = $1 AND reply_status = 'pending')
			+ (SELECT count(*) FROM room_turns WHERE session_id = $1 AND status IN ('pending', 'running')) AS n`,
		{ bind: [sessionId] },
	)) as [{ n: string }[], unknown];
	return Number(row.n);
}

/** The message lines of an export, as SillyTavern reads them (the header's date is the new session's). */
const messageLines = (text: string) => lines(text).slice(1);

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("xfer"), CHAT_IMPORT_MAX_MB: "1" }), { logger: false });
	await broker.start();
	sequelize = (broker.getLocalService("chat-transfer") as unknown as DbThis).db.sequelize;
	api = gatewayOrigin(broker);
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	characterId = await createTestCharacter(broker);
});

afterAll(() => broker?.stop());

describe("POST /sessions/import and GET /sessions/:id/export.jsonl", () => {
	it("should import SillyTavern's JSONL and export it back with the same messages, speakers and swipes", async () => {
		const me = await signUp(broker, "xfer");
		const imported = await importChat(me, SILLY_TAVERN_CHAT, "application/jsonl");
		expect(imported.status).toBe(201);
		expect(imported.body).toMatchObject({ character_id: characterId, owner: me.username, reply_mode: null });
		const id = imported.body.id as string;
		expect(await pendingWork(id)).toBe(0);

		const page = await send(me, "GET", `/sessions/${id}/messages?limit=200`);
		const shown = (page.body.messages as Json[]).map((m) => [
			m.role,
			m.content,
			m.active ?? null,
			m.reply_status ?? null,
		]);
		expect(shown).toEqual([
			["ai", "Welcome, traveller.", true, null],
			["user", "Who are you?", null, "replied"],
			["ai", "A keeper of the woods.", false, null],
			["ai", "A guardian of this glade.", true, null],
			["ai", "Nobody you should fear.", false, null],
			["user", "Thank you.", null, "replied"],
			["ai", "Rest now.", true, null],
		]);
		expect(page.body.messages[0].timestamp).toBe("2026-11-24T20:44:00.000Z");
		expect(page.body.messages[1].timestamp).toBe("2026-11-24T20:34:09.156Z");

		const exported = await send(me, "GET", `/sessions/${id}/export.jsonl`);
		expect(exported.status).toBe(200);
		expect(exported.headers.get("content-type")).toMatch(/^application\/jsonl/);
		expect(exported.headers.get("content-disposition")).toMatch(/^attachment; filename="[A-Za-z0-9-]+\.jsonl"$/);
		expect(exported.text.endsWith("\n")).toBe(false);
		const [head, ...out] = lines(exported.text);
		expect(head).toMatchObject({ user_name: "Test Person", chat_metadata: { integrity: "abc" } });
		expect(typeof head.create_date).toBe("string");
		const original = messageLines(SILLY_TAVERN_CHAT).filter((l) => !l.is_system);
		expect(out.map((l) => [l.name, l.is_user, l.mes, l.swipe_id, l.swipes])).toEqual(
			original.map((l) => [l.name, l.is_user, l.mes, l.swipe_id, l.swipes]),
		);
		expect(out[2]).toMatchObject({ force_avatar: "seraphina.png", extra: { api: "openai", model: "gpt-x" } });
		expect(out[2].swipe_info).toEqual(original[2].swipe_info);
		expect(out.map((l) => l.send_date)).toEqual([
			"2026-11-24T20:44:00.000Z",
			"2026-11-24T20:34:09.156Z",
			"2026-11-24T20:46:00.000Z",
			"2026-11-24T20:48:00.000Z",
			"2026-11-24T20:48:30.000Z",
		]);

		// And again: what cameo wrote reads back to the same lines.
		const again = await importChat(me, exported.text, "application/x-ndjson");
		expect(again.status).toBe(201);
		const second = await send(me, "GET", `/sessions/${again.body.id}/export.jsonl`);
		expect(messageLines(second.text)).toEqual(out);
	});

	it("should read the minimal form as a form's file, names as given and the chosen character", async () => {
		const me = await signUp(broker, "xfer");
		const form = new FormData();
		form.append(
			"file",
			new Blob([jsonl({ mes: "Hi", is_user: true }, { mes: "Hello, stranger", name: "Somebody Else" })]),
			"chat.jsonl",
		);
		const imported = await importChat(me, form);
		expect(imported.status).toBe(201);
		expect(imported.body.character_id).toBe(characterId);
		const out = messageLines((await send(me, "GET", `/sessions/${imported.body.id}/export.jsonl`)).text);
		expect(out.map((l) => [l.name, l.is_user, l.mes])).toEqual([
			["Test Person", true, "Hi"],
			["Somebody Else", false, "Hello, stranger"],
		]);
		expect(await pendingWork(imported.body.id)).toBe(0);
	});

	it("should refuse bad files: the malformed line named, empty, too large, an unseen character, another type", async () => {
		const me = await signUp(broker, "xfer");
		const bad = await importChat(me, `${jsonl({ user_name: "unused" }, { mes: "ok" })}\n{"mes": nope}`, "text/plain");
		expect(bad.status).toBe(422);
		expect(bad.body).toMatchObject({ code: "INVALID_CHAT" });
		expect(bad.body.detail).toContain("Line 3");
		expect((await importChat(me, "", "application/jsonl")).body).toMatchObject({ code: "EMPTY_CHAT" });
		expect((await importChat(me, "", "application/jsonl")).status).toBe(422);
		const big = await importChat(me, jsonl({ mes: "x".repeat(1_200_000) }), "application/jsonl");
		expect(big.status).toBe(413);
		const other = await signUp(broker, "xfer");
		const hidden = await broker.call<{ id: string }, object>(
			"characters.create",
			{ name: "Hidden", system_prompt: "You hide.", is_public: false },
			{ meta: other.meta },
		);
		const unseen = await importChat(me, SILLY_TAVERN_CHAT, "application/jsonl", hidden.id);
		expect([unseen.status, unseen.body.code]).toEqual([404, "CHARACTER_NOT_FOUND"]);
		expect((await importChat(me, SILLY_TAVERN_CHAT, "image/png")).status).toBe(415);
		const theirs = await importChat(other, SILLY_TAVERN_CHAT, "application/jsonl");
		for (const format of ["jsonl", "json"])
			expect((await send(me, "GET", `/sessions/${theirs.body.id}/export.${format}`)).status).toBe(404);
	});
});

describe("a chat as long as allowed", () => {
	it("should import 10,000 lines without stalling the server, and refuse one line more with 413", async () => {
		const me = await signUp(broker, "xfer");
		const line = (i: number) =>
			i % 2 === 0
				? { name: "Ann", is_user: true, send_date: 1795552449156 + i, mes: `Line ${i}`, extra: { n: i } }
				: {
						name: "Seraphina",
						is_user: false,
						send_date: 1795552449156 + i,
						mes: `Reply ${i}`,
						swipes: ["a", `Reply ${i}`],
						swipe_id: 1,
					};
		const body = (count: number) => jsonl({ user_name: "unused" }, ...Array.from({ length: count }, (_, i) => line(i)));
		const probe = probeHealth(`${api}/health`);
		let health;
		try {
			const imported = await importChat(me, body(10_000), "application/jsonl");
			expect(imported.status).toBe(201);
			const tooLong = await importChat(me, body(10_001), "application/jsonl");
			expect([tooLong.status, tooLong.body.code]).toEqual([413, "CHAT_TOO_LARGE"]);
			health = await probe.stop();
			const [[row]] = (await sequelize.query(`SELECT count(*)::int AS n FROM messages WHERE session_id = $1`, {
				bind: [imported.body.id],
			})) as [{ n: number }[], unknown];
			expect(row.n).toBe(15_000);
			expect(await pendingWork(imported.body.id)).toBe(0);
		} finally {
			await probe.stop().catch(() => undefined);
		}
		// Generous for two shared cores: the file is read in one pass and stored 500 rows to a statement.
		expect(health.health_max_ms).toBeLessThan(500);
	});
});

describe("GET /sessions/:id/export.json", () => {
	it("should export a chat made here with every variant, and import it back to the same story that goes on", async () => {
		const me = await signUp(broker, "xfer");
		const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(me.token)}`);
		const hello = await socket.next((f) => f.type === "connection");
		const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;
		socket.send({ content: "first line" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next((f) => isReply(f) && f.reply_to === echo.id && f.variant === 0);
		socket.send({ type: "regenerate", reply_to: echo.id });
		await socket.next((f) => isReply(f) && f.reply_to === echo.id && f.variant === 1);
		socket.send({ type: "edit", id: echo.id, content: "first line, edited" });
		await socket.next((f) => f.type === "message.edited");
		await socket.close();
		const sessionId = hello.session_id as string;
		const memory = JSON.stringify({ summary: "They met by the water.", pinned: [echo.id] });
		expect((await send(me, "PATCH", `/sessions/${sessionId}/memory`, memory, "application/json")).status).toBe(200);

		const exported = await send(me, "GET", `/sessions/${sessionId}/export.json`);
		expect(exported.status).toBe(200);
		expect(exported.headers.get("content-disposition")).toMatch(/\.json"$/);
		expect(exported.body).toMatchObject({ format: "cameo.chat", version: 1, session: { id: sessionId } });
		expect(exported.body.messages).toHaveLength(4);
		expect(exported.body.messages[1]).toMatchObject({ content: "first line, edited", edited_at: expect.any(String) });

		const imported = await importChat(me, exported.text, "application/json");
		expect(imported.status).toBe(201);
		const id = imported.body.id as string;
		const before = (await send(me, "GET", `/sessions/${sessionId}/messages`)).body.messages as Json[];
		const after = (await send(me, "GET", `/sessions/${id}/messages`)).body.messages as Json[];
		const story = (ms: Json[]) =>
			ms.map((m) => [m.role, m.content, m.variant, m.active, m.timestamp, m.edited_at !== null]);
		expect(story(after)).toEqual(story(before));
		expect(messageLines((await send(me, "GET", `/sessions/${id}/export.jsonl`)).text)).toEqual(
			messageLines((await send(me, "GET", `/sessions/${sessionId}/export.jsonl`)).text),
		);
		expect(await pendingWork(id)).toBe(0);
		// The summary the user wrote and the pins come back with it.
		const kept = (await send(me, "GET", `/sessions/${id}/memory`)).body;
		expect(kept).toMatchObject({ summary: "They met by the water.", pinned: [after[1].id] });

		// The imported chat resumes over WebSocket and answers a new message; nothing imported was sent to the model.
		const last = after.at(-1)!.id as string;
		const resumed = await ChatSocket.open(
			`${wsBase}/ws/${characterId}?token=${encodeURIComponent(me.token)}&session_id=${id}&after=${last}`,
		);
		const connection = await resumed.next((f) => f.type === "connection");
		expect(connection).toMatchObject({ session_id: id });
		resumed.send({ content: "and now?" });
		const next = await resumed.next((f) => f.type === "echo");
		const reply = await resumed.next((f) => isReply(f) && f.reply_to === next.id);
		expect(reply.content).toEqual(expect.any(String));
		await resumed.close();
		const replies = await send(me, "GET", `/sessions/${id}/messages`);
		expect((replies.body.messages as Json[]).filter((m) => m.role === "ai" && m.model !== null)).toHaveLength(1);
	});

	it("should import a room's export as a room of the importer's: the same cast, speakers and replies, none answered again", async () => {
		const me = await signUp(broker, "xfer");
		const friend = await signUp(broker, "xfer");
		const second = await createTestCharacter(broker);
		const json = (body: unknown) => JSON.stringify(body);
		const made = await send(
			me,
			"POST",
			"/sessions",
			json({ character_ids: [characterId, second], reply_mode: "all" }),
			"application/json",
		);
		expect(made.status).toBe(201);
		const roomId = made.body.id as string;
		const added = await send(
			me,
			"POST",
			`/sessions/${roomId}/members`,
			json({ username: friend.username }),
			"application/json",
		);
		expect(added.status).toBe(201);
		const socket = await ChatSocket.open(`${wsBase}/ws/session/${roomId}?token=${encodeURIComponent(friend.token)}`);
		await socket.next((f) => f.type === "connection");
		socket.send({ content: "Hello both" });
		const echo = await socket.next((f) => f.type === "echo");
		const first = await socket.next((f) => f.type === "ai" && f.reply_to === echo.id);
		await socket.next((f) => f.type === "ai" && f.reply_to === echo.id && f.character_id !== first.character_id);
		await socket.close();

		const exported = await send(me, "GET", `/sessions/${roomId}/export.json`);
		expect(exported.body.session).toMatchObject({ reply_mode: "all" });
		const imported = await importChat(me, exported.text, "application/json");
		expect(imported.status).toBe(201);
		expect(imported.body).toMatchObject({ owner: me.username, reply_mode: "all", character_id: characterId });
		expect((imported.body.characters as Json[]).map((c) => c.id)).toEqual([characterId, second]);
		expect((imported.body.members as Json[]).map((m) => m.username)).toEqual([me.username]);
		const id = imported.body.id as string;
		const story = async (sessionId: string) =>
			((await send(me, "GET", `/sessions/${sessionId}/messages`)).body.messages as Json[]).map((m) => [
				m.role,
				m.content,
				m.character_id,
				m.active,
				m.persona,
			]);
		const before = await story(roomId);
		expect(before.filter(([role]) => role === "ai")).toHaveLength(4);
		expect(await story(id)).toEqual(before);
		expect(messageLines((await send(me, "GET", `/sessions/${id}/export.jsonl`)).text)).toEqual(
			messageLines((await send(me, "GET", `/sessions/${roomId}/export.jsonl`)).text),
		);
		// The friend is a name in it, not a member: the imported room is not theirs to read.
		expect((await send(friend, "GET", `/sessions/${id}`)).status).toBe(404);

		// Past the reply timeout, the room sweep queues turns for a recent message that has none: not for these.
		await sequelize.query(`UPDATE messages SET created_at = now() - interval '10 minutes' WHERE session_id = $1`, {
			bind: [id],
		});
		const dispatcher = broker.getLocalService("dispatcher") as unknown as { roomTurns: { sweep(): Promise<unknown> } };
		await dispatcher.roomTurns.sweep();
		expect(await pendingWork(id)).toBe(0);
	});
});
