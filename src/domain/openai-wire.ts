/**
 * The /v1 API's wire (issue 18): OpenAI's Chat Completions request as cameo accepts it, and its answers in OpenAI's
 * shapes: `chat.completion`, `chat.completion.chunk` server-sent events, the model list, and errors as
 * `{error: {message, type, param, code}}`. Pure: the gateway route (src/adapters/openai-route.ts) and the completions
 * service use these.
 *
 * A request is checked field by field and normalized; what cameo cannot honour (tools, n > 1, image parts) is refused
 * with a clear 400 rather than silently ignored; sampling fields OpenAI allows are taken and later clamped to the
 * operator's bounds by the model layer (model-settings.ts `boundSettings`); other OpenAI fields are ignored.
 */
import type { Usage } from "./chat-wire.js";
import { toHttpError } from "./http-errors.js";
import { isUuid } from "./uuid.js";

/** Messages in one request: a long SillyTavern chat sends a few hundred; the prompt budget keeps the newest anyway. */
export const MAX_MESSAGES = 2000;
/** Characters of all message contents together (the body limit is 1 MB). */
export const MAX_TOTAL_CHARS = 400_000;
/** Text parts of one message's content. */
export const MAX_CONTENT_PARTS = 100;
/** OpenAI takes 4 stop sequences; SillyTavern sends all its stopping strings to a custom endpoint, often more. */
export const MAX_STOP_SEQUENCES = 16;
export const MAX_STOP_CHARS = 200;
export const MAX_MODEL_CHARS = 200;
/** The JSON body limit of POST /v1/chat/completions. */
export const COMPLETION_BODY_LIMIT = "1mb";

/** Broadcast by the gateway when a client went away before its completion was answered: abort it wherever it runs. */
export const CompletionEvent = { Abandoned: "completion.abandoned" } as const;
export interface CompletionAbandonedPayload {
	id: string;
}

/** What the gateway puts in a completion's meta: the caller, and the id an abandonment names. */
export interface CompletionMeta {
	user?: { id: string; username: string; name?: string };
	completion_id?: string;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
}

/** A client's message, its content as text: `system` (and `developer`) ones are instructions, the rest the chat. */
export interface ClientMessage {
	role: "system" | "user" | "assistant";
	content: string;
}

/** A request as the completions service takes it: checked, with OpenAI's aliases resolved. */
export interface CompletionRequest {
	model: string;
	messages: ClientMessage[];
	stream: boolean;
	/** `stream_options.include_usage`: a last chunk carries the usage. */
	include_usage: boolean;
	temperature?: number;
	top_p?: number;
	/** `max_completion_tokens`, else `max_tokens`. */
	max_tokens?: number;
	stop: string[];
	user?: string;
	/** cameo's extension: continue this stored chat of the caller's (its last message is stored and answered there). */
	session_id?: string;
}

/** Why a request is refused: the status, and OpenAI's error fields. */
export interface WireRefusal {
	status: 400 | 413;
	message: string;
	param: string | null;
	code: string;
}

export type ParsedRequest = { ok: true; request: CompletionRequest } | { ok: false; refusal: WireRefusal };

const refuse = (message: string, param: string | null, code = "invalid_value", status: 400 | 413 = 400) =>
	({ ok: false, refusal: { status, message, param, code } }) as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && !Array.isArray(value);

/** OpenAI's roles cameo reads, as what they become. */
const ROLES: Record<string, ClientMessage["role"]> = {
	system: "system",
	developer: "system",
	user: "user",
	assistant: "assistant",
};

/** A body as JSON parsed it, to a CompletionRequest or the refusal of its first fault. */
export function parseCompletionRequest(body: unknown): ParsedRequest {
	if (!isObject(body)) return refuse("The request body must be a JSON object", null, "invalid_type");
	const { model } = body;
	if (typeof model !== "string" || model.trim() === "") return refuse("'model' must be a non-empty string", "model");
	if (model.length > MAX_MODEL_CHARS) return refuse(`'model' is longer than ${MAX_MODEL_CHARS} characters`, "model");
	const messages = parseMessages(body.messages);
	if (!Array.isArray(messages)) return messages;
	if (!isOptional(body.stream, "boolean")) return refuse("'stream' must be a boolean", "stream", "invalid_type");
	const options = body.stream_options;
	if (options !== undefined && options !== null && !isObject(options))
		return refuse("'stream_options' must be an object", "stream_options", "invalid_type");
	if (!isOptional(options?.include_usage, "boolean"))
		return refuse("'stream_options.include_usage' must be a boolean", "stream_options.include_usage", "invalid_type");
	if (body.n !== undefined && body.n !== null && body.n !== 1) return refuse("Only n=1 is supported", "n");
	if (Array.isArray(body.tools) && body.tools.length > 0) return refuse("Tools are not supported", "tools");
	const sampling = parseSampling(body);
	if ("ok" in sampling) return sampling;
	const stop = parseStop(body.stop);
	if (!Array.isArray(stop)) return stop;
	if (!isOptional(body.user, "string")) return refuse("'user' must be a string", "user", "invalid_type");
	const sessionId = body.session_id;
	if (sessionId !== undefined && sessionId !== null && !isUuid(sessionId))
		return refuse("'session_id' must be the UUID of one of your chats", "session_id");
	return {
		ok: true,
		request: {
			model: model.trim(),
			messages,
			stream: body.stream === true,
			include_usage: options?.include_usage === true,
			...sampling,
			stop,
			...(typeof body.user === "string" ? { user: body.user.slice(0, 256) } : {}),
			...(isUuid(sessionId) ? { session_id: sessionId.toLowerCase() } : {}),
		},
	};
}

