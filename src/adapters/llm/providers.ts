/**
 * Gemini and OpenAI-compatible chat models through LangChain, behind `ChatModel`.
 *
 * Failures are handled here, not by LangChain (its retries are off, so each attempt is counted once): a request that
 * fails with 429, 5xx or a network error is retried with exponential backoff and jitter, but only until the first
 * text has been handed out, since a retry after that would repeat text the user has already seen. Every attempt has
 * an idle deadline: the provider must send its first or next chunk within `timeoutMs`.
 */
import { STATUS_CODES } from "node:http";
import pRetry from "p-retry";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import {
	AIMessage,
	HumanMessage,
	SystemMessage,
	type AIMessageChunk,
	type BaseMessage,
} from "@langchain/core/messages";
import { ChatGoogleGenerativeAI, type GoogleGenerativeAIChatInput } from "@langchain/google-genai";
import { ChatOpenAI } from "@langchain/openai";
import type { LlmConfig } from "../../config.js";
import type { Usage } from "../../domain/chat-wire.js";
import { boundSettings, type ModelBounds, type ModelSettings } from "../../domain/model-settings.js";
import {
	LlmUnavailableError,
	type ChatMessage,
	type ChatModel,
	type ChatStream,
	type LlmFailureReason,
	type Provider,
	type StreamOptions,
} from "../../domain/chat-model.js";
import { isMisconfiguration } from "./check.js";
import { ProviderAddressRefused } from "./guarded-fetch.js";
import { allowedModels } from "./models.js";

export interface ChatModelOptions {
	/** Called once per model name a character asked for that is not allowed (LLM_ALLOWED_MODELS). */
	onRefusedModel?: (name: string) => void;
	/** How an OpenAI-compatible server is fetched: a user's own goes through the address check (guarded-fetch.ts). */
	fetch?: typeof fetch;
}

const RETRYABLE: ReadonlySet<LlmFailureReason> = new Set(["rate_limited", "server_error", "network"]);

/** Why one attempt failed; it becomes an LlmUnavailableError once no retry follows. */
class AttemptFailed extends Error {
	constructor(
		readonly reason: LlmFailureReason,
		readonly status: number | undefined,
		readonly detail: string,
	) {
		super(detail);
	}
}

interface Policy {
	timeoutMs: number;
	maxRetries: number;
	retryDelayMs: number;
	/** Redacted from any error text we pass on. */
	apiKey: string;
	bounds: ModelBounds;
	onRefusedModel?: (name: string) => void;
}

// Passed explicitly so that no environment variable (LangChain honours LANGSMITH_GATEWAY) reroutes the requests.
const GEMINI_ENDPOINT = "https://generativelanguage.googleapis.com";
const OPENAI_ENDPOINT = "https://api.openai.com/v1";
// The OpenAI client refuses to start without a key; local servers ignore it.
const NO_KEY = "not-needed";
// A model name refused once is logged once; past this many names, the log says so no more (a user can invent many).
const REFUSED_NAMES_LOGGED = 1000;

/**
 * Thinking kept low for chat: Gemini models think by default, billed as output tokens and counted against
 * maxOutputTokens (a short reply budget can end up empty), and a chat turn does not need it. Gemini 3.x takes a
 * level (LOW is the lowest every 3.x model accepts: 3.7+ Flash refuse MINIMAL), 2.5 a token budget (0 = off, but
 * 2.5 Pro thinks at least 128). Sending both fields is a 400. Other models (Gemma...) get none.
 */
export function thinkingConfigFor(model: string): GoogleGenerativeAIChatInput["thinkingConfig"] {
	const version = /^gemini-(\d+)(?:\.\d+)?-/.exec(model);
	const major = version ? Number(version[1]) : /^gemini-[a-z-]+-latest$/.test(model) ? 3 : 0;
	if (major >= 3) return { thinkingLevel: "LOW" };
	if (/^gemini-2\.5-pro/.test(model)) return { thinkingBudget: 128 };
	if (/^gemini-2\.5-flash/.test(model)) return { thinkingBudget: 0 };
	return undefined;
}

export function geminiChatModel(llm: LlmConfig, opts: ChatModelOptions = {}): ChatModel {
	const apiKey = llm.googleApiKey ?? "";
	return new LangChainChatModel("gemini", defaults(llm, llm.geminiModel), policy(llm, apiKey, opts), (s) =>
		observeDroppedResponses(
			new ChatGoogleGenerativeAI({
				model: s.model,
				temperature: s.temperature,
				maxOutputTokens: s.maxOutputTokens,
				topP: s.topP,
				apiKey,
				baseUrl: llm.geminiBaseUrl ?? GEMINI_ENDPOINT,
				maxRetries: 0,
				thinkingConfig: thinkingConfigFor(s.model),
			}),
		),
	);
}

