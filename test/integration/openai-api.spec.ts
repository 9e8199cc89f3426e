/**
 * The /v1 OpenAI-compatible API (issue 18), driven with the official `openai` client against one embedded broker whose
 * model is a fake OpenAI-compatible provider, so each test reads what cameo sent it: the character's prompt, then the
 * client's messages. Models list, completions streamed and not (usage), stop sequences, the operator's bounds, errors
 * in OpenAI's form (401, 404 incl. another user's private character, 400, 429 with Retry-After, 503), and a client
 * that goes away mid-stream (the provider's request ends).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { signUp, testConfig, uniqueName, type SignedUp } from "../support/config.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { failure, readThenAbort } from "../support/openai-client.js";

const ADMIN = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };

let fake: FakeServer;
let broker: ServiceBroker;
let alice: SignedUp;
let bob: SignedUp;
/** Alice's private character, and Bob's. */
let own: { id: string; slug: string; name: string };
let bobsPrivate: { id: string; slug: string };

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gatewayOrigin(broker)}/v1`, maxRetries: 0 });
const completionsSent = () => fake.requests.filter((r) => r.path === "/v1/chat/completions");
const lastSent = () => completionsSent().at(-1)!.body;

async function createCharacter(user: SignedUp, fields: object) {
	return broker.call<{ id: string; slug: string; name: string }, object>(
		"characters.create",
		{ system_prompt: "You are a lighthouse keeper who speaks in riddles.", ...fields },
		{ meta: user.meta },
	);
}

beforeAll(async () => {
	fake = await startFakeOpenAI({ apiKey: "sk-upstream-0123456789" });
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("v1"),
			LLM_PROVIDER: "openai",
			OPENAI_BASE_URL: `${fake.url}/v1`,
			OPENAI_MODEL: "llama3",
			OPENAI_API_KEY: "sk-upstream-0123456789",
			LLM_MAX_RETRIES: "1",
			LLM_RETRY_DELAY_MS: "5",
			LLM_MAX_TEMPERATURE: "1",
			LLM_MAX_OUTPUT_TOKENS_LIMIT: "300",
			CHAT_USER_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	await broker.start();
	[alice, bob] = await Promise.all([signUp(broker, "v1a", "Alice"), signUp(broker, "v1b", "Bob")]);
	own = await createCharacter(alice, {
		name: `Keeper ${uniqueName("k")}`,
		is_public: false,
		post_history_instructions: "Stay in character.",
	});
	bobsPrivate = await createCharacter(bob, { name: `Secret ${uniqueName("s")}`, is_public: false });
}, 60_000);

afterAll(async () => {
	await broker?.stop();
	await fake?.stop();
});

beforeEach(() => fake.reset());

describe("GET /v1/models", () => {
	it("should list the characters the caller sees by slug, not another user's private ones", async () => {
		const ids = [];
		for await (const model of client(alice.token).models.list()) ids.push(model);
		expect(ids).toContainEqual({ id: own.slug, object: "model", created: expect.any(Number), owned_by: "you" });
		expect(ids.map((m) => m.id)).not.toContain(bobsPrivate.slug);
		expect(ids.map((m) => m.id)).not.toContain(bobsPrivate.id);
		expect(await client(alice.token).models.retrieve(own.slug)).toMatchObject({ id: own.slug, object: "model" });
	});
});

describe("a personal API key", () => {
	it("should work as the key, and be refused once revoked", async () => {
		const headers = { Authorization: `Bearer ${alice.token}`, "Content-Type": "application/json" };
		const made = await fetch(`${gatewayOrigin(broker)}/me/api-keys`, {
			method: "POST",
			headers,
			body: JSON.stringify({ name: "sillytavern" }),
		});
		expect(made.status).toBe(201);
		const { id, key } = (await made.json()) as { id: string; key: string };
		fake.script([{ text: ["Hello, keyholder."] }]);
		const completion = await client(key).chat.completions.create({
			model: own.slug,
			messages: [{ role: "user", content: "Hi" }],
		});
		expect(completion.choices[0].message.content).toBe("Hello, keyholder.");
		await fetch(`${gatewayOrigin(broker)}/me/api-keys/${id}`, { method: "DELETE", headers });
		const err = await failure(client(key).models.list());
		expect(err.status).toBe(401);
		expect(err.error).toMatchObject({ code: "invalid_api_key" });
	});
});

describe("POST /v1/chat/completions", () => {
	it("should answer as the character with usage, the character's prompt first, then the client's messages", async () => {
		fake.script([{ text: ["The tide ", "keeps secrets."], usage: { input: 42, output: 5 } }]);
		const completion = await client(alice.token).chat.completions.create({
			model: own.slug,
			messages: [
				{ role: "system", content: "Answer in one sentence." },
				{ role: "user", content: "Who are you?" },
			],
		});
		expect(completion).toMatchObject({
			object: "chat.completion",
			model: own.slug,
			choices: [
				{ index: 0, message: { role: "assistant", content: "The tide keeps secrets." }, finish_reason: "stop" },
			],
			usage: { prompt_tokens: 42, completion_tokens: 5, total_tokens: 47 },
		});
		expect(completion.id).toMatch(/^chatcmpl-/);
		const sent = lastSent().messages as { role: string; content: string }[];
		expect(sent[0].role).toBe("system");
		expect(sent[0].content).toContain("You are a lighthouse keeper who speaks in riddles.");
		expect(sent[0].content).toContain("The user is called Alice.");
		expect(sent[0].content.endsWith("Answer in one sentence.")).toBe(true);
		expect(sent.slice(1)).toEqual([
			{ role: "user", content: "Who are you?" },
			{ role: "system", content: "Stay in character." },
		]);
	});

	it("should stream chunks ending with a usage chunk when include_usage is set, the model named by its UUID", async () => {
		fake.script([{ text: ["Wind ", "and ", "salt."], usage: { input: 30, output: 3 } }]);
		const stream = await client(alice.token).chat.completions.create({
			model: own.id,
			messages: [
				{
					role: "user",
					content: [
						{ type: "text", text: "Tell me" },
						{ type: "text", text: "a riddle" },
					],
				},
			],
			stream: true,
			stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const chunk of stream) chunks.push(chunk);
		const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
		expect(text).toBe("Wind and salt.");
		expect(chunks[0].choices[0].delta.role).toBe("assistant");
		expect(chunks.at(-2)!.choices[0].finish_reason).toBe("stop");
		expect(chunks.at(-1)).toMatchObject({
			object: "chat.completion.chunk",
			choices: [],
			usage: { prompt_tokens: 30, completion_tokens: 3, total_tokens: 33 },
		});
		expect((lastSent().messages as { content: string }[]).at(-2)?.content).toBe("Tell me\na riddle");
	});

	it("should cut the reply at a stop sequence and keep sampling within the operator's bounds", async () => {
		fake.script([{ text: ["Ahoy.\nUs", "er: more"] }]);
		const completion = await client(alice.token).chat.completions.create({
			model: own.slug,
			messages: [{ role: "user", content: "Hi" }],
			stop: ["\nUser:"],
			temperature: 2,
			max_tokens: 5000,
			top_p: 0.5,
		});
		expect(completion.choices[0].message.content).toBe("Ahoy.");
		expect(lastSent()).toMatchObject({ temperature: 1, max_tokens: 300, top_p: 0.5 });
	});

	it("should stream the cut too, holding back what may start a stop sequence", async () => {
		fake.script([{ text: ["Ahoy.", "\nUs", "er: more"] }]);
		const stream = await client(alice.token).chat.completions.create({
			model: own.slug,
			messages: [{ role: "user", content: "Hi" }],
			stop: "\nUser:",
			stream: true,
		});
		let text = "";
		for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
		expect(text).toBe("Ahoy.");
	});
});

describe("errors in OpenAI's form", () => {
	it("should refuse a bad key with 401 invalid_api_key", async () => {
		const err = await failure(client("sk-not-a-key").models.list());
		expect(err.status).toBe(401);
		expect(err.error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
	});

	it("should answer 404 model_not_found for an unknown model and another user's private character", async () => {
		for (const model of ["no-such-character", bobsPrivate.id, bobsPrivate.slug]) {
			const err = await failure(
				client(alice.token).chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }),
			);
			expect(err.status).toBe(404);
			expect(err.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found", param: "model" });
		}
		expect((await failure(client(alice.token).models.retrieve(bobsPrivate.id))).status).toBe(404);
		expect(completionsSent()).toHaveLength(0);
	});

	it("should refuse a bad request with 400 naming the field", async () => {
		const err = await failure(
			client(alice.token).chat.completions.create({
				model: own.slug,
				messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }],
			}),
		);
		expect(err.status).toBe(400);
		expect(err.error).toMatchObject({
			type: "invalid_request_error",
			code: "unsupported_content",
			param: "messages[0].content[0]",
		});
	});

	it("should hold a user to their message limit with 429 and Retry-After", async () => {
		const carol = await signUp(broker, "v1c");
		await broker.call("admin.updateUser", { username: carol.username, messages_per_minute: 1 }, { meta: ADMIN });
		const ask = () =>
			client(carol.token).chat.completions.create({ model: own.id, messages: [{ role: "user", content: "hi" }] });
		// Alice's private character: a 404, which counts no message.
		expect((await failure(ask())).status).toBe(404);
		const visible = await createCharacter(carol, { name: `Carol's ${uniqueName("c")}` });
		const askVisible = () =>
			client(carol.token).chat.completions.create({ model: visible.slug, messages: [{ role: "user", content: "hi" }] });
		await askVisible();
		const err = await failure(askVisible());
		expect(err.status).toBe(429);
		expect(Number(err.headers?.get("retry-after"))).toBeGreaterThan(0);
		expect(err.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
	});

	it("should count a completion's tokens against the daily quota, then refuse with 429", async () => {
		const dave = await signUp(broker, "v1d");
		await broker.call("admin.updateUser", { username: dave.username, tokens_per_day: 50 }, { meta: ADMIN });
		const visible = await createCharacter(dave, { name: `Dave's ${uniqueName("d")}` });
		fake.script([{ text: ["ok"], usage: { input: 60, output: 1 } }]);
		const ask = () =>
			client(dave.token).chat.completions.create({ model: visible.slug, messages: [{ role: "user", content: "hi" }] });
		await ask();
		const err = await failure(ask());
		expect(err.status).toBe(429);
		expect(Number(err.headers?.get("retry-after"))).toBeGreaterThan(0);
		expect(err.error).toMatchObject({ type: "insufficient_quota", code: "token_quota_exceeded" });
	});

	it("should answer 503 when the provider fails, streamed or not", async () => {
		fake.script([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
		const ask = (stream: boolean) =>
			client(alice.token).chat.completions.create({
				model: own.slug,
				messages: [{ role: "user", content: "hi" }],
				stream,
			});
		for (const stream of [false, true]) {
			const err = await failure(ask(stream));
			expect(err.status).toBe(503);
			expect(err.error).toMatchObject({ type: "server_error", code: "provider_unavailable" });
		}
	});

	it("should keep answering 503 through a provider's outage, past the circuit breaker's threshold", async () => {
		fake.script(Array.from({ length: 60 }, () => ({ status: 500 })));
		for (let i = 0; i < 25; i++) {
			const err = await failure(
				client(alice.token).chat.completions.create({ model: own.slug, messages: [{ role: "user", content: "hi" }] }),
			);
			expect(err.status, `request ${i}`).toBe(503);
		}
		fake.reset();
		const back = await client(alice.token).chat.completions.create({
			model: own.slug,
			messages: [{ role: "user", content: "hi" }],
		});
		expect(back.choices[0].message.content).toBe("ok");
	});

	it("should send a provider failing mid-stream as an error event, after what was written", async () => {
		fake.script([{ text: ["Once ", "upon ", "a time"], dropAfter: 2, delayMs: 50 }, { status: 500 }, { status: 500 }]);
		const stream = await client(alice.token).chat.completions.create({
			model: own.slug,
			messages: [{ role: "user", content: "A story" }],
			stream: true,
		});
		let text = "";
		const err = await failure(
			(async () => {
				for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
			})(),
		);
		expect(text).toBe("Once upon ");
		expect(err.error).toMatchObject({ type: "server_error", code: "provider_unavailable" });
	});

	it("should keep {detail, code} errors outside /v1", async () => {
		const res = await fetch(`${gatewayOrigin(broker)}/characters/id/${bobsPrivate.id}`, {
			headers: { Authorization: `Bearer ${alice.token}` },
		});
		expect(res.status).toBe(404);
		expect(await res.json()).toMatchObject({ code: "CHARACTER_NOT_FOUND" });
	});
});

