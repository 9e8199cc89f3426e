import { describe, expect, it } from "vitest";
import {
	MAX_MESSAGES,
	MAX_TOTAL_CHARS,
	chatCompletion,
	completionChunk,
	openAiError,
	parseCompletionRequest,
	sseEvent,
	usageChunk,
} from "../../src/domain/openai-wire.js";

const valid = { model: "aria", messages: [{ role: "user", content: "Hello" }] };
const refusalOf = (body: unknown) => {
	const parsed = parseCompletionRequest(body);
	if (parsed.ok) throw new Error("accepted");
	return parsed.refusal;
};

describe("parseCompletionRequest", () => {
	it("should take the least request with OpenAI's defaults", () => {
		expect(parseCompletionRequest(valid)).toEqual({
			ok: true,
			request: {
				model: "aria",
				messages: [{ role: "user", content: "Hello" }],
				stream: false,
				include_usage: false,
				stop: [],
			},
		});
	});

	it("should take every field it knows, developer messages as system ones and text parts joined", () => {
		const parsed = parseCompletionRequest({
			model: " aria ",
			messages: [
				{ role: "developer", content: "Be brief." },
				{
					role: "user",
					content: [
						{ type: "text", text: "Hi" },
						{ type: "text", text: "there" },
					],
				},
				{ role: "assistant", content: null },
			],
			stream: true,
			stream_options: { include_usage: true },
			temperature: 0.5,
			top_p: 0.9,
			max_tokens: 100,
			max_completion_tokens: 50,
			stop: "\nUser:",
			user: "u1",
			presence_penalty: 0.3,
			n: 1,
		});
		expect(parsed).toEqual({
			ok: true,
			request: {
				model: "aria",
				messages: [
					{ role: "system", content: "Be brief." },
					{ role: "user", content: "Hi\nthere" },
					{ role: "assistant", content: "" },
				],
				stream: true,
				include_usage: true,
				temperature: 0.5,
				top_p: 0.9,
				max_tokens: 50,
				stop: ["\nUser:"],
				user: "u1",
			},
		});
	});

	it("should take cameo's session_id extension, lower-cased", () => {
		const id = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
		expect(parseCompletionRequest({ ...valid, session_id: id })).toMatchObject({
			ok: true,
			request: { session_id: id.toLowerCase() },
		});
	});

	it("should take null for the optional fields", () => {
		const nulls = {
			stream: null,
			stream_options: null,
			temperature: null,
			top_p: null,
			max_tokens: null,
			stop: null,
			user: null,
			n: null,
		};
		expect(parseCompletionRequest({ ...valid, ...nulls })).toMatchObject({
			ok: true,
			request: { stream: false, stop: [] },
		});
	});

	it.each([
		["a non-object body", [valid], null, "invalid_type"],
		["a string body", "hello", null, "invalid_type"],
		["no model", { messages: valid.messages }, "model", "invalid_value"],
		["a numeric model", { ...valid, model: 7 }, "model", "invalid_value"],
		["a blank model", { ...valid, model: "  " }, "model", "invalid_value"],
		["a huge model", { ...valid, model: "m".repeat(201) }, "model", "invalid_value"],
		["no messages", { model: "aria" }, "messages", "invalid_type"],
		["empty messages", { ...valid, messages: [] }, "messages", "invalid_value"],
		["messages as an object", { ...valid, messages: { role: "user" } }, "messages", "invalid_type"],
		["a message that is a string", { ...valid, messages: ["hi"] }, "messages[0]", "invalid_type"],
		[
			"an unknown role",
			{ ...valid, messages: [{ role: "wizard", content: "x" }] },
			"messages[0].role",
			"unsupported_role",
		],
		[
			"a tool message",
			{ ...valid, messages: [{ role: "tool", content: "x" }] },
			"messages[0].role",
			"unsupported_role",
		],
		["no role", { ...valid, messages: [{ content: "x" }] }, "messages[0].role", "unsupported_role"],
		[
			"an inherited role",
			{ ...valid, messages: [{ role: "__proto__", content: "x" }] },
			"messages[0].role",
			"unsupported_role",
		],
		["numeric content", { ...valid, messages: [{ role: "user", content: 5 }] }, "messages[0].content", "invalid_type"],
		[
			"a user's null content",
			{ ...valid, messages: [{ role: "user", content: null }] },
			"messages[0].content",
			"invalid_type",
		],
		[
			"an image part",
			{ ...valid, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] },
			"messages[0].content[0]",
			"unsupported_content",
		],
		[
			"a nested part",
			{ ...valid, messages: [{ role: "user", content: [[{ type: "text", text: "x" }]] }] },
			"messages[0].content[0]",
			"invalid_type",
		],
		[
			"a part without text",
			{ ...valid, messages: [{ role: "user", content: [{ type: "text" }] }] },
			"messages[0].content[0].text",
			"invalid_type",
		],
		["stream as a string", { ...valid, stream: "yes" }, "stream", "invalid_type"],
		["stream_options as a list", { ...valid, stream_options: [] }, "stream_options", "invalid_type"],
		[
			"include_usage as a number",
			{ ...valid, stream_options: { include_usage: 1 } },
			"stream_options.include_usage",
			"invalid_type",
		],
		["n = 2", { ...valid, n: 2 }, "n", "invalid_value"],
		["tools", { ...valid, tools: [{ type: "function" }] }, "tools", "invalid_value"],
		["temperature 3", { ...valid, temperature: 3 }, "temperature", "invalid_value"],
		["temperature as a string", { ...valid, temperature: "1" }, "temperature", "invalid_value"],
		["top_p -0.1", { ...valid, top_p: -0.1 }, "top_p", "invalid_value"],
		["max_tokens 1.5", { ...valid, max_tokens: 1.5 }, "max_tokens", "invalid_value"],
		["max_completion_tokens 0", { ...valid, max_completion_tokens: 0 }, "max_completion_tokens", "invalid_value"],
		["stop as a number", { ...valid, stop: 5 }, "stop", "invalid_type"],
		["17 stops", { ...valid, stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }, "stop", "invalid_value"],
		["an empty stop", { ...valid, stop: [""] }, "stop", "invalid_value"],
		["user as an object", { ...valid, user: { a: 1 } }, "user", "invalid_type"],
		["a session_id that is no UUID", { ...valid, session_id: "abc" }, "session_id", "invalid_value"],
		["a numeric session_id", { ...valid, session_id: 5 }, "session_id", "invalid_value"],
	])("should refuse %s with a 400 naming the field", (_name, body, param, code) => {
		expect(refusalOf(body)).toMatchObject({ status: 400, param, code });
	});

	it("should refuse too many messages (400) and too many characters (413)", () => {
		const tiny = Array.from({ length: MAX_MESSAGES + 1 }, () => ({ role: "user", content: "a" }));
		expect(refusalOf({ ...valid, messages: tiny })).toMatchObject({ status: 400, code: "too_many_messages" });
		const big = [{ role: "user", content: "a".repeat(MAX_TOTAL_CHARS + 1) }];
		expect(refusalOf({ ...valid, messages: big })).toMatchObject({ status: 413, code: "request_too_large" });
	});
});