interface GeminiSdkModel {
	generateContentStream(...args: unknown[]): Promise<{ response: Promise<unknown> }>;
}

/**
 * The Gemini SDK tees each stream into the chunks, which LangChain reads, and an aggregate `response` promise, which
 * it drops. When a stream is aborted or breaks, that promise rejects with nobody listening: an unhandled rejection,
 * fatal to a Node process (seen here on every stopped reply). Its error is the stream's own, which the reader gets,
 * so here it is observed and dropped.
 */
function observeDroppedResponses(model: ChatGoogleGenerativeAI): ChatGoogleGenerativeAI {
	// `client` is private in the typings; it is the SDK's GenerativeModel.
	const sdk = (model as unknown as { client: GeminiSdkModel }).client;
	const start = sdk.generateContentStream.bind(sdk);
	sdk.generateContentStream = async (...args) => {
		const result = await start(...args);
		result.response.catch(() => undefined);
		return result;
	};
	return model;
}

export function openaiChatModel(llm: LlmConfig, opts: ChatModelOptions = {}): ChatModel {
	const apiKey = llm.openaiApiKey ?? NO_KEY;
	return new LangChainChatModel(
		"openai",
		defaults(llm, llm.openaiModel ?? ""),
		policy(llm, apiKey, opts),
		(s) =>
			new ChatOpenAI({
				model: s.model,
				temperature: s.temperature,
				maxTokens: s.maxOutputTokens,
				topP: s.topP,
				apiKey,
				maxRetries: 0,
				configuration: { baseURL: llm.openaiBaseUrl ?? OPENAI_ENDPOINT, fetch: opts.fetch },
			}),
	);
}

function defaults(llm: LlmConfig, model: string): ModelSettings {
	return { model, temperature: llm.temperature, maxOutputTokens: llm.maxOutputTokens };
}

function policy(llm: LlmConfig, apiKey: string, opts: ChatModelOptions): Policy {
	const bounds = {
		maxOutputTokens: llm.maxOutputTokensLimit,
		maxTemperature: llm.maxTemperature,
		allowedModels: allowedModels(llm),
	};
	return {
		timeoutMs: llm.timeoutMs,
		maxRetries: llm.maxRetries,
		retryDelayMs: llm.retryDelayMs,
		apiKey,
		bounds,
		onRefusedModel: opts.onRefusedModel,
	};
}

/** A stream that has produced its first text (or ended without any), ready to be read on. */
interface Opened {
	chunks: AsyncIterator<AIMessageChunk>;
	attempt: Attempt;
	first: string | undefined;
	/** The stream ended before any text: `chunks` must not be read again. */
	done: boolean;
	usage: UsageTally;
}

class LangChainChatModel implements ChatModel {
	readonly name: string;
	private readonly client: BaseChatModel;
	private readonly refusedNames = new Set<string>();

	constructor(
		private readonly provider: Provider,
		private readonly defaults: ModelSettings,
		private readonly policy: Policy,
		private readonly build: (settings: ModelSettings) => BaseChatModel,
	) {
		this.name = `${provider}:${defaults.model}`;
		this.client = build(defaults);
	}

	stream(messages: ChatMessage[], opts: StreamOptions = {}): ChatStream {
		const { overrides = {}, signal } = opts;
		const { refusedModel, ...settings } = boundSettings(this.defaults, overrides, this.policy.bounds);
		if (
			refusedModel !== undefined &&
			this.refusedNames.size < REFUSED_NAMES_LOGGED &&
			!this.refusedNames.has(refusedModel)
		) {
			this.refusedNames.add(refusedModel);
			this.policy.onRefusedModel?.(refusedModel);
		}
		// LangChain models take these settings only at construction; building one is cheap (no connection).
		const same = (Object.keys(settings) as (keyof ModelSettings)[]).every((k) => settings[k] === this.defaults[k]);
		const client = same ? this.client : this.build(settings);
		const reply: { model: string; usage?: Usage; [Symbol.asyncIterator](): AsyncIterator<string> } = {
			model: `${this.provider}:${settings.model}`,
			[Symbol.asyncIterator]: () => {
				const input = this.provider === "gemini" ? foldLateSystemMessages(messages) : messages;
				return this.generate(client, settings.model, input.map(toLangChain), signal, (usage) => (reply.usage = usage));
			},
		};
		return reply;
	}