describe("a client that goes away", () => {
	it("should end the provider's request when a stream is aborted", async () => {
		fake.script([{ text: Array.from({ length: 50 }, (_, i) => `word${i} `), delayMs: 100 }]);
		const controller = new AbortController();
		const stream = await client(alice.token).chat.completions.create(
			{ model: own.slug, messages: [{ role: "user", content: "Talk for a while" }], stream: true },
			{ signal: controller.signal },
		);
		const words = await readThenAbort(stream, controller, 3);
		expect(words.length).toBeLessThan(10);
		await eventually(() => completionsSent()[0]?.endedBy === "client", 5000, "the provider's request to end");
	});

	it("should end the provider's request when a non-streamed request is abandoned", async () => {
		fake.script([{ text: Array.from({ length: 50 }, (_, i) => `word${i} `), delayMs: 100 }]);
		const controller = new AbortController();
		const call = client(alice.token).chat.completions.create(
			{ model: own.slug, messages: [{ role: "user", content: "Talk for a while" }] },
			{ signal: controller.signal },
		);
		await eventually(() => completionsSent().length === 1, 5000, "the provider to be asked");
		controller.abort();
		await expect(call).rejects.toThrow();
		await eventually(() => completionsSent()[0]?.endedBy === "client", 5000, "the provider's request to end");
	});
});
