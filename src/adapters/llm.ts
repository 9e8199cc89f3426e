/**
 * The one seam between the chat pipeline and a language model: a model streams text chunks for a list of messages.
 * `createChatModel` picks the configured provider (Gemini, an OpenAI-compatible server, or the offline model), and
 * token counts come from a real tokenizer, so usage and prompt budgets do not depend on the provider.
 */
import type { Config } from "../config.js";
import type { Usage } from "../domain/chat-wire.js";
import { OfflineModel } from "../domain/offline-model.js";
import { countTokens } from "../domain/token-count.js";

export type Provider = "gemini" | "openai";

export type LlmFailureReason = "rate_limited" | "server_error" | "network" | "timeout" | "rejected" | "empty";

/** The provider could not produce a reply: retries are spent, or retrying cannot help. Safe to log: no keys, no prompt. */
export class LlmUnavailableError extends Error {
	constructor(
		readonly provider: Provider,
		readonly reason: LlmFailureReason,
		/** The provider's HTTP status, when it answered with one. */
		readonly status: number | undefined,
		readonly attempts: number,
		model: string,
		detail: string,
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

/** A character's own settings, replacing the configured ones for its replies. */
export interface ModelOverrides {
	model?: string;
	temperature?: number;
	maxOutputTokens?: number;
}

export interface StreamOptions {
	/** Aborting it stops the reply (and its HTTP request); the stream then rejects with an AbortError. */
	signal?: AbortSignal;
	overrides?: ModelOverrides;
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
}

/** What `createChatModel(config).name` will be, without building (or loading) anything. */
export function chatModelName(config: Config): string {
	const { llm } = config;
	if (llm.provider === "gemini") return `gemini:${llm.geminiModel}`;
	if (llm.provider === "openai") return `openai:${llm.openaiModel ?? ""}`;
	return "offline";
}

export function createChatModel(config: Config): ChatModel {
	const { llm } = config;
	if (llm.provider === "offline") return new OfflineModel({ chunkDelayMs: llm.offlineDelayMs });
	// LangChain and the provider SDKs take over a second to load: only processes that call a real model pay for it.
	const load = () =>
		import("./llm-providers.js").then((m) => (llm.provider === "gemini" ? m.geminiChatModel(llm) : m.openaiChatModel(llm)));
	return new LazyChatModel(chatModelName(config), load);
}

/** A model whose implementation is loaded at its first reply. */
class LazyChatModel implements ChatModel {
	private loading?: Promise<ChatModel>;

	constructor(
		readonly name: string,
		private readonly load: () => Promise<ChatModel>,
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
