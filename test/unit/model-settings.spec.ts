import { describe, expect, it, vi } from "vitest";
import type { LoggerInstance } from "moleculer";
import { allowedModelsFor, boundSettings, isModelAllowed, overridesOf } from "../../src/domain/model-settings.js";
import { LlmStatus } from "../../src/adapters/llm/status.js";
import { LlmUnavailableError, type ChatModel, type ModelCheck } from "../../src/domain/chat-model.js";
import { OfflineModel } from "../../src/domain/offline-model.js";

const defaults = { model: "gemini-3.8-flash", temperature: 0.8, maxOutputTokens: 512 };
const bounds = { maxOutputTokens: 2048, maxTemperature: 1.5, allowedModels: ["gemini-2.5-flash-lite"] };

describe("boundSettings", () => {
	it("should keep the configured settings when the character has none", () => {
		expect(boundSettings(defaults, {}, bounds)).toEqual(defaults);
	});

	it("should take a character's settings within the bounds and an allowed model", () => {
		expect(
			boundSettings(defaults, { model: "gemini-2.5-flash-lite", temperature: 1.2, maxOutputTokens: 1000 }, bounds),
		).toEqual({
			model: "gemini-2.5-flash-lite",
			temperature: 1.2,
			maxOutputTokens: 1000,
		});
	});

	it("should clamp what a character asks beyond the bounds and refuse a model that is not allowed", () => {
		expect(
			boundSettings(defaults, { model: "evil-model-xyz", temperature: 2, maxOutputTokens: 65_536 }, bounds),
		).toEqual({
			model: "gemini-3.8-flash",
			temperature: 1.5,
			maxOutputTokens: 2048,
			refusedModel: "evil-model-xyz",
		});
		expect(boundSettings(defaults, { temperature: -1, maxOutputTokens: 0 }, bounds)).toMatchObject({
			temperature: 0,
			maxOutputTokens: 1,
		});
		expect(boundSettings(defaults, { temperature: Number.NaN }, bounds).temperature).toBe(0);
	});

	it("should allow only the configured model when the allow-list is empty", () => {
		expect(boundSettings(defaults, { model: "gemini-2.5-flash-lite" }, { ...bounds, allowedModels: [] })).toMatchObject(
			{ model: "gemini-3.8-flash", refusedModel: "gemini-2.5-flash-lite" },
		);
		expect(boundSettings(defaults, { model: "gemini-3.8-flash" }, { ...bounds, allowedModels: [] })).not.toHaveProperty(
			"refusedModel",
		);
	});

	it("should read a character's stored columns, null meaning unset", () => {
		expect(overridesOf({ llm_model: null, temperature: 0.3, max_output_tokens: null })).toEqual({
			model: undefined,
			temperature: 0.3,
			maxOutputTokens: undefined,
			topP: undefined,
		});
	});

	it("should let a chat's preset win over the character, setting by setting", () => {
		const character = { llm_model: "gemini-2.5-pro", temperature: 0.3, max_output_tokens: 300 };
		expect(overridesOf(character, { temperature: 1.1, top_p: 0.5 })).toEqual({
			model: "gemini-2.5-pro",
			temperature: 1.1,
			maxOutputTokens: 300,
			topP: 0.5,
		});
		expect(overridesOf(character, { model: "gemini-2.5-flash-lite", max_output_tokens: 80 })).toMatchObject({
			model: "gemini-2.5-flash-lite",
			temperature: 0.3,
			maxOutputTokens: 80,
		});
	});

	it("should send top_p only when one is set, clamped to 0..1", () => {
		expect(boundSettings(defaults, {}, bounds)).not.toHaveProperty("topP");
		expect(boundSettings(defaults, { topP: 0.9 }, bounds).topP).toBe(0.9);
		expect(boundSettings(defaults, { topP: 7 }, bounds).topP).toBe(1);
		expect(boundSettings(defaults, { topP: -1 }, bounds).topP).toBe(0);
	});
});

describe("allowedModelsFor", () => {
	it("should allow the configured model and the list's entries for the provider replies go to", () => {
		const entries = ["gpt-4o-mini", "openai:gpt-4o", "gemini:gemini-2.5-flash", "llama3:8b"];
		expect(allowedModelsFor("openai", "llama3", entries)).toEqual(["llama3", "gpt-4o-mini", "gpt-4o", "llama3:8b"]);
		expect(allowedModelsFor("gemini", "gemini-3.8-flash", entries)).toEqual([
			"gemini-3.8-flash",
			"gpt-4o-mini",
			"gemini-2.5-flash",
			"llama3:8b",
		]);
	});

	it("should allow only the configured model when the list is empty", () => {
		expect(allowedModelsFor("gemini", "gemini-3.8-flash", [])).toEqual(["gemini-3.8-flash"]);
	});

	it("should let no model of one's own (null, undefined) through and refuse names not listed", () => {
		expect(isModelAllowed(null, ["llama3"])).toBe(true);
		expect(isModelAllowed(undefined, ["llama3"])).toBe(true);
		expect(isModelAllowed("llama3", ["llama3"])).toBe(true);
		expect(isModelAllowed("gpt-4o", ["llama3"])).toBe(false);
		expect(isModelAllowed("openai:llama3", ["llama3"])).toBe(false);
	});
});

describe("LlmStatus", () => {
	const logger = () =>
		({ info: vi.fn(), warn: vi.fn(), error: vi.fn() }) as unknown as LoggerInstance &
			Record<"info" | "warn" | "error", ReturnType<typeof vi.fn>>;
	const checked = (result: ModelCheck): ChatModel => ({
		name: "gemini:gemini-3.8-flash",
		stream: () => ({ async *[Symbol.asyncIterator]() {} }),
		check: () => Promise.resolve(result),
	});

	it("should log a refused key at start as an error and report it until a reply succeeds", async () => {
		const log = logger();
		const status = new LlmStatus(
			checked({ status: "misconfigured", detail: "HTTP 400: API key not valid. Please pass a valid API key." }),
			log,
		);
		expect(status.summary).toBe("unchecked");
		status.checkAtStart();
		await vi.waitFor(() => expect(status.misconfigured).toBe(true));
		expect(status.summary).toBe("misconfigured: HTTP 400: API key not valid. Please pass a valid API key.");
		expect(log.error).toHaveBeenCalledWith(expect.stringContaining("API key not valid"));
		status.replied();
		expect(status.summary).toBe("ok");
		status.failed(
			new LlmUnavailableError("gemini", "misconfigured", 404, 1, "gemini-9", "models/gemini-9 is not found"),
		);
		expect(status.summary).toBe("misconfigured: models/gemini-9 is not found");
		status.failed(new LlmUnavailableError("gemini", "rate_limited", 429, 4, "gemini-3.8-flash", "quota"));
		expect(status.summary).toBe("misconfigured: models/gemini-9 is not found");
	});

	it("should only warn when the provider cannot be reached at start", async () => {
		const log = logger();
		const status = new LlmStatus(checked({ status: "unknown", detail: "no answer within 5000 ms" }), log);
		status.checkAtStart();
		await vi.waitFor(() => expect(log.warn).toHaveBeenCalled());
		expect(status.summary).toBe("unchecked: no answer within 5000 ms");
		expect(log.error).not.toHaveBeenCalled();
	});

	it("should have nothing to check for the offline model", () => {
		const status = new LlmStatus(new OfflineModel(), logger());
		status.checkAtStart();
		expect(status.summary).toBe("offline");
	});
});