function isOptional(value: unknown, type: "boolean" | "string" | "number"): boolean {
	return value === undefined || value === null || typeof value === type;
}

function parseMessages(value: unknown): ClientMessage[] | { ok: false; refusal: WireRefusal } {
	if (!Array.isArray(value)) return refuse("'messages' must be an array", "messages", "invalid_type");
	if (value.length === 0) return refuse("'messages' must hold at least one message", "messages");
	if (value.length > MAX_MESSAGES)
		return refuse(`'messages' holds more than ${MAX_MESSAGES} messages`, "messages", "too_many_messages");
	const messages: ClientMessage[] = [];
	let chars = 0;
	for (const [i, message] of value.entries()) {
		const param = `messages[${i}]`;
		if (!isObject(message)) return refuse(`${param} must be an object`, param, "invalid_type");
		const role =
			typeof message.role === "string" && Object.hasOwn(ROLES, message.role) ? ROLES[message.role] : undefined;
		if (!role) {
			const given = typeof message.role === "string" ? `'${message.role.slice(0, 40)}'` : "missing";
			return refuse(
				`${param}.role ${given} is not supported: use system, developer, user or assistant`,
				`${param}.role`,
				"unsupported_role",
			);
		}
		const content = contentText(message.content, role, `${param}.content`);
		if (typeof content !== "string") return content;
		chars += content.length;
		if (chars > MAX_TOTAL_CHARS)
			return refuse(`The messages hold more than ${MAX_TOTAL_CHARS} characters`, "messages", "request_too_large", 413);
		messages.push({ role, content });
	}
	return messages;
}

/** A message's content as text: a string, or text parts joined by newlines; an assistant's may be null (empty). */
function contentText(
	content: unknown,
	role: ClientMessage["role"],
	param: string,
): string | { ok: false; refusal: WireRefusal } {
	if (typeof content === "string") return content;
	if (content === null && role === "assistant") return "";
	if (!Array.isArray(content))
		return refuse(`${param} must be a string or an array of text parts`, param, "invalid_type");
	if (content.length > MAX_CONTENT_PARTS)
		return refuse(`${param} holds more than ${MAX_CONTENT_PARTS} parts`, param, "too_many_parts");
	const texts: string[] = [];
	for (const [j, part] of content.entries()) {
		const at = `${param}[${j}]`;
		if (!isObject(part) || typeof part.type !== "string")
			return refuse(`${at} must be an object with a 'type'`, at, "invalid_type");
		if (part.type !== "text")
			return refuse(
				`${at} is a '${part.type.slice(0, 40)}' part: only text parts are supported`,
				at,
				"unsupported_content",
			);
		if (typeof part.text !== "string") return refuse(`${at}.text must be a string`, `${at}.text`, "invalid_type");
		texts.push(part.text);
	}
	return texts.join("\n");
}

type Sampling = Pick<CompletionRequest, "temperature" | "top_p" | "max_tokens">;

/** OpenAI's own ranges; the operator's tighter bounds are applied at the call to the model. */
function parseSampling(body: Record<string, unknown>): Sampling | { ok: false; refusal: WireRefusal } {
	const number = (field: string, min: number, max: number, integer = false) => {
		const value = body[field];
		if (value === undefined || value === null) return undefined;
		const fits = typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;
		if (!fits || (integer && !Number.isInteger(value)))
			return refuse(`'${field}' must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`, field);
		return value;
	};
	const temperature = number("temperature", 0, 2);
	const topP = number("top_p", 0, 1);
	const maxTokens = number("max_tokens", 1, 1_000_000, true);
	const maxCompletionTokens = number("max_completion_tokens", 1, 1_000_000, true);
	for (const value of [temperature, topP, maxTokens, maxCompletionTokens]) if (typeof value === "object") return value;
	const max = (maxCompletionTokens ?? maxTokens) as number | undefined;
	return {
		...(temperature === undefined ? {} : { temperature: temperature as number }),
		...(topP === undefined ? {} : { top_p: topP as number }),
		...(max === undefined ? {} : { max_tokens: max }),
	};
}

