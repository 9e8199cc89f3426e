/**
 * What the chat pipeline knows of a language model: it streams text chunks for a list of messages, and says why when
 * it cannot. The providers (src/adapters/llm/) and the offline model implement it.
 */
import type { Usage } from "./chat-wire.js";
import type { ModelOverrides } from "./model-settings.js";

export type Provider = "gemini" | "openai";

/**
 * Why a reply failed. `misconfigured`: the provider refused the key, the model name or the permission (Google's 400
 * API_KEY_INVALID, 401, 403, 404): no retry helps, the operator must fix the configuration.
 */
export type LlmFailureReason =
	"rate_limited" | "server_error" | "network" | "timeout" | "rejected" | "empty" | "misconfigured";

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
		super(
			`${provider}:${model} unavailable (${reason}${status ? `, HTTP ${status}` : ""}) after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${detail}`,
		);
		this.name = "LlmUnavailableError";
	}
}

export interface ChatMessage {
	role: "system" | "user" | "assistant";
	content: string;
}

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
