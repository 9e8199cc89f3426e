/**
 * A fake OpenAI-compatible server for tests: `POST /v1/chat/completions`, streaming (`chat.completion.chunk` events,
 * then `data: [DONE]`) or not, the `Authorization: Bearer` check, and OpenAI's error bodies.
 * Clients use `${url}/v1` as their base URL.
 */
import { STATUS_CODES } from "node:http";
import { startFakeServer, type FakeServer } from "./fake-llm-server.js";

export type { FakeServer, FakeStep, RecordedRequest } from "./fake-llm-server.js";

/** `apiKey` undefined: no key checked, like most local servers. `models`: what `GET /v1/models` lists. */
export async function startFakeOpenAI(opts: { apiKey?: string; models?: string[] } = {}): Promise<FakeServer> {
	let completions = 0;
	return startFakeServer({
		eventEnd: "\n\n",
		describe(method, url) {
			if (method !== "GET" || url.pathname !== "/v1/models") return undefined;
			const data = (opts.models ?? ["llama3"]).map((id) => ({
				id,
				object: "model",
				created: 1700000000,
				owned_by: "fake",
			}));
			return { status: 200, body: { object: "list", data } };
		},
		route(method, url, body) {
			return method === "POST" && url.pathname === "/v1/chat/completions"
				? { stream: body?.stream === true }
				: undefined;
		},
		checkAuth(headers) {
			if (opts.apiKey === undefined) return undefined;
			const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
			if (!token) {
				return {
					status: 401,
					body: openaiError(
						"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
						"invalid_request_error",
						null,
					),
				};
			}
			if (token !== opts.apiKey) {
				return {
					status: 401,
					body: openaiError(
						`Incorrect API key provided: ${mask(token)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
						"invalid_request_error",
						"invalid_api_key",
					),
				};
			}
			return undefined;
		},
		errorBody(status, message) {
			if (status === 429)
				return openaiError(message ?? "Rate limit reached for requests", "requests", "rate_limit_exceeded");
			if (status >= 500)
				return openaiError(
					message ?? "The server had an error while processing your request. Sorry about that!",
					"server_error",
					null,
				);
			return openaiError(message ?? STATUS_CODES[status] ?? "Error", "invalid_request_error", null);
		},
		events(step, ctx) {
			const id = `chatcmpl-fake${(completions += 1)}`;
			const created = Math.floor(Date.now() / 1000);
			const chunk = (choices: unknown[], extra: object = {}) =>
				JSON.stringify({
					id,
					object: "chat.completion.chunk",
					created,
					model: ctx.model,
					system_fingerprint: "fp_fake",
					choices,
					...extra,
				});
			const choice = (delta: object, finish: string | null) => ({
				index: 0,
				delta,
				logprobs: null,
				finish_reason: finish,
			});
			const events = [
				{ paced: false, data: chunk([choice({ role: "assistant", content: "" }, null)]) },
				...step.text.map((content) => ({ paced: true, data: chunk([choice({ content }, null)]) })),
				{ paced: false, data: chunk([choice({}, "stop")]) },
			];
			if (step.usage && ctx.body?.stream_options?.include_usage) {
				events.push({ paced: false, data: chunk([], { usage: usageOf(step.usage) }) });
			}
			events.push({ paced: false, data: "[DONE]" });
			return events;
		},
		json(step, ctx) {
			return {
				id: `chatcmpl-fake${(completions += 1)}`,
				object: "chat.completion",
				created: Math.floor(Date.now() / 1000),
				model: ctx.model,
				choices: [
					{
						index: 0,
						message: { role: "assistant", content: step.text.join(""), refusal: null },
						logprobs: null,
						finish_reason: "stop",
					},
				],
				...(step.usage ? { usage: usageOf(step.usage) } : {}),
			};
		},
	});
}

function usageOf(usage: { input: number; output: number }) {
	return { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
}

function openaiError(message: string, type: string, code: string | null) {
	return { error: { message, type, param: null, code } };
}

/** As OpenAI masks a wrong key in its message: the first and last few characters. */
function mask(token: string): string {
	return token.length <= 8
		? "*".repeat(token.length)
		: `${token.slice(0, 3)}${"*".repeat(token.length - 7)}${token.slice(-4)}`;
}
