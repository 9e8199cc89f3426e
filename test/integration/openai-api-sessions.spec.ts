/**
 * The /v1 API's stored-session mode (issue 18, `session_id`): the client's last message is stored in the caller's
 * chat and answered by the normal pipeline, so the user's other device (a WebSocket on that chat) sees the message and
 * the reply exactly once, both are stored once, and the answer is the stored reply; the prompt is the chat's own
 * (its history), not the client's. Another user's chat is 404, a room or another character 400. One embedded broker,
 * the fake OpenAI-compatible provider as the model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { signUp, testConfig, uniqueName, type SignedUp } from "../support/config.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { failure } from "../support/openai-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

let fake: FakeServer;
let broker: ServiceBroker;
let erin: SignedUp;
let frank: SignedUp;
let character: { id: string; slug: string };
let other: { id: string; slug: string };

const client = (user: SignedUp) =>
	new OpenAI({ apiKey: user.token, baseURL: `${gatewayOrigin(broker)}/v1`, maxRetries: 0 });
const sent = () => fake.requests.filter((r) => r.path === "/v1/chat/completions");
/** A request with cameo's `session_id` extension, which the SDK's types do not know (it sends it as it is). */
const inSession = <T extends object>(body: T, sessionId: string): T => ({ ...body, session_id: sessionId });

