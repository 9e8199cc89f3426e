import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { countTokens, createChatModel, usageOf } from "../../src/adapters/llm/factory.js";
import type { ChatMessage } from "../../src/domain/chat-model.js";
import { OfflineModel } from "../../src/domain/offline-model.js";

const prompt: ChatMessage[] = [
	{ role: "system", content: "You are Agnes Thorne." },
	{ role: "user", content: "Will it storm tonight?" },
];

describe("createChatModel", () => {
	it("should pick the provider the config names", () => {
		expect(createChatModel(loadConfig({}))).toBeInstanceOf(OfflineModel);
		expect(createChatModel(loadConfig({ GOOGLE_API_KEY: "g-key" })).name).toBe("gemini:gemini-3.8-flash");
		expect(createChatModel(loadConfig({ GOOGLE_API_KEY: "g-key", GEMINI_MODEL: "gemini-2.5-pro" })).name).toBe(
			"gemini:gemini-2.5-pro",
		);
		const local = { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_MODEL: "llama3" };
		expect(createChatModel(loadConfig(local)).name).toBe("openai:llama3");
		expect(createChatModel(loadConfig({ ...local, GOOGLE_API_KEY: "g-key", LLM_PROVIDER: "openai" })).name).toBe(
			"openai:llama3",
		);
		expect(createChatModel(loadConfig({ ...local, LLM_PROVIDER: "offline" })).name).toBe("offline");
	});

	it("should give the offline model the configured pause between chunks", async () => {
		const model = createChatModel(loadConfig({ OFFLINE_MODEL_DELAY_MS: "30" }));
		const started = Date.now();
		let chunks = 0;
		for await (const chunk of model.stream(prompt)) {
			expect(chunk).toBeTruthy();
			if ((chunks += 1) === 3) break;
		}
		expect(Date.now() - started).toBeGreaterThanOrEqual(85);
	});
});

describe("countTokens", () => {
	it("should count cl100k_base tokens, not characters", () => {
		expect(countTokens("")).toBe(0);
		expect(countTokens("hello world")).toBe(2);
		expect(countTokens("Hello, world!")).toBe(4);
		// A long common word is one token; characters/4 would say three.
		expect(countTokens(" international")).toBe(1);
	});

	it("should treat special-token text typed by a user as plain text", () => {
		expect(countTokens("<|endoftext|>")).toBeGreaterThan(1);
	});
});

describe("usageOf", () => {
	it("should prefer the provider's counts and count itself otherwise", () => {
		expect(usageOf(120, "Aye.", { input_tokens: 40, output_tokens: 2 })).toEqual({
			input_tokens: 40,
			output_tokens: 2,
		});
		expect(usageOf(120, "Aye, the glass is falling.")).toEqual({
			input_tokens: 120,
			output_tokens: countTokens("Aye, the glass is falling."),
		});
	});
});