describe("answers", () => {
	const head = { id: "chatcmpl-1", created: 1700000000, model: "aria" };
	const usage = { input_tokens: 10, output_tokens: 5 };

	it("should shape a completion with its usage", () => {
		expect(chatCompletion(head, "Hi", usage)).toEqual({
			...head,
			object: "chat.completion",
			choices: [
				{
					index: 0,
					message: { role: "assistant", content: "Hi", refusal: null },
					logprobs: null,
					finish_reason: "stop",
				},
			],
			usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
		});
	});

	it("should shape chunks, with usage null on each only when it is asked for, and the usage chunk", () => {
		expect(completionChunk(head, { content: "a" }, null, false)).not.toHaveProperty("usage");
		expect(completionChunk(head, {}, "stop", true)).toMatchObject({
			usage: null,
			choices: [{ finish_reason: "stop", delta: {} }],
		});
		expect(usageChunk(head, usage)).toMatchObject({ choices: [], usage: { total_tokens: 15 } });
		expect(sseEvent("[DONE]")).toBe("data: [DONE]\n\n");
		expect(sseEvent({ a: 1 })).toBe('data: {"a":1}\n\n');
	});

	it("should give errors OpenAI's types and codes", () => {
		const err = (status: number, code: string, detail = "x") =>
			openAiError({ status, code, detail, headers: {} }).body.error;
		expect(err(401, "UNAUTHORIZED")).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
		expect(err(404, "CHARACTER_NOT_FOUND")).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });
		expect(err(429, "RATE_LIMITED")).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
		expect(err(429, "TOKEN_QUOTA_EXCEEDED")).toMatchObject({
			type: "insufficient_quota",
			code: "token_quota_exceeded",
		});
		expect(err(503, "SERVICE_UNAVAILABLE")).toMatchObject({ type: "server_error", code: "service_unavailable" });
		expect(err(400, "INVALID_JSON", "Request body is not valid JSON")).toEqual({
			message: "Request body is not valid JSON",
			type: "invalid_request_error",
			param: null,
			code: "invalid_json",
		});
	});
});
