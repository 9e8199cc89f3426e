/**
 * A fake Gemini (Generative Language API, v1beta) for tests: `:streamGenerateContent?alt=sse` and `:generateContent`,
 * the `x-goog-api-key` check, and Google's error bodies, as the real service answers them.
 */
import { STATUS_CODES } from "node:http";
import { startFakeServer, type FakeServer, type FakeUsage } from "./fake-llm-server.js";

export type { FakeServer, FakeStep, RecordedRequest } from "./fake-llm-server.js";

const ROUTE = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

// google.rpc.Code names, as the API puts them in `error.status`.
const RPC_STATUS: Record<number, string> = {
	400: "INVALID_ARGUMENT",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL",
	503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
};

const MODEL_RESOURCE = /^\/v1beta\/models\/([^/:]+)$/;

/** `models`: the models that exist (a GET of another, or a reply from one, is a 404); any model when absent. */
export async function startFakeGemini(opts: { apiKey: string; models?: string[] }): Promise<FakeServer> {
	const exists = (model: string) => !opts.models || opts.models.includes(model);
	const notFound = (model: string) => ({
		status: 404,
		body: googleError(
			404,
			`models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
		),
	});
	return startFakeServer({
		eventEnd: "\r\n\r\n",
		route(method, url) {
			const match = ROUTE.exec(url.pathname);
			if (method !== "POST" || !match) return undefined;
			const stream = match[2] === "streamGenerateContent";
			// The SDK always asks for SSE; without alt=sse the API streams a JSON array instead, which we do not fake.
			if (stream && url.searchParams.get("alt") !== "sse") return undefined;
			return { stream, model: decodeURIComponent(match[1]) };
		},
		describe(method, url) {
			const call = ROUTE.exec(url.pathname);
			if (call && !exists(decodeURIComponent(call[1]))) return notFound(decodeURIComponent(call[1]));
			const match = MODEL_RESOURCE.exec(url.pathname);
			if (method !== "GET" || !match) return undefined;
			const model = decodeURIComponent(match[1]);
			if (!exists(model)) return notFound(model);
			return {
				status: 200,
				body: {
					name: `models/${model}`,
					version: "001",
					displayName: model,
					inputTokenLimit: 1048576,
					outputTokenLimit: 65536,
					supportedGenerationMethods: ["generateContent", "countTokens"],
					thinking: true,
				},
			};
		},
		invalid(body) {
			const thinking = body?.generationConfig?.thinkingConfig;
			// What the API answers to a request that sets both.
			if (thinking?.thinkingLevel !== undefined && thinking?.thinkingBudget !== undefined)
				return "You can only set only one of thinking budget and thinking level.";
			return undefined;
		},
		checkAuth(headers) {
			const key = headers["x-goog-api-key"];
			if (key === undefined) {
				return {
					status: 403,
					body: googleError(
						403,
						"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
					),
				};
			}
			if (key !== opts.apiKey) {
				// What the API really answers to a wrong key: 400, not 401.
				return {
					status: 400,
					body: googleError(400, "API key not valid. Please pass a valid API key.", [
						{
							"@type": "type.googleapis.com/google.rpc.ErrorInfo",
							reason: "API_KEY_INVALID",
							domain: "googleapis.com",
							metadata: { service: "generativelanguage.googleapis.com" },
						},
					]),
				};
			}
			return undefined;
		},
		errorBody(status, message) {
			return googleError(status, message ?? defaultMessage(status));
		},
		events(step, ctx) {
			const chunks = step.text.length > 0 ? step.text : [""];
			return chunks.map((text, i) => {
				const last = i === chunks.length - 1;
				return {
					paced: i < step.text.length,
					data: JSON.stringify(response(text, last, last ? step.usage : undefined, ctx.model)),
				};
			});
		},
		json(step, ctx) {
			return response(step.text.join(""), true, step.usage, ctx.model);
		},
	});
}

function response(text: string, last: boolean, usage: FakeUsage | undefined, model: string) {
	return {
		candidates: [
			{ content: { parts: [{ text }], role: "model" }, ...(last ? { finishReason: "STOP" } : {}), index: 0 },
		],
		...(usage
			? {
					usageMetadata: {
						promptTokenCount: usage.input,
						candidatesTokenCount: usage.output,
						...(usage.thoughts ? { thoughtsTokenCount: usage.thoughts } : {}),
						totalTokenCount: usage.input + usage.output + (usage.thoughts ?? 0),
					},
				}
			: {}),
		modelVersion: model,
	};
}

function googleError(code: number, message: string, details?: unknown[]) {
	return { error: { code, message, status: RPC_STATUS[code] ?? "UNKNOWN", ...(details ? { details } : {}) } };
}

function defaultMessage(status: number): string {
	if (status === 429) return "Resource has been exhausted (e.g. check quota).";
	if (status === 500)
		return "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
	if (status === 503) return "The model is overloaded. Please try again later.";
	return STATUS_CODES[status] ?? "Error";
}
