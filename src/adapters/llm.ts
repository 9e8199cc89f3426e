/**
 * The one seam between the chat pipeline and a language model: a model streams text chunks for a list of messages.
 */
import type { Config } from "../config.js";
import { OfflineModel } from "../domain/offline-model.js";

export interface ChatMessage {
	role: "system" | "user" | "assistant";
	content: string;
}

export interface ChatModel {
	/** Reported with each reply (`model` in `chat.ai.msg`). */
	readonly name: string;
	/** The reply in chunks; concatenated they are the whole reply. Rejects once `signal` is aborted. */
	stream(messages: ChatMessage[], opts?: { signal?: AbortSignal }): AsyncIterable<string>;
}

export function createChatModel(_config: Config): ChatModel {
	// Gemini (GOOGLE_API_KEY) and OpenAI-compatible providers come with the LLM issue.
	return new OfflineModel();
}
