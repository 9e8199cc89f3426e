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

export async function startFakeGemini(opts: { apiKey: string }): Promise<FakeServer> {
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
		checkAuth(headers) {
			const key = headers["x-goog-api-key"];
			if (key === undefined) {
				return {
					status: 403,
					body: googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."),
				};
			}
			if (key !== opts.apiKey) {
				// What the API really answers to a wrong key: 400, not 401.
				return {
					status: 400,
					body: googleError(400, "API key not valid. Please pass a valid API key.", [
						{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
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
				return { paced: i < step.text.length, data: JSON.stringify(response(text, last, last ? step.usage : undefined, ctx.model)) };
			});
		},
		json(step, ctx) {
			return response(step.text.join(""), true, step.usage, ctx.model);
		},
	});
}

function response(text: string, last: boolean, usage: FakeUsage | undefined, model: string) {
	return {
		candidates: [{ content: { parts: [{ text }], role: "model" }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }],
		...(usage
			? { usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output } }
			: {}),
		modelVersion: model,
	};
}

function googleError(code: number, message: string, details?: unknown[]) {
	return { error: { code, message, status: RPC_STATUS[code] ?? "UNKNOWN", ...(details ? { details } : {}) } };
}

function defaultMessage(status: number): string {
	if (status === 429) return "Resource has been exhausted (e.g. check quota).";
	if (status === 500) return "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
	if (status === 503) return "The model is overloaded. Please try again later.";
	return STATUS_CODES[status] ?? "Error";
}
