/**
 * The whole chat flow with a real LangChain Gemini client talking to a fake Gemini server (the real REST wire format):
 * streamed deltas, the prompt actually sent under a small token budget, retries, failure and stop.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { ChatStore } from "../../src/adapters/chat-store.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { AiConsumerThis } from "../../services/ai-consumer.service.js";
import { startFakeGemini, type FakeServer } from "../support/fake-gemini.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const API_KEY = "fake-gemini-key";
let fake: FakeServer;
let broker: ServiceBroker;
let store: ChatStore;
let wsBase = "";
let characterId = "";

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

async function login() {
	const username = uniqueName("llm");
	await broker.call("auth.register", { username, name: "LLM User", password: "password123" });
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { username, token: access_token };
}

async function open(token: string, extra = "") {
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${token}${extra}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string, hello };
}

beforeAll(async () => {
	fake = await startFakeGemini({ apiKey: API_KEY });
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("llm"),
			GOOGLE_API_KEY: API_KEY,
			GEMINI_BASE_URL: fake.url,
			LLM_MAX_RETRIES: "2",
			LLM_RETRY_DELAY_MS: "5",
			CHAT_PROMPT_TOKENS: "900",
			CHAT_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	store = new ChatStore((broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize);
	characterId = await createTestCharacter(broker);
	await (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize.query(
		`UPDATE ai_characters SET mes_example = $2, post_history_instructions = $3 WHERE id = $1`,
		{ bind: [characterId, "<START>\n{{user}}: Sing!\n{{char}}: Tra-la, {{user}}!", "Answer {{user}} in rhyme."] },
	);
	await broker.cacher?.clean("characters.**");
	// The key and model are checked at start (one GET), before any test counts requests.
	await vi.waitFor(() => expect(consumer().llmStatus.summary).toBe("ok"));
}, 60_000);

const consumer = () => broker.getLocalService("ai-consumer") as unknown as AiConsumerThis;

afterAll(async () => {
	await broker?.stop();
	await fake?.stop();
});

beforeEach(() => fake.reset());

describe("chat with Gemini (fake server, real client)", () => {
	it("should name the model, stream the provider's chunks in order and store the final reply", async () => {
		const { token } = await login();
		const { socket, hello } = await open(token);
		expect(hello.model).toBe("gemini:gemini-3.8-flash");
		fake.script([{ text: ["Hark", ", a ", "traveller", " comes!"], delayMs: 20 }]);
		socket.send({ content: "Hello bard" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		expect(reply.content).toBe("Hark, a traveller comes!");
		expect(socket.ofType("ai.delta").map((d) => d.delta)).toEqual(["Hark", ", a ", "traveller", " comes!"]);
		const stored = await store.getMessage(reply.id as string);
		expect(stored).toMatchObject({ model: "gemini:gemini-3.8-flash", content: "Hark, a traveller comes!" });
		expect(fake.requests[0].headers["x-goog-api-key"]).toBe(API_KEY);
		await socket.close();
	});

	it("should send the system prompt, examples, summary and the newest history that fits, in order", async () => {
		const { username, token } = await login();
		const { socket, sessionId } = await open(token);
		// A long chat: twelve turns of ~120 tokens each cannot all fit a 900-token prompt.
		for (let i = 0; i < 12; i++) {
			const row = await store.insertUserMessage({
				session_id: sessionId,
				username,
				character_id: characterId,
				content: `old turn ${i} ${"la ".repeat(110)}`,
			});
			await store.insertAiMessage({
				id: crypto.randomUUID(),
				reply_to: row.id,
				session_id: sessionId,
				username,
				character_id: characterId,
				content: `old answer ${i}`,
				model: "test",
			});
		}
		await store.updateSummary(sessionId, "The bard and the traveller met at an inn.", "1");
		fake.script([{ text: ["Fine rhymes."] }]);
		socket.send({ content: "What now?" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next((f) => isReply(f) && f.reply_to === echo.id);

		const body = fake.requests[0].body;
		const system: string = body.systemInstruction.parts.map((p: { text: string }) => p.text).join("");
		expect(system).toContain("You are a cheerful travelling bard");
		expect(system).toContain("Summary of the conversation so far: The bard and the traveller met at an inn.");
		const contents: { role: string; parts: { text: string }[] }[] = body.contents;
		const texts = contents.map((c) => c.parts.map((p) => p.text).join(""));
		// Newest history kept, oldest dropped, user's message last with the post-history instructions folded in.
		expect(texts.some((t) => t.startsWith("old turn 0 "))).toBe(false);
		expect(texts.some((t) => t.startsWith("old turn 11 "))).toBe(true);
		// {{user}} is the display name given at sign-up, not the login.
		expect(texts.at(-1)).toBe("What now?\n\n[Answer LLM User in rhyme.]");
		expect(system).toContain("The user is called LLM User.");
		expect(system).not.toContain(username);
		expect(contents.at(-1)?.role).toBe("user");
		const order = texts.filter((t) => t.startsWith("old turn")).map((t) => Number(t.split(" ")[2]));
		expect(order).toEqual([...order].sort((a, b) => a - b));
		await socket.close();
	});

	it("should store the model's thinking tokens as output, as Google bills them", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script([{ text: ["Hm, ", "yes."], usage: { input: 120, output: 3, thoughts: 57 } }]);
		socket.send({ content: "Think first" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		const [rows] = await (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize.query(
			`SELECT input_tokens, output_tokens FROM messages WHERE id = $1`,
			{
				bind: [reply.id],
			},
		);
		expect(rows).toEqual([{ input_tokens: 120, output_tokens: 60 }]);
		await socket.close();
	});

	it("should retry a 429 and then answer", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script([{ status: 429 }, { text: ["Patience ", "rewarded."] }]);
		socket.send({ content: "Busy?" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		expect(reply.content).toBe("Patience rewarded.");
		expect(fake.requests).toHaveLength(2);
		await socket.close();
	});

	it("should give up with ai_unavailable after the bounded retries, storing nothing", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script(Array.from({ length: 10 }, () => ({ status: 500 })));
		socket.send({ content: "Anyone home?" });
		const echo = await socket.next((f) => f.type === "echo");
		const error = await socket.next((f) => f.type === "error");
		expect(error).toMatchObject({ code: "ai_unavailable", reply_to: echo.id });
		expect(fake.requests).toHaveLength(3); // LLM_MAX_RETRIES=2: one try, two retries
		await new Promise((r) => setTimeout(r, 300));
		const [rows] = await (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize.query(
			`SELECT reply_status, (SELECT count(*)::int FROM messages r WHERE r.reply_to = m.id) AS replies FROM messages m WHERE id = $1`,
			{ bind: [echo.id] },
		);
		expect(rows).toEqual([{ reply_status: "failed", replies: 0 }]);
		await socket.close();
	});

	it("should report a refused key once as ai_misconfigured, in Google's words, and show it in the model status", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script([{ status: 400, message: "API key not valid. Please pass a valid API key." }]);
		socket.send({ content: "Hello?" });
		const echo = await socket.next((f) => f.type === "echo");
		const error = await socket.next((f) => f.type === "error");
		expect(error).toMatchObject({
			code: "ai_misconfigured",
			reply_to: echo.id,
			message: expect.stringContaining("operator must fix the model configuration"),
		});
		expect(fake.requests).toHaveLength(1); // no retry: waiting cannot fix a key
		expect(consumer().llmStatus.summary).toBe("misconfigured: API key not valid. Please pass a valid API key.");
		// Fixed (here: the fake answers again): the next reply clears it.
		socket.send({ content: "Better now?" });
		const next = await socket.next((f) => f.type === "echo" && f.id !== echo.id);
		await socket.next((f) => isReply(f) && f.reply_to === next.id);
		expect(consumer().llmStatus.summary).toBe("ok");
		await socket.close();
	});

	it("should send an error frame for every failed attempt at the same reply, regenerations included", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script(Array.from({ length: 9 }, () => ({ status: 500 })));
		socket.send({ content: "Anyone home?" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next((f) => f.type === "error");
		socket.send({ type: "regenerate", reply_to: echo.id });
		await socket.next(() => socket.ofType("error").length >= 2);
		socket.send({ type: "regenerate", reply_to: echo.id });
		await socket.next(() => socket.ofType("error").length >= 3);
		expect(socket.ofType("error").map((e) => [e.code, e.reply_to])).toEqual(
			Array.from({ length: 3 }, () => ["ai_unavailable", echo.id]),
		);
		expect(fake.requests).toHaveLength(9);
		await socket.close();
	});

	it("should clamp a character's model settings to the operator's bounds and keep to the configured model", async () => {
		const greedy = await createTestCharacter(broker);
		await (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize.query(
			`UPDATE ai_characters SET llm_model = 'evil-model-xyz', max_output_tokens = 65536, temperature = 2 WHERE id = $1`,
			{ bind: [greedy] },
		);
		await broker.cacher?.clean("characters.**");
		const { token } = await login();
		const socket = await ChatSocket.open(`${wsBase}/ws/${greedy}?token=${token}`);
		await socket.next((f) => f.type === "connection");
		fake.script([{ text: ["Within bounds."] }]);
		socket.send({ content: "Spare no tokens" });
		const echo = await socket.next((f) => f.type === "echo");
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		expect(fake.requests[0].path).toBe("/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse");
		expect(fake.requests[0].body.generationConfig).toMatchObject({ maxOutputTokens: 2048, temperature: 1.5 });
		expect(await store.getMessage(reply.id as string)).toMatchObject({ model: "gemini:gemini-3.8-flash" });
		await socket.close();
	});

	it("should stop a streaming reply: the HTTP request is aborted and the partial text kept", async () => {
		const { token } = await login();
		const { socket } = await open(token);
		fake.script([{ text: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 40 }]);
		socket.send({ content: "Tell me everything" });
		const echo = await socket.next((f) => f.type === "echo");
		await socket.next(() => socket.ofType("ai.delta").length >= 3);
		socket.send({ type: "stop" });
		const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
		expect(reply.stopped).toBe(true);
		expect((reply.content as string).startsWith("w0 w1 w2 ")).toBe(true);
		expect((reply.content as string).split(" ").filter(Boolean).length).toBeLessThan(50);
		await new Promise((r) => setTimeout(r, 100));
		expect(fake.requests[0].endedBy).toBe("client");
		await socket.close();
	});
});