function parseStop(value: unknown): string[] | { ok: false; refusal: WireRefusal } {
	if (value === undefined || value === null) return [];
	const stops = typeof value === "string" ? [value] : value;
	if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string"))
		return refuse("'stop' must be a string or an array of strings", "stop", "invalid_type");
	if (stops.length > MAX_STOP_SEQUENCES)
		return refuse(`'stop' holds more than ${MAX_STOP_SEQUENCES} sequences`, "stop");
	if (stops.some((s) => s.length === 0 || s.length > MAX_STOP_CHARS))
		return refuse(`Each stop sequence must be 1 to ${MAX_STOP_CHARS} characters`, "stop");
	return stops;
}

// ---- Answers ----

export interface OpenAiUsage {
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
}

export function openAiUsage(usage: Usage): OpenAiUsage {
	return {
		prompt_tokens: usage.input_tokens,
		completion_tokens: usage.output_tokens,
		total_tokens: usage.input_tokens + usage.output_tokens,
	};
}

/** What every answer to one request shares: its id (`chatcmpl-…`), when it began, the model as the client named it. */
export interface CompletionHead {
	id: string;
	created: number;
	model: string;
}

/** The head of completion `id`'s answers, made now. */
export function completionHead(id: string, model: string): CompletionHead {
	return { id: `chatcmpl-${id}`, created: Math.floor(Date.now() / 1000), model };
}

export function chatCompletion(head: CompletionHead, content: string, usage: Usage) {
	return {
		...head,
		object: "chat.completion" as const,
		choices: [
			{
				index: 0,
				message: { role: "assistant" as const, content, refusal: null },
				logprobs: null,
				finish_reason: "stop" as const,
			},
		],
		usage: openAiUsage(usage),
	};
}

/** The first chunk (the role), a text chunk, or the last (`finish_reason`); `usage: null` on each when it is asked for. */
export function completionChunk(
	head: CompletionHead,
	delta: { role?: "assistant"; content?: string },
	finish: "stop" | null,
	includeUsage: boolean,
) {
	return {
		...head,
		object: "chat.completion.chunk" as const,
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		...(includeUsage ? { usage: null } : {}),
	};
}

/** The chunk after the last one when `stream_options.include_usage` is set: no choices, the usage. */
export function usageChunk(head: CompletionHead, usage: Usage) {
	return { ...head, object: "chat.completion.chunk" as const, choices: [], usage: openAiUsage(usage) };
}

/** One server-sent event. */
export function sseEvent(data: unknown): string {
	return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = sseEvent("[DONE]");

export interface ModelEntry {
	id: string;
	object: "model";
	created: number;
	owned_by: string;
}

export function modelList(models: ModelEntry[]) {
	return { object: "list" as const, data: models };
}

// ---- Errors ----

export interface OpenAiErrorBody {
	error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error as the gateway's `{detail, code}` mapping (http-errors.ts) made it, with its param when one was named. */
export interface MappedError {
	status: number;
	detail: string;
	/** cameo's SCREAMING_SNAKE code. */
	code: string;
	param?: string | null;
	headers: Record<string, string>;
}

/** Codes whose own words the client gets, where the `{detail, code}` mapping has generic ones (429s, 503s). */
const OWN_WORDS = new Set(["TOKEN_QUOTA_EXCEEDED", "PROVIDER_UNAVAILABLE", "RATE_LIMITED"]);

/**
 * Any error that reaches the /v1 route, mapped as the rest of the API maps it (status, Retry-After, no 5xx text
 * out), then put in OpenAI's form; a refusal's `param` and its own code are kept.
 */
export function openAiErrorOf(err: unknown) {
	const { status, body, headers } = toHttpError(err);
	const e = (err ?? {}) as { type?: unknown; message?: unknown; data?: { param?: unknown } };
	const own = typeof e.type === "string" && OWN_WORDS.has(e.type) && typeof e.message === "string";
	const param = typeof e.data?.param === "string" ? e.data.param : null;
	return openAiError({
		status,
		headers,
		detail: own ? (e.message as string) : body.detail,
		code: own ? (e.type as string) : body.code,
		param,
	});
}

/** cameo's codes that OpenAI clients know under another name. */
const OPENAI_CODES: Record<string, string> = {
	UNAUTHORIZED: "invalid_api_key",
	CHARACTER_NOT_FOUND: "model_not_found",
	RATE_LIMITED: "rate_limit_exceeded",
	PAYLOAD_TOO_LARGE: "request_too_large",
	VALIDATION_ERROR: "invalid_value",
};

/** The same error in OpenAI's form: `type` from the status (OpenAI's own words), `code` lower-case. */
export function openAiError(mapped: MappedError): {
	status: number;
	body: OpenAiErrorBody;
	headers: Record<string, string>;
} {
	const { status, detail, code, headers } = mapped;
	const type =
		status >= 500
			? "server_error"
			: status === 429
				? code === "TOKEN_QUOTA_EXCEEDED"
					? "insufficient_quota"
					: "rate_limit_error"
				: "invalid_request_error";
	const error = { message: detail, type, param: mapped.param ?? null, code: OPENAI_CODES[code] ?? code.toLowerCase() };
	return { status, body: { error }, headers };
}
