/**
 * The one seam between the chat pipeline and a language model: a model streams text chunks for a list of messages.
 * `createChatModel` picks the configured provider (Gemini, an OpenAI-compatible server, or the offline model), and
 * token counts come from a real tokenizer, so usage and prompt budgets do not depend on the provider.
 */
import type { Config } from "../config.js";
import type { Usage } from "../domain/chat-wire.js";
import { OfflineModel } from "../domain/offline-model.js";
import { countTokens } from "../domain/token-count.js";
import type { ModelOverrides } from "../domain/model-settings.js";
import { checkModel } from "./llm-check.js";

export type Provider = "gemini" | "openai";

/**
 * Why a reply failed. `misconfigured`: the provider refused the key, the model name or the permission (Google's 400
 * API_KEY_INVALID, 401, 403, 404): no retry helps, the operator must fix the configuration.
 */
export type LlmFailureReason = "rate_limited" | "server_error" | "network" | "timeout" | "rejected" | "empty" | "misconfigured";

/** The provider could not produce a reply: retries are spent, or retrying cannot help. Safe to log: no keys, no prompt. */
export class LlmUnavailableError extends Error {
	constructor(
		readonly provider: Provider,
		readonly reason: LlmFailureReason,
		/** The provider's HTTP status, when it answered with one. */
		readonly status: number | undefined,
		readonly attempts: number,
		model: string,
		/** What went wrong, in the provider's own words when it gave some (the key redacted). */
		readonly detail: string,
	) {
		super(`${provider}:${model} unavailable (${reason}${status ? `, HTTP ${status}` : ""}) after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${detail}`);
		this.name = "LlmUnavailableError";
	}
}

export { countTokens };

export interface ChatMessage {
	role: "system" | "user" | "assistant";
	content: string;
}

export type { ModelOverrides };

/** What a check of the configured key and model found (`ChatModel.check`). */
export type ModelCheck =
	| { status: "ok" }
	/** The provider refused the key or the model: replies will fail until the operator fixes it. */
	| { status: "misconfigured"; detail: string }
	/** No answer (network, timeout, 5xx): says nothing about the configuration. */
	| { status: "unknown"; detail: string };

export interface StreamOptions {
	/** Aborting it stops the reply (and its HTTP request); the stream then rejects with an AbortError. */
	signal?: AbortSignal;
	overrides?: ModelOverrides;
	/** Which attempt at this reply (0 the first, n the n-th regeneration): a model that would repeat itself varies by it. */
	variant?: number;
}

/** A reply's chunks. Once they have all been read, what the provider said about them. */
export interface ChatStream extends AsyncIterable<string> {
	/** The model that answered, e.g. "gemini:gemini-2.5-pro" when an override picked it. */
	readonly model?: string;
	/** Token counts as the provider reported them, if it did. */
	readonly usage?: Usage;
}

export interface ChatModel {
	/** Reported with each reply (`model` in `chat.ai.msg`) unless the stream names another. */
	readonly name: string;
	/**
	 * The reply in chunks; concatenated they are the whole reply. Rejects with an AbortError once `signal` is aborted,
	 * and with an `LlmUnavailableError` when the provider cannot answer.
	 */
	stream(messages: ChatMessage[], opts?: StreamOptions): ChatStream;
	/** A cheap request that tells whether the key and the configured model are accepted; absent: nothing to check. */
	check?(signal?: AbortSignal): Promise<ModelCheck>;
}

export interface ChatModelOptions {
	/** Called once per model name a character asked for that is not allowed (LLM_ALLOWED_MODELS). */
	onRefusedModel?: (name: string) => void;
}

/** What `createChatModel(config).name` will be, without building (or loading) anything. */
export function chatModelName(config: Config): string {
	const { llm } = config;
	if (llm.provider === "gemini") return `gemini:${llm.geminiModel}`;
	if (llm.provider === "openai") return `openai:${llm.openaiModel ?? ""}`;
	return "offline";
}

export function createChatModel(config: Config, opts: ChatModelOptions = {}): ChatModel {
	const { llm } = config;
	if (llm.provider === "offline") return new OfflineModel({ chunkDelayMs: llm.offlineDelayMs });
	// LangChain and the provider SDKs take over a second to load: only processes that call a real model pay for it.
	const load = () =>
		import("./llm-providers.js").then((m) => (llm.provider === "gemini" ? m.geminiChatModel(llm, opts) : m.openaiChatModel(llm, opts)));
	return new LazyChatModel(chatModelName(config), load, (signal) => checkModel(llm, signal));
}

/** A model whose implementation is loaded at its first reply. */
class LazyChatModel implements ChatModel {
	private loading?: Promise<ChatModel>;

	constructor(
		readonly name: string,
		private readonly load: () => Promise<ChatModel>,
		readonly check: (signal?: AbortSignal) => Promise<ModelCheck>,
	) {}

	stream(messages: ChatMessage[], opts?: StreamOptions): ChatStream {
		this.loading ??= this.load();
		const loading = this.loading;
		let inner: ChatStream | undefined;
		return {
			get model() {
				return inner?.model;
			},
			get usage() {
				return inner?.usage;
			},
			async *[Symbol.asyncIterator]() {
				inner = (await loading).stream(messages, opts);
				yield* inner;
			},
		};
	}
}

/** The provider's own counts when it reported them (`ChatStream.usage`), else ours (the prompt's from assembling it). */
export function usageOf(promptTokens: number, reply: string, reported?: Usage): Usage {
	return reported ?? { input_tokens: promptTokens, output_tokens: countTokens(reply) };
}
