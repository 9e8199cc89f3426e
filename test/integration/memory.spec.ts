/**
 * Visible memory and the prompt inspector, end to end with a real LangChain Gemini client talking to a fake Gemini
 * server: the summary the user writes and the messages they pin reach the next prompt (a pinned message even from
 * outside the history window), folds add to the user's summary without touching it, and the inspector answers with
 * exactly what the model was sent, for the last few replies of a session only.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { QueryTypes, type Sequelize } from "sequelize";
import { ChatStore } from "../../src/adapters/chat-store.js";
import { foldLateSystemMessages } from "../../src/adapters/llm/providers.js";
import { CONTINUE_INSTRUCTION } from "../../src/domain/prompt.js";
import { replyId } from "../../src/domain/chat-wire.js";
import type { ChatMessage } from "../../src/domain/chat-model.js";
import type { FakeServer, RecordedRequest } from "../support/fake-gemini.js";
import { startGeminiChat, systemOf, type GeminiChat } from "../support/gemini-chat.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const WINDOW = 6;
const KEPT_PROMPTS = 3;
let fake: FakeServer;
let store: ChatStore;
let sequelize: Sequelize;
let wsBase = "";
let characterId = "";
let api = "";
const { call, login } = restClient(() => api);

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

/** A new user with a new session (its greeting stored). */
async function openChat() {
	const user = await login("Ann Reader");
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${user.token}`);
	const hello = await socket.next((f) => f.type === "connection");
	const [{ username }] = await sequelize.query<{ username: string }>(`SELECT username FROM users WHERE id = $1`, {
		bind: [user.id],
		type: QueryTypes.SELECT,
	});
	return { ...user, username, socket, sessionId: hello.session_id as string };
}

/** `turns` exchanges stored directly (user line "turn i ...", reply "answer i"); their user message ids. */
async function storeTurns(chat: { sessionId: string; username: string }, lines: string[]): Promise<string[]> {
	const ids: string[] = [];
	for (const [i, line] of lines.entries()) {
		const row = await store.insertUserMessage({
			session_id: chat.sessionId,
			username: chat.username,
			character_id: characterId,
			content: line,
		});
		await store.insertAiMessage({
			id: crypto.randomUUID(),
			reply_to: row.id,
			session_id: chat.sessionId,
			username: chat.username,
			character_id: characterId,
			content: `answer ${i}`,
			model: "test",
		});
		ids.push(row.id);
	}
	return ids;
}

/** Sends a line and waits for its reply, the model answering `text`. */
async function say(socket: ChatSocket, content: string) {
	socket.send({ content });
	const echo = await socket.next((f) => f.type === "echo" && f.content === content);
	const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
	return { echo, reply };
}

/** What a Gemini request carried: its system instruction, then each turn as role and text. */
function received(request: RecordedRequest) {
	return {
		system: systemOf(request),
		contents: (request.body.contents as { role: string; parts: { text: string }[] }[]).map((c) => ({
			role: c.role,
			text: c.parts.map((p) => p.text).join(""),
		})),
	};
}

/** The same, for messages as cameo hands them to the Gemini client. */
function asSent(messages: ChatMessage[]) {
	const [system, ...rest] = foldLateSystemMessages(messages);
	return {
		system: system.content,
		contents: rest.map((m) => ({ role: m.role === "assistant" ? "model" : "user", text: m.content })),
	};
}

/** The inspector's answer for a reply, once ai-consumer has written it (in the background, after the reply). */
async function inspect(token: string, sessionId: string, replyId: string) {
	let res = await call("GET", `/sessions/${sessionId}/messages/${replyId}/prompt`, { token });
	await vi.waitFor(
		async () => {
			res = await call("GET", `/sessions/${sessionId}/messages/${replyId}/prompt`, { token });
			expect(res.status).toBe(200);
		},
		{ timeout: 5000, interval: 50 },
	);
	return res.body;
}

let chat: GeminiChat;

beforeAll(async () => {
	chat = await startGeminiChat({
		CHAT_HISTORY_WINDOW: String(WINDOW),
		CHAT_PROMPT_INSPECTOR_REPLIES: String(KEPT_PROMPTS),
	});
	({ fake, sequelize, api, wsBase, characterId } = chat);
	store = new ChatStore(sequelize);
}, 60_000);

afterAll(() => chat?.stop());

beforeEach(() => fake.reset());

describe("visible memory over REST", () => {
	it("should show the summary as the user wrote it with folds added on top, and keep what it covers when edited", async () => {
		const chat = await openChat();
		const memory = () => call("GET", `/sessions/${chat.sessionId}/memory`, { token: chat.token });
		expect((await memory()).body).toEqual({
			summary: null,
			summary_updated_at: null,
			covered_until: null,
			covered_until_at: null,
			pinned: [],
		});
		const [first, second] = await storeTurns(chat, ["turn 0", "turn 1", "turn 2"]);
		const covered = (await store.getMessage(second))!;
		await store.updateSummary(chat.sessionId, "Folded: they met.", covered.seq);
		const folded = (await memory()).body;
		expect(folded).toMatchObject({ summary: "Folded: they met.", covered_until: second });
		expect(new Date(folded.covered_until_at).getTime()).toBe(covered.created_at.getTime());
		expect(folded.summary_updated_at).not.toBeNull();

		const edited = await call("PATCH", `/sessions/${chat.sessionId}/memory`, {
			token: chat.token,
			json: { summary: "Ann is a *retired* pirate.\nShe hates gulls." },
		});
		expect(edited.status).toBe(200);
		// The user's text replaces what was folded; what it covered stays covered.
		expect(edited.body).toMatchObject({
			summary: "Ann is a *retired* pirate.\nShe hates gulls.",
			covered_until: second,
			pinned: [],
		});
		// A fold that read the summary before the user wrote theirs stores nothing: it would bring back what they replaced.
		const last = (await store.latestMessages(chat.sessionId, 1))[0];
		await store.updateSummary(chat.sessionId, "Folded: they met. Then more.", last.seq, {
			summary: "Folded: they met.",
			summary_base: null,
		});
		expect((await memory()).body).toMatchObject({ summary: "Ann is a *retired* pirate.\nShe hates gulls." });
		// A later fold adds to it, never over it.
		await store.updateSummary(chat.sessionId, "Then they sailed.", last.seq);
		expect((await memory()).body).toMatchObject({
			summary: "Ann is a *retired* pirate.\nShe hates gulls.\nThen they sailed.",
			covered_until: last.id,
		});
		// An edit of a turn the summary covers clears the folded part only: the user's words stay.
		const edit = await call("PATCH", `/sessions/${chat.sessionId}/messages/${first}`, {
			token: chat.token,
			json: { content: "turn 0, edited" },
		});
		expect(edit.status).toBe(200);
		expect((await memory()).body).toMatchObject({
			summary: "Ann is a *retired* pirate.\nShe hates gulls.",
			covered_until: null,
		});
		const cleared = await call("PATCH", `/sessions/${chat.sessionId}/memory`, {
			token: chat.token,
			json: { summary: null },
		});
		expect(cleared.body.summary).toBeNull();
		await chat.socket.close();
	});

	it("should pin the full set given, show it in the message list, and refuse messages that are not the session's", async () => {
		const chat = await openChat();
		const other = await openChat();
		const [u0, u1] = await storeTurns(chat, ["turn 0", "turn 1"]);
		const [theirs] = await storeTurns(other, ["their turn"]);
		const page = async () =>
			(await call("GET", `/sessions/${chat.sessionId}/messages`, { token: chat.token })).body.messages as {
				id: string;
				pinned: boolean;
			}[];
		const greeting = (await page())[0].id;
		const pin = (pinned: unknown) =>
			call("PATCH", `/sessions/${chat.sessionId}/memory`, { token: chat.token, json: { pinned } });

		const pinned = await pin([u1, greeting, u1]);
		expect(pinned.status).toBe(200);
		expect(pinned.body.pinned).toEqual([greeting, u1]);
		expect((await page()).filter((m) => m.pinned).map((m) => m.id)).toEqual([greeting, u1]);
		expect((await pin([u0])).body.pinned).toEqual([u0]);
		expect((await page()).filter((m) => m.pinned).map((m) => m.id)).toEqual([u0]);

		for (const id of [theirs, crypto.randomUUID()]) {
			const refused = await pin([u1, id]);
			expect(refused.status).toBe(404);
			expect(refused.body.code).toBe("MESSAGE_NOT_FOUND");
		}
		expect((await page()).filter((m) => m.pinned).map((m) => m.id)).toEqual([u0]);
		const tooMany = await pin(Array.from({ length: 51 }, () => crypto.randomUUID()));
		expect(tooMany.status).toBe(422);
		expect((await pin([])).body.pinned).toEqual([]);

		// Someone else's session is as good as missing, for reading and for writing.
		for (const [method, path, json] of [
			["GET", `/sessions/${other.sessionId}/memory`, undefined],
			["PATCH", `/sessions/${other.sessionId}/memory`, { pinned: [theirs], summary: "mine now" }],
			["GET", `/sessions/${other.sessionId}/messages/${theirs}/prompt`, undefined],
		] as const) {
			const res = await call(method, path, { token: chat.token, json });
			expect(res.status).toBe(404);
			expect(res.body.code).toBe("SESSION_NOT_FOUND");
		}
		const theirMemory = await call("GET", `/sessions/${other.sessionId}/memory`, { token: other.token });
		expect(theirMemory.body).toMatchObject({ summary: null, pinned: [] });
		await chat.socket.close();
		await other.socket.close();
	});

	it("should carry the user's summary and the pins of the copied messages into a branch, and not the fold", async () => {
		const chat = await openChat();
		const [u0, u1, u2] = await storeTurns(chat, ["turn 0", "turn 1", "turn 2"]);
		const memory = (sessionId: string) => call("GET", `/sessions/${sessionId}/memory`, { token: chat.token });
		const set = await call("PATCH", `/sessions/${chat.sessionId}/memory`, {
			token: chat.token,
			json: { summary: "Ann swore to find the lighthouse keeper.", pinned: [u0, u2] },
		});
		expect(set.status).toBe(200);
		await sequelize.query(`UPDATE chat_sessions SET summary = 'folded line' WHERE id = $1`, { bind: [chat.sessionId] });
		expect((await memory(chat.sessionId)).body.summary).toBe("Ann swore to find the lighthouse keeper.\nfolded line");

		const branch = await call("POST", `/sessions/${chat.sessionId}/branch`, {
			token: chat.token,
			json: { message_id: u1 },
		});
		expect(branch.status).toBe(201);
		const copied = await memory(branch.body.id);
		expect(copied.body).toMatchObject({ summary: "Ann swore to find the lighthouse keeper." });
		const page = await call("GET", `/sessions/${branch.body.id}/messages`, { token: chat.token });
		const messages = page.body.messages as { content: string; pinned: boolean }[];
		// turn 2 was not copied; the copy of turn 0 is pinned, under its new id.
		expect(messages.filter((m) => m.pinned).map((m) => m.content)).toEqual(["turn 0"]);
		expect(copied.body.pinned).toHaveLength(1);
		expect(copied.body.pinned).not.toContain(u0);
		await chat.socket.close();
	});
});

describe("memory in the prompt, and the prompt inspector", () => {
	it("should prompt with the user's summary, the fold on top of it and a pinned message from outside the window", async () => {
		const chat = await openChat();
		const lines = Array.from({ length: 8 }, (_, i) => (i === 0 ? "The secret word is pelican." : `turn ${i}`));
		const [secret] = await storeTurns(chat, lines);
		await call("PATCH", `/sessions/${chat.sessionId}/memory`, {
			token: chat.token,
			json: { summary: "Ann and the bard are old friends.", pinned: [secret] },
		});
		// The session outgrew the window with no fold yet: the model folds the older turns first, then replies.
		fake.script([{ text: ["They talked of birds."] }, { text: ["A rhyme for you."] }]);
		const { reply } = await say(chat.socket, "What was the word?");
		expect(fake.requests).toHaveLength(2);

		const fold = received(fake.requests[0]);
		expect(fold.system).toContain("<user_summary>\nAnn and the bard are old friends.\n</user_summary>");
		const [session] = await sequelize.query<{ summary_base: string; summary: string }>(
			`SELECT summary_base, summary FROM chat_sessions WHERE id = $1`,
			{ bind: [chat.sessionId], type: QueryTypes.SELECT },
		);
		expect(session).toEqual({ summary_base: "Ann and the bard are old friends.", summary: "They talked of birds." });

		const prompt = received(fake.requests[1]);
		expect(prompt.system).toContain("Ann and the bard are old friends.\nThey talked of birds.");
		expect(prompt.system).toContain("The secret word is pelican.");
		// Outside the window: not in the history, only where pinned messages go.
		expect(prompt.contents.some((c) => c.text.includes("pelican"))).toBe(false);
		expect(prompt.contents.at(-1)).toEqual({
			role: "user",
			text: "What was the word?\n\n[Answer Ann Reader in rhyme.]",
		});

		const inspected = await inspect(chat.token, chat.sessionId, reply.id as string);
		expect(asSent(inspected.messages)).toEqual(prompt);
		expect(inspected).toMatchObject({ reply_id: reply.id, model: "gemini:gemini-3.8-flash" });
		expect(inspected.total_tokens).toBe(
			inspected.messages.reduce((sum: number, m: { tokens: number }) => sum + m.tokens, 0),
		);
		const parts = inspected.parts.map((p: { part: string }) => p.part);
		for (const part of ["system", "summary", "pinned", "history", "post_history"]) expect(parts).toContain(part);
		for (const p of inspected.parts) expect(p.tokens).toBeGreaterThan(0);
		await chat.socket.close();
	});

	it("should keep the prompts of the last few replies only, one per variant, a continue replacing its reply's", async () => {
		const chat = await openChat();
		const prompt = (id: string) =>
			call("GET", `/sessions/${chat.sessionId}/messages/${id}/prompt`, { token: chat.token });
		fake.script([{ text: ["One."] }, { text: ["Two."] }]);
		const first = await say(chat.socket, "First line");
		chat.socket.send({ type: "regenerate", reply_to: first.echo.id });
		const variant = await chat.socket.next((f) => isReply(f) && f.reply_to === first.echo.id && f.variant === 1);
		const firstPrompt = await inspect(chat.token, chat.sessionId, first.reply.id as string);
		const variantPrompt = await inspect(chat.token, chat.sessionId, variant.id as string);
		expect(asSent(variantPrompt.messages)).toEqual(received(fake.requests[1]));
		expect(firstPrompt.messages).toEqual(variantPrompt.messages);

		fake.script([{ text: [" And more."] }]);
		chat.socket.send({ type: "continue" });
		await chat.socket.next((f) => f.type === "ai" && f.id === variant.id && f.continued === true);
		await vi.waitFor(async () => {
			const continued = (await prompt(variant.id as string)).body;
			expect(continued.messages.at(-1)).toMatchObject({ role: "system", content: CONTINUE_INSTRUCTION });
			expect(asSent(continued.messages)).toEqual(received(fake.requests[2]));
		});

		// A user message has no prompt; nor does a reply once newer replies pushed it out.
		const notFound = await prompt(first.echo.id as string);
		expect(notFound.status).toBe(404);
		expect(notFound.body.code).toBe("PROMPT_NOT_FOUND");
		fake.script([{ text: ["Three."] }, { text: ["Four."] }]);
		const third = await say(chat.socket, "Third line");
		await inspect(chat.token, chat.sessionId, third.reply.id as string);
		const fourth = await say(chat.socket, "Fourth line");
		await inspect(chat.token, chat.sessionId, fourth.reply.id as string);
		const replies = [first.reply.id, variant.id, third.reply.id, fourth.reply.id] as string[];
		const kept = (await Promise.all(replies.map(prompt))).filter((res) => res.status === 200);
		expect(kept).toHaveLength(KEPT_PROMPTS);
		const pushedOut = await prompt(first.reply.id as string);
		expect(pushedOut.status).toBe(404);
		expect(pushedOut.body.code).toBe("PROMPT_NOT_FOUND");
		expect((await prompt(variant.id as string)).status).toBe(200);
		await chat.socket.close();
	});

	it("should not show the prompt of a reply rewound before it was stored", async () => {
		const chat = await openChat();
		fake.script([{ text: ["Slow ", "words ", "here."], delayMs: 150 }]);
		chat.socket.send({ content: "Rewind me" });
		const echo = await chat.socket.next((f) => f.type === "echo");
		await chat.socket.next((f) => f.type === "ai.delta");
		const rewound = await call("DELETE", `/sessions/${chat.sessionId}/messages/${echo.id}`, { token: chat.token });
		expect(rewound.status).toBe(204);
		await new Promise((r) => setTimeout(r, 1500));
		// The consumer made (and may hold) the prompt of the reply it was writing; the reply itself is gone.
		const shown = await call("GET", `/sessions/${chat.sessionId}/messages/${replyId(echo.id as string, 0)}/prompt`, {
			token: chat.token,
		});
		expect(shown.status).toBe(404);
		expect(shown.body.code).toBe("PROMPT_NOT_FOUND");
		await chat.socket.close();
	});
});
