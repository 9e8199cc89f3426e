/**
 * The real LangChain clients (ChatGoogleGenerativeAI, ChatOpenAI) against fake providers that speak the real wire
 * formats: what is sent, how replies stream, and how failures, timeouts and aborts end.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createChatModel } from "../../src/adapters/llm/factory.js";
import {
	LlmUnavailableError,
	type ChatMessage,
	type ChatModel,
	type ChatStream,
	type StreamOptions,
} from "../../src/domain/chat-model.js";
import { startFakeGemini } from "../support/fake-gemini.js";
import { startFakeOpenAI } from "../support/fake-openai.js";
import type { FakeServer } from "../support/fake-llm-server.js";

const GEMINI_KEY = "AIza-test-gemini-key-0123456789";
const OPENAI_KEY = "sk-test-openai-key-0123456789";
const MAX_RETRIES = 2;
// Small backoff and deadline keep the suite fast; the logic is the same at production values.
const FAST = { LLM_MAX_RETRIES: String(MAX_RETRIES), LLM_RETRY_DELAY_MS: "5", LLM_TIMEOUT_MS: "3000" };

const prompt: ChatMessage[] = [
	{ role: "system", content: "You are Agnes Thorne.\nYou keep the Skerry Light." },
	{ role: "assistant", content: "Evening, and mind the gulls." },
	{ role: "user", content: "Will it storm tonight?" },
];

const REPLY = ["Aye, ", "the glass ", "is falling ", "fast."];

async function collect(stream: ChatStream): Promise<string[]> {
	const chunks: string[] = [];
	for await (const chunk of stream) chunks.push(chunk);
	return chunks;
}

async function failure(model: ChatModel, opts?: StreamOptions): Promise<LlmUnavailableError> {
	const err = await collect(model.stream(prompt, opts)).then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(err).toBeInstanceOf(LlmUnavailableError);
	return err as LlmUnavailableError;
}

/** Reads until `after` chunks have arrived, then aborts; resolves with the chunks and the rejection. */
async function abortAfter(model: ChatModel, after: number): Promise<{ chunks: string[]; error: unknown }> {
	const controller = new AbortController();
	const chunks: string[] = [];
	try {
		for await (const chunk of model.stream(prompt, { signal: controller.signal })) {
			chunks.push(chunk);
			if (chunks.length === after) controller.abort();
		}
	} catch (error) {
		return { chunks, error };
	}
	return { chunks, error: undefined };
}