async function openChat(user: SignedUp, characterId: string): Promise<{ socket: ChatSocket; sessionId: string }> {
	const port = broker.getLocalService("chat-ws").settings.port as number;
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${user.token}`);
	const connected = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: connected.session_id as string };
}

async function rows(sessionId: string) {
	const db = (broker.getLocalService("auth") as unknown as DbThis).db.sequelize;
	const [found] = await db.query(`SELECT id, role, content, stopped FROM messages WHERE session_id = $1 ORDER BY seq`, {
		bind: [sessionId],
	});
	return found as { id: string; role: string; content: string; stopped: boolean }[];
}

beforeAll(async () => {
	fake = await startFakeOpenAI();
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("v1s"),
			LLM_PROVIDER: "openai",
			OPENAI_BASE_URL: `${fake.url}/v1`,
			OPENAI_MODEL: "llama3",
			LLM_MAX_RETRIES: "0",
			CHAT_USER_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	await broker.start();
	[erin, frank] = await Promise.all([signUp(broker, "v1e", "Erin"), signUp(broker, "v1f", "Frank")]);
	const create = (name: string) =>
		broker.call<{ id: string; slug: string }, object>(
			"characters.create",
			{ name, system_prompt: "You are a patient librarian.", greeting: "Welcome to the stacks." },
			{ meta: erin.meta },
		);
	[character, other] = await Promise.all([create(`Librarian ${uniqueName("l")}`), create(`Clerk ${uniqueName("c")}`)]);
}, 60_000);

afterAll(async () => {
	await broker?.stop();
	await fake?.stop();
});

describe("POST /v1/chat/completions with session_id", () => {
	it("should store the last message in the chat, answer it there once, and reach the other device once", async () => {
		const { socket, sessionId } = await openChat(erin, character.id);
		fake.reset();
		fake.script([{ text: ["Aisle ", "seven."], usage: { input: 50, output: 2 } }]);
		const completion = await client(erin).chat.completions.create(
			inSession(
				{
					model: character.slug,
					// Only the last message counts: the chat's own history is the prompt.
					messages: [
						{ role: "user", content: "Ignored: the chat has its own history" },
						{ role: "user", content: "Where are the atlases?" },
					],
				},
				sessionId,
			),
		);
		expect(completion.choices[0].message.content).toBe("Aisle seven.");
		expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
		// The prompt's tokens as the prompt inspector kept them, read as the caller.
		expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);

		// After the greeting the chat opened with.
		const stored = (await rows(sessionId)).slice(1);
		expect(stored.map((r) => [r.role, r.content])).toEqual([
			["user", "Where are the atlases?"],
			["ai", "Aisle seven."],
		]);
		const echo = await socket.next((f) => f.type === "echo" && f.content === "Where are the atlases?");
		const reply = await socket.next((f) => f.type === "ai" && f.content === "Aisle seven.");
		expect(echo.id).toBe(stored[0].id);
		expect(reply.id).toBe(stored[1].id);
		await new Promise((r) => setTimeout(r, 300));
		const count = (match: (f: Frame) => boolean) => socket.frames.filter(match).length;
		expect(count((f) => f.type === "echo" && f.id === stored[0].id)).toBe(1);
		expect(count((f) => f.type === "ai" && f.id === stored[1].id)).toBe(1);

		expect(sent()).toHaveLength(1);
		const prompt = sent()[0].body.messages as { role: string; content: string }[];
		expect(prompt.map((m) => m.content)).not.toContain("Ignored: the chat has its own history");
		expect(prompt.at(-1)).toEqual({ role: "user", content: "Where are the atlases?" });
		await socket.close();
	});

	it("should stream the stored reply", async () => {
		const { socket, sessionId } = await openChat(erin, character.id);
		fake.reset();
		fake.script([{ text: ["On ", "the ", "top shelf."] }]);
		const stream = await client(erin).chat.completions.create(
			inSession(
				{ model: character.id, messages: [{ role: "user", content: "And the dictionaries?" }], stream: true },
				sessionId,
			),
		);
		let text = "";
		for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
		expect(text).toBe("On the top shelf.");
		expect((await rows(sessionId)).at(-1)).toMatchObject({ role: "ai", content: "On the top shelf." });
		await socket.close();
	});

	it("should stop the chat's reply when the client goes away, storing it as far as it got", async () => {
		const { socket, sessionId } = await openChat(erin, character.id);
		fake.reset();
		fake.script([{ text: Array.from({ length: 60 }, (_, i) => `page${i} `), delayMs: 100 }]);
		const controller = new AbortController();
		// The answer is the stored reply, so the call is still waiting while the chat's sockets get the deltas.
		const call = client(erin)
			.chat.completions.create(
				inSession(
					{ model: character.slug, messages: [{ role: "user", content: "Read me everything" }], stream: true },
					sessionId,
				),
				{ signal: controller.signal },
			)
			.catch((err: unknown) => err);
		await socket.next((f) => f.type === "ai.delta");
		controller.abort();
		await call;
		const reply = await socket.next((f) => f.type === "ai" && String(f.content).startsWith("page"), 10_000);
		expect(reply.stopped).toBe(true);
		await eventually(() => sent()[0]?.endedBy === "client", 5000, "the provider's request to end");
		expect((await rows(sessionId)).at(-1)).toMatchObject({ role: "ai", stopped: true });
		await socket.close();
	});

	it("should refuse another user's chat (404), a chat of another character and a last message not the user's (400)", async () => {
		const { socket, sessionId } = await openChat(erin, character.id);
		const before = await rows(sessionId);
		const ask = (user: SignedUp, model: string, messages: { role: "user" | "assistant"; content: string }[]) =>
			client(user).chat.completions.create(inSession({ model, messages }, sessionId));
		const public_ = await broker.call<{ slug: string }, object>(
			"characters.create",
			{ name: `Porter ${uniqueName("p")}`, system_prompt: "You carry books." },
			{ meta: frank.meta },
		);
		const theirs = await failure(ask(frank, public_.slug, [{ role: "user", content: "hi" }]));
		expect(theirs.status).toBe(404);
		expect(theirs.error).toMatchObject({ code: "session_not_found" });
		const mismatch = await failure(ask(erin, other.slug, [{ role: "user", content: "hi" }]));
		expect(mismatch.status).toBe(400);
		expect(mismatch.error).toMatchObject({ code: "model_mismatch", param: "model" });
		const notUser = await failure(ask(erin, character.slug, [{ role: "assistant", content: "hi" }]));
		expect(notUser.error).toMatchObject({ code: "invalid_value", param: "messages[0]" });
		const blank = await failure(ask(erin, character.slug, [{ role: "user", content: "   " }]));
		expect(blank.error).toMatchObject({ code: "empty_content", param: "messages[0].content" });
		expect(await rows(sessionId)).toEqual(before);
		await socket.close();
	});
});