	private async *generate(
		client: BaseChatModel,
		model: string,
		input: BaseMessage[],
		signal: AbortSignal | undefined,
		report: (usage: Usage | undefined) => void,
	): AsyncGenerator<string> {
		if (signal?.aborted) throw abortError(signal);
		const { maxRetries, retryDelayMs } = this.policy;
		let attempts = 0;
		let opened: Opened;
		try {
			opened = await pRetry(
				() => {
					attempts += 1;
					return this.open(client, input, signal);
				},
				{
					retries: maxRetries,
					factor: 2,
					minTimeout: retryDelayMs,
					maxTimeout: retryDelayMs * 2 ** maxRetries,
					randomize: true,
					signal,
					shouldRetry: (err) => err instanceof AttemptFailed && RETRYABLE.has(err.reason),
				},
			);
		} catch (err) {
			throw this.final(err, signal, attempts, model);
		}

		const { chunks, attempt, usage } = opened;
		let texts = 0;
		try {
			if (opened.first) {
				texts += 1;
				yield opened.first;
			}
			while (!opened.done) {
				const next = await attempt.wait(chunks.next());
				if (next.done) break;
				usage.add(next.value);
				if (next.value.text) {
					texts += 1;
					yield next.value.text;
				}
			}
		} catch (err) {
			throw this.final(this.failure(err, attempt, signal), signal, attempts, model);
		} finally {
			// Ends the HTTP request too when the reader stopped early.
			attempt.end();
		}
		if (texts === 0)
			throw this.final(new AttemptFailed("empty", undefined, "the reply had no text"), signal, attempts, model);
		report(usage.reported());
	}

	/** One attempt: start the request and read until the first text (or the end). */
	private async open(client: BaseChatModel, input: BaseMessage[], signal: AbortSignal | undefined): Promise<Opened> {
		const attempt = new Attempt(this.policy.timeoutMs, signal);
		const usage = new UsageTally();
		try {
			const stream = await attempt.wait(client.stream(input, { signal: attempt.signal }));
			const chunks = stream[Symbol.asyncIterator]();
			for (;;) {
				const next = await attempt.wait(chunks.next());
				if (next.done) return { chunks, attempt, first: undefined, done: true, usage };
				usage.add(next.value);
				if (next.value.text) return { chunks, attempt, first: next.value.text, done: false, usage };
			}
		} catch (err) {
			attempt.end();
			throw this.failure(err, attempt, signal);
		}
	}

	/** What went wrong in an attempt: an abort by the caller stays one; anything else is classified. */
	private failure(err: unknown, attempt: Attempt, signal: AbortSignal | undefined): Error {
		if (signal?.aborted) return abortError(signal);
		if (attempt.timedOut) return new AttemptFailed("timeout", undefined, `no answer for ${this.policy.timeoutMs} ms`);
		const status = httpStatus(err);
		if (status !== undefined) {
			// The provider's own words, the key redacted (OpenAI quotes a wrong key masked; the mask is kept).
			const said = redact(providerMessage(err), this.policy.apiKey).slice(0, 300);
			const reason =
				status === 429
					? "rate_limited"
					: status >= 500
						? "server_error"
						: isMisconfiguration(status, said)
							? "misconfigured"
							: "rejected";
			return new AttemptFailed(reason, status, said || (STATUS_CODES[status] ?? "error"));
		}
		// A user's own server at an address the policy refuses: no retry reaches it (guarded-fetch.ts).
		const refused = addressRefusal(err);
		if (refused) return new AttemptFailed("misconfigured", undefined, refused.message);
		// No HTTP status: the request never got an answer (refused, reset, DNS, broken stream).
		const message = err instanceof Error ? err.message : String(err);
		return new AttemptFailed("network", undefined, redact(message, this.policy.apiKey).slice(0, 300));
	}

	private final(err: unknown, signal: AbortSignal | undefined, attempts: number, model: string): Error {
		if (signal?.aborted) return abortError(signal);
		if (err instanceof AttemptFailed)
			return new LlmUnavailableError(this.provider, err.reason, err.status, attempts, model, err.detail);
		return err instanceof Error ? err : new Error(String(err));
	}
}