describe("Gemini through ChatGoogleGenerativeAI", () => {
	let fake: FakeServer;
	let model: ChatModel;
	const gemini = (env: Record<string, string> = {}) =>
		createChatModel(loadConfig({ GOOGLE_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.url, ...FAST, ...env }));

	beforeAll(async () => {
		fake = await startFakeGemini({ apiKey: GEMINI_KEY });
		model = gemini();
	});
	afterAll(() => fake.stop());
	beforeEach(() => fake.reset());

	it("should stream the reply in order, chunk by chunk", async () => {
		fake.script([{ text: REPLY, delayMs: 5 }]);
		const stream = model.stream(prompt);
		expect(await collect(stream)).toEqual(REPLY);
		expect(model.name).toBe("gemini:gemini-3.8-flash");
		expect(stream.model).toBe("gemini:gemini-3.8-flash");
		expect(fake.requests).toHaveLength(1);
	});

	it("should send the system instruction, then the conversation with Gemini's roles, to the streaming endpoint", async () => {
		await collect(model.stream(prompt));
		const [request] = fake.requests;
		expect(request.path).toBe("/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse");
		expect(request.headers["x-goog-api-key"]).toBe(GEMINI_KEY);
		expect(request.body.systemInstruction.parts).toEqual([{ text: prompt[0].content }]);
		expect(request.body.contents).toEqual([
			{ role: "model", parts: [{ text: prompt[1].content }] },
			{ role: "user", parts: [{ text: prompt[2].content }] },
		]);
		// Gemini 3.x thinks by default; a chat turn asks for the lowest level, and for a level only (both is a 400).
		expect(request.body.generationConfig).toMatchObject({
			temperature: 0.8,
			maxOutputTokens: 512,
			thinkingConfig: { thinkingLevel: "LOW" },
		});
		expect(request.body.generationConfig.thinkingConfig).not.toHaveProperty("thinkingBudget");
	});

	it("should apply a character's allowed overrides to that request only, with thinking set for that model's family", async () => {
		const allowing = gemini({ LLM_ALLOWED_MODELS: "gemini-2.5-pro, gemini-2.5-flash-lite, gemma-3-27b-it" });
		const stream = allowing.stream(prompt, {
			overrides: { model: "gemini-2.5-pro", temperature: 0.2, maxOutputTokens: 64 },
		});
		await collect(stream);
		await collect(allowing.stream(prompt));
		await collect(allowing.stream(prompt, { overrides: { model: "gemini-2.5-flash-lite" } }));
		await collect(allowing.stream(prompt, { overrides: { model: "gemma-3-27b-it" } }));
		const [overridden, plain, lite, gemma] = fake.requests;
		expect(overridden.path).toBe("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
		expect(overridden.body.generationConfig).toMatchObject({
			temperature: 0.2,
			maxOutputTokens: 64,
			thinkingConfig: { thinkingBudget: 128 },
		});
		expect(stream.model).toBe("gemini:gemini-2.5-pro");
		expect(plain.path).toContain("/models/gemini-3.8-flash:");
		expect(plain.body.generationConfig).toMatchObject({ temperature: 0.8, maxOutputTokens: 512 });
		expect(lite.body.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 0 });
		expect(gemma.body.generationConfig.thinkingConfig).toBeUndefined();
	});

	it("should clamp a character's settings to the operator's bounds and refuse a model that is not allowed", async () => {
		const refused: string[] = [];
		const bounded = createChatModel(loadConfig({ GOOGLE_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.url, ...FAST }), {
			onRefusedModel: (name) => refused.push(name),
		});
		const greedy = { model: "evil-model-xyz", maxOutputTokens: 65_536, temperature: 2 };
		const stream = bounded.stream(prompt, { overrides: greedy });
		await collect(stream);
		await collect(bounded.stream(prompt, { overrides: greedy }));
		expect(fake.requests[0].path).toBe("/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse");
		expect(fake.requests[0].body.generationConfig).toMatchObject({ maxOutputTokens: 2048, temperature: 1.5 });
		// The metric label: the configured model, not the name a user made up.
		expect(stream.model).toBe("gemini:gemini-3.8-flash");
		expect(refused).toEqual(["evil-model-xyz"]);
	});

	it("should report the usage Gemini sends, thinking counted as output, and none when it sends none", async () => {
		fake.script([{ text: REPLY, usage: { input: 42, output: 9, thoughts: 30 } }, { text: REPLY }]);
		const reported = model.stream(prompt);
		await collect(reported);
		expect(reported.usage).toEqual({ input_tokens: 42, output_tokens: 39 });
		const silent = model.stream(prompt);
		await collect(silent);
		expect(silent.usage).toBeUndefined();
	});

	it("should retry a 429 and then stream the reply", async () => {
		fake.script([{ status: 429 }, { text: REPLY }]);
		expect((await collect(model.stream(prompt))).join("")).toBe(REPLY.join(""));
		expect(fake.requests).toHaveLength(2);
	});

	it("should give up on repeated 500s after exactly LLM_MAX_RETRIES + 1 attempts", async () => {
		fake.script(Array.from({ length: MAX_RETRIES + 3 }, () => ({ status: 500 })));
		const err = await failure(model);
		expect(err).toMatchObject({ provider: "gemini", reason: "server_error", status: 500, attempts: MAX_RETRIES + 1 });
		expect(fake.requests).toHaveLength(MAX_RETRIES + 1);
	});

	it("should not retry a wrong API key, call it a misconfiguration in Google's words, and not repeat the key", async () => {
		const wrongKey = "AIza-wrong-key-9876543210";
		const err = await failure(
			createChatModel(loadConfig({ GOOGLE_API_KEY: wrongKey, GEMINI_BASE_URL: fake.url, ...FAST })),
		);
		expect(err).toMatchObject({ reason: "misconfigured", status: 400, attempts: 1 });
		expect(err.detail).toContain("API key not valid. Please pass a valid API key.");
		expect(err.message).toContain("API key not valid");
		expect(err.message).not.toContain(wrongKey);
		expect(fake.requests).toHaveLength(1);
	});

	it("should call an unknown model a misconfiguration, without retrying", async () => {
		const strict = await startFakeGemini({ apiKey: GEMINI_KEY, models: ["gemini-3.8-flash"] });
		try {
			const err = await failure(
				createChatModel(
					loadConfig({
						GOOGLE_API_KEY: GEMINI_KEY,
						GEMINI_BASE_URL: strict.url,
						GEMINI_MODEL: "gemini-9-nope",
						...FAST,
					}),
				),
			);
			expect(err).toMatchObject({ reason: "misconfigured", status: 404, attempts: 1 });
			expect(err.detail).toContain("models/gemini-9-nope is not found");
		} finally {
			await strict.stop();
		}
	});

	it("should check the key and the model at start with one GET, and tell a bad key from no answer", async () => {
		const strict = await startFakeGemini({ apiKey: GEMINI_KEY, models: ["gemini-3.8-flash"] });
		const check = (env: Record<string, string>) =>
			createChatModel(loadConfig({ GOOGLE_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: strict.url, ...env })).check!();
		try {
			expect(await check({})).toEqual({ status: "ok" });
			expect(strict.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1beta/models/gemini-3.8-flash"]);
			const badKey = await check({ GOOGLE_API_KEY: "AIza-wrong-key-9876543210" });
			expect(badKey).toMatchObject({ status: "misconfigured", detail: expect.stringContaining("API key not valid") });
			expect(JSON.stringify(badKey)).not.toContain("AIza-wrong-key-9876543210");
			expect(await check({ GEMINI_MODEL: "gemini-2.5-flash" })).toMatchObject({
				status: "misconfigured",
				detail: expect.stringContaining("HTTP 404"),
			});
		} finally {
			await strict.stop();
		}
		expect(await check({})).toMatchObject({ status: "unknown" });
	});

	it("should fail with a timeout when no chunk comes in time, without retrying", async () => {
		fake.script([{ hang: true }, { hang: true }]);
		const started = Date.now();
		const err = await failure(gemini({ LLM_TIMEOUT_MS: "150" }));
		expect(err).toMatchObject({ reason: "timeout", attempts: 1 });
		expect(Date.now() - started).toBeLessThan(2000);
		expect(fake.requests).toHaveLength(1);
		await vi.waitFor(() => expect(fake.requests[0].endedBy).toBe("client"));
	});

	it("should retry when the server cannot be reached, then give up", async () => {
		const closed = await startFakeGemini({ apiKey: GEMINI_KEY });
		await closed.stop();
		const err = await failure(
			createChatModel(loadConfig({ GOOGLE_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: closed.url, ...FAST })),
		);
		expect(err).toMatchObject({ reason: "network", attempts: MAX_RETRIES + 1 });
		expect(err.message).not.toContain(GEMINI_KEY);
	});

	it("should stop mid-stream when aborted, closing the connection", async () => {
		fake.script([{ text: Array.from({ length: 30 }, (_, i) => `w${i} `), delayMs: 20 }]);
		const { chunks, error } = await abortAfter(model, 2);
		expect(error).toMatchObject({ name: "AbortError" });
		expect(chunks).toEqual(["w0 ", "w1 "]);
		await vi.waitFor(() => expect(fake.requests[0].endedBy).toBe("client"));
		expect(fake.requests).toHaveLength(1);
	});

	it("should not retry once text has been handed out, which would repeat it", async () => {
		fake.script([{ text: REPLY, delayMs: 10, dropAfter: 2 }, { text: REPLY }]);
		const chunks: string[] = [];
		const run = async () => {
			for await (const chunk of model.stream(prompt)) chunks.push(chunk);
		};
		await expect(run()).rejects.toMatchObject({ name: "LlmUnavailableError", reason: "network", attempts: 1 });
		expect(chunks).toEqual(REPLY.slice(0, 2));
		expect(fake.requests).toHaveLength(1);
	});

	it("should close the connection when the reader stops early", async () => {
		fake.script([{ text: Array.from({ length: 30 }, (_, i) => `w${i} `), delayMs: 20 }]);
		for await (const chunk of model.stream(prompt)) {
			expect(chunk).toBe("w0 ");
			break;
		}
		await vi.waitFor(() => expect(fake.requests[0].endedBy).toBe("client"));
	});

	it("should not send anything when already aborted", async () => {
		await expect(collect(model.stream(prompt, { signal: AbortSignal.abort() }))).rejects.toMatchObject({
			name: "AbortError",
		});
		expect(fake.requests).toHaveLength(0);
	});

	it("should treat a reply without text as unavailable", async () => {
		fake.script([{ text: [] }]);
		expect(await failure(model)).toMatchObject({ reason: "empty", attempts: 1 });
	});
});

describe("OpenAI-compatible through ChatOpenAI", () => {
	let fake: FakeServer;
	let model: ChatModel;
	const openai = (env: Record<string, string> = {}) =>
		createChatModel(
			loadConfig({
				OPENAI_BASE_URL: `${fake.url}/v1`,
				OPENAI_API_KEY: OPENAI_KEY,
				OPENAI_MODEL: "llama3",
				...FAST,
				...env,
			}),
		);

	beforeAll(async () => {
		fake = await startFakeOpenAI({ apiKey: OPENAI_KEY });
		model = openai();
	});
	afterAll(() => fake.stop());
	beforeEach(() => fake.reset());

	it("should stream the reply in order, chunk by chunk", async () => {
		fake.script([{ text: REPLY, delayMs: 5 }]);
		expect(await collect(model.stream(prompt))).toEqual(REPLY);
		expect(model.name).toBe("openai:llama3");
	});

	it("should send the messages in order with OpenAI's roles, streaming, with the key as a bearer token", async () => {
		await collect(model.stream(prompt));
		const [request] = fake.requests;
		expect(request.path).toBe("/v1/chat/completions");
		expect(request.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
		expect(request.body).toMatchObject({ model: "llama3", stream: true, temperature: 0.8, max_tokens: 512 });
		expect(request.body.messages).toEqual([
			{ role: "system", content: prompt[0].content },
			{ role: "assistant", content: prompt[1].content },
			{ role: "user", content: prompt[2].content },
		]);
	});

	it("should apply a character's overrides to the request", async () => {
		const stream = openai({ LLM_ALLOWED_MODELS: "mistral" }).stream(prompt, {
			overrides: { model: "mistral", temperature: 1.1, maxOutputTokens: 100 },
		});
		await collect(stream);
		expect(fake.requests[0].body).toMatchObject({ model: "mistral", temperature: 1.1, max_tokens: 100 });
		expect(stream.model).toBe("openai:mistral");
	});

	it("should report the usage the server sends at the end of the stream", async () => {
		fake.script([{ text: REPLY, usage: { input: 30, output: 6 } }]);
		const stream = model.stream(prompt);
		await collect(stream);
		expect(fake.requests[0].body.stream_options).toEqual({ include_usage: true });
		expect(stream.usage).toEqual({ input_tokens: 30, output_tokens: 6 });
	});

	it("should retry a 429 and then stream the reply", async () => {
		fake.script([{ status: 429 }, { text: REPLY }]);
		expect((await collect(model.stream(prompt))).join("")).toBe(REPLY.join(""));
		expect(fake.requests).toHaveLength(2);
	});

	it("should give up on repeated 503s after exactly LLM_MAX_RETRIES + 1 attempts", async () => {
		fake.script(Array.from({ length: MAX_RETRIES + 3 }, () => ({ status: 503 })));
		expect(await failure(model)).toMatchObject({
			provider: "openai",
			reason: "server_error",
			status: 503,
			attempts: MAX_RETRIES + 1,
		});
		expect(fake.requests).toHaveLength(MAX_RETRIES + 1);
	});

	it("should check the key and the model at start against the model list", async () => {
		expect(await openai().check!()).toEqual({ status: "ok" });
		expect(await openai({ OPENAI_API_KEY: "sk-wrong-key-9876543210" }).check!()).toMatchObject({
			status: "misconfigured",
			detail: expect.stringContaining("Incorrect API key"),
		});
		// A local server may serve names it does not list: not a misconfiguration.
		expect(await openai({ OPENAI_MODEL: "mistral" }).check!()).toMatchObject({ status: "unknown" });
	});

	it("should not retry a wrong API key, call it a misconfiguration, nor repeat the key in the error", async () => {
		const wrongKey = "sk-wrong-key-9876543210";
		const err = await failure(openai({ OPENAI_API_KEY: wrongKey }));
		expect(err).toMatchObject({ reason: "misconfigured", status: 401, attempts: 1 });
		expect(err.detail).toContain("Incorrect API key provided");
		expect(err.message).not.toContain(wrongKey.slice(3, -4));
		expect(fake.requests).toHaveLength(1);
	});

	it("should not retry once text has been handed out", async () => {
		fake.script([{ text: REPLY, delayMs: 10, dropAfter: 1 }, { text: REPLY }]);
		const chunks: string[] = [];
		const run = async () => {
			for await (const chunk of model.stream(prompt)) chunks.push(chunk);
		};
		await expect(run()).rejects.toBeInstanceOf(LlmUnavailableError);
		expect(chunks).toEqual(REPLY.slice(0, 1));
		expect(fake.requests).toHaveLength(1);
	});

	it("should fail with a timeout when no chunk comes in time", async () => {
		fake.script([{ hang: true }]);
		expect(await failure(openai({ LLM_TIMEOUT_MS: "150" }))).toMatchObject({ reason: "timeout", attempts: 1 });
	});

	it("should stop mid-stream when aborted, closing the connection", async () => {
		fake.script([{ text: Array.from({ length: 30 }, (_, i) => `w${i} `), delayMs: 20 }]);
		const { chunks, error } = await abortAfter(model, 2);
		expect(error).toMatchObject({ name: "AbortError" });
		expect(chunks).toEqual(["w0 ", "w1 "]);
		await vi.waitFor(() => expect(fake.requests[0].endedBy).toBe("client"));
	});

	it("should work with a local server that needs no key", async () => {
		const keyless = await startFakeOpenAI();
		try {
			keyless.script([{ text: REPLY }]);
			const local = createChatModel(
				loadConfig({ OPENAI_BASE_URL: `${keyless.url}/v1`, OPENAI_MODEL: "llama3", ...FAST }),
			);
			expect((await collect(local.stream(prompt))).join("")).toBe(REPLY.join(""));
		} finally {
			await keyless.stop();
		}
	});
});
