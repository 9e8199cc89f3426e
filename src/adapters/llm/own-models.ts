/**
 * The model a user's replies are written by: their own provider when they set one (`PUT /me/provider`), else the
 * operator's. Only the ai-consumer builds these: the key is decrypted here, held in memory for the model, and never
 * logged. A user's choice is read at their first reply and kept for OWN_MODEL_TTL_MS (a missed change event is seen
 * within that); a change is broadcast and drops the entry on every node at once.
 */
import type { Config, LlmConfig } from "../../config.js";
import { LlmUnavailableError, type ChatMessage, type ChatModel, type ChatStream } from "../../domain/chat-model.js";
import { decryptKey, type StoredOwnProvider } from "../../domain/own-provider.js";
import type { OwnProviderStore } from "../own-provider-store.js";
import { guardedFetch } from "./guarded-fetch.js";

/** The model for one reply, and whether it runs on the user's own key (then no server quota or usage counts it). */
export interface ChosenModel {
	model: ChatModel;
	own: boolean;
}

const OWN_MODEL_TTL_MS = 30_000;
/** Entries kept at most; the oldest go first (a map keeps insertion order). */
const MAX_ENTRIES = 10_000;
/** What a user's own model is labelled as in metrics: user-chosen names would make unbounded label sets. */
export const OWN_KEY_METRIC_LABEL = "own-key";

export class OwnModels {
	/** Each user's own model; null: they have none. */
	private readonly cached = new Map<string, { own: ChatModel | null; until: number }>();
	/** One checked fetch for every user's server (the check depends on the operator's setting only). */
	private readonly fetch: typeof fetch;

	constructor(
		private readonly store: OwnProviderStore,
		private readonly config: Config,
		/** The operator's model, read at each reply (tests replace it). */
		private readonly operators: () => ChatModel,
	) {
		this.fetch = guardedFetch(config.allowPrivateProviderUrls);
	}

	async for(username: string): Promise<ChosenModel> {
		const now = Date.now();
		let entry = this.cached.get(username);
		if (!entry || entry.until <= now) {
			const stored = await this.store.sealed(username);
			entry = { own: stored ? await this.build(stored) : null, until: now + OWN_MODEL_TTL_MS };
			this.cached.delete(username);
			if (this.cached.size >= MAX_ENTRIES) this.cached.delete(this.cached.keys().next().value as string);
			this.cached.set(username, entry);
		}
		return entry.own ? { model: entry.own, own: true } : { model: this.operators(), own: false };
	}

	/** The user changed or removed their provider: their next reply reads it again. */
	forget(username: string): void {
		this.cached.delete(username);
	}

	private async build(stored: StoredOwnProvider): Promise<ChatModel> {
		let apiKey: string;
		try {
			apiKey = decryptKey(this.secretsKey(), stored.user_id, stored.key_ciphertext);
		} catch {
			return new UnusableModel(stored, "the stored key cannot be decrypted (SECRETS_KEY changed): enter it again");
		}
		const llm = ownLlmConfig(this.config.llm, stored, apiKey);
		// Loaded on demand, as for the operator's model (factory.ts): LangChain takes a second to import.
		const providers = await import("./providers.js");
		return stored.provider === "gemini"
			? providers.geminiChatModel(llm)
			: providers.openaiChatModel(llm, { fetch: this.fetch });
	}

	private secretsKey(): Buffer {
		if (!this.config.secretsKey) throw new Error("SECRETS_KEY is not set");
		return this.config.secretsKey;
	}
}

/**
 * The operator's settings with the user's provider, key and model: the same bounds on temperature and output tokens,
 * but no allow-list (the user pays), so a character's or chat's model name falls back to the user's model. Gemini
 * keys go to the operator's Gemini endpoint (Google's unless GEMINI_BASE_URL says otherwise).
 */
export function ownLlmConfig(llm: LlmConfig, stored: StoredOwnProvider, apiKey: string): LlmConfig {
	const common = { ...llm, provider: stored.provider, allowedModels: [] };
	if (stored.provider === "gemini")
		return { ...common, googleApiKey: apiKey, geminiModel: stored.model ?? llm.geminiModel };
	return {
		...common,
		openaiApiKey: apiKey,
		openaiBaseUrl: stored.base_url ?? undefined,
		openaiModel: stored.model ?? llm.openaiModel,
	};
}

/** A user's provider that cannot be used as stored: each reply fails as a misconfiguration the user must fix. */
class UnusableModel implements ChatModel {
	readonly name: string;

	constructor(
		private readonly stored: StoredOwnProvider,
		private readonly detail: string,
	) {
		this.name = `${stored.provider}:${stored.model ?? "default"}`;
	}

	stream(_messages: ChatMessage[]): ChatStream {
		const { provider, model } = this.stored;
		const detail = this.detail;
		return {
			// eslint-disable-next-line require-yield
			async *[Symbol.asyncIterator]() {
				throw new LlmUnavailableError(provider, "misconfigured", undefined, 0, model ?? "default", detail);
			},
		};
	}
}
