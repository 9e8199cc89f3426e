/**
 * Builds the language model the chat pipeline talks to (`ChatModel`, src/domain/chat-model.ts).
 * `createChatModel` picks the configured provider (Gemini, an OpenAI-compatible server, or the offline model), and
 * token counts come from a real tokenizer, so usage and prompt budgets do not depend on the provider.
 * A new provider is this folder: its model in providers.ts, its key check in check.ts, its name and choice here.
 */
import type { Config } from "../../config.js";
import type { Usage } from "../../domain/chat-wire.js";
import type { ChatMessage, ChatModel, ChatStream, ModelCheck, StreamOptions } from "../../domain/chat-model.js";
import { OfflineModel } from "../../domain/offline-model.js";
import { countTokens } from "../../domain/token-count.js";
import { configuredModel } from "./models.js";
import { checkModel } from "./check.js";
import type { ChatModelOptions } from "./providers.js";

export { countTokens };

/** What `createChatModel(config).name` will be, without building (or loading) anything. */
export function chatModelName(config: Config): string {
	const { provider } = config.llm;
	return provider === "offline" ? "offline" : `${provider}:${configuredModel(config.llm)}`;
}

export function createChatModel(config: Config, opts: ChatModelOptions = {}): ChatModel {
	const { llm } = config;
	if (llm.provider === "offline") return new OfflineModel({ chunkDelayMs: llm.offlineDelayMs });
	// LangChain and the provider SDKs take over a second to load: only processes that call a real model pay for it.
	const load = () =>
		import("./providers.js").then((m) =>
			llm.provider === "gemini" ? m.geminiChatModel(llm, opts) : m.openaiChatModel(llm, opts),
		);
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