/** One HTTP request: its own abort controller (the caller's signal still applies) and an idle deadline. */
class Attempt {
	readonly signal: AbortSignal;
	timedOut = false;
	private readonly controller = new AbortController();

	constructor(
		private readonly timeoutMs: number,
		callerSignal: AbortSignal | undefined,
	) {
		this.signal = callerSignal ? AbortSignal.any([callerSignal, this.controller.signal]) : this.controller.signal;
	}

	/** Awaits the provider; the clock runs only while we wait for it, not while the reader handles a chunk. */
	async wait<T>(step: Promise<T>): Promise<T> {
		const timer = setTimeout(() => {
			this.timedOut = true;
			this.controller.abort();
		}, this.timeoutMs);
		try {
			return await step;
		} finally {
			clearTimeout(timer);
		}
	}

	end(): void {
		this.controller.abort();
	}
}

/**
 * Sums the usage LangChain attaches to chunks: Gemini reports it on every chunk (LangChain turns the running totals
 * into increments), OpenAI-compatible servers once at the end.
 */
class UsageTally {
	private input = 0;
	private output = 0;
	private seen = false;

	add(chunk: AIMessageChunk): void {
		const usage = chunk.usage_metadata;
		if (!usage) return;
		this.seen = true;
		this.input += usage.input_tokens;
		// Gemini's thinking (thoughtsTokenCount) is billed as output but left out of output_tokens by LangChain; the
		// total holds it. The totals are running ones on Gemini, so the increments sum to the final counts.
		this.output += Math.max(usage.output_tokens, (usage.total_tokens ?? 0) - usage.input_tokens);
	}

	reported(): Usage | undefined {
		return this.seen ? { input_tokens: this.input, output_tokens: this.output } : undefined;
	}
}

/**
 * Gemini takes one system instruction, first; LangChain throws on any later system message. Instructions placed
 * after the history (a card's post-history instructions) join the user turn before them, where they keep their
 * weight as the last thing the model reads.
 */
export function foldLateSystemMessages(messages: ChatMessage[]): ChatMessage[] {
	const out: ChatMessage[] = [];
	for (const [i, m] of messages.entries()) {
		const previous = out.at(-1);
		if (m.role !== "system" || i === 0) out.push({ ...m });
		else if (previous && previous.role === "user") previous.content += `\n\n[${m.content}]`;
		else out.push({ role: "user", content: `[${m.content}]` });
	}
	return out;
}

function toLangChain(message: ChatMessage): BaseMessage {
	switch (message.role) {
		case "system":
			return new SystemMessage(message.content);
		case "user":
			return new HumanMessage(message.content);
		case "assistant":
			return new AIMessage(message.content);
	}
}

/**
 * The provider's message on the SDKs' errors: OpenAI's APIError carries the body's `error.message`; Google's
 * GoogleGenerativeAIFetchError a text "…: [400 Bad Request] API key not valid. …" and the body's `errorDetails`.
 */
function providerMessage(err: unknown): string {
	const e = err as { error?: { message?: unknown }; message?: unknown; errorDetails?: { reason?: unknown }[] } | null;
	if (typeof e?.error?.message === "string") return e.error.message;
	const text = typeof e?.message === "string" ? e.message : "";
	const said = /\[\d{3}[^\]]*\]\s*(.*?)(?:\s*\[\{.*)?$/s.exec(text)?.[1] ?? text;
	const reason = e?.errorDetails?.find((d) => typeof d.reason === "string")?.reason as string | undefined;
	return reason && !said.includes(reason) ? `${said} (${reason})` : said;
}

/** The address check's refusal, wherever the SDK and fetch wrapped it (`cause` chains). */
function addressRefusal(err: unknown): ProviderAddressRefused | undefined {
	for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
		if (e instanceof ProviderAddressRefused) return e;
	return undefined;
}

/** The HTTP status on the SDKs' errors (OpenAI's APIError, Google's GoogleGenerativeAIFetchError). */
function httpStatus(err: unknown): number | undefined {
	const status = (err as { status?: unknown } | null)?.status;
	return typeof status === "number" && status >= 400 && status <= 599 ? status : undefined;
}

function abortError(signal: AbortSignal): Error {
	const reason: unknown = signal.reason;
	return reason instanceof Error && reason.name === "AbortError"
		? reason
		: new DOMException("The operation was aborted", "AbortError");
}

function redact(text: string, secret: string): string {
	return secret && secret !== NO_KEY ? text.split(secret).join("[redacted]") : text;
}
