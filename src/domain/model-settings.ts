/**
 * What a reply is generated with: the operator's configured model settings, replaced by a character's own and then by
 * the chat's preset where the operator allows it. Characters and presets are written by users, so their settings are
 * bounded here, at the call to the model: output tokens, temperature and top_p are clamped, and a model name outside
 * the allow-list falls back to the configured model (which also keeps the `model` metric label to a bounded set).
 * Characters and presets naming such a model are refused when they are saved (`isModelAllowed`); the fallback is for
 * those saved before the operator shortened the list.
 */

export interface ModelSettings {
	model: string;
	temperature: number;
	maxOutputTokens: number;
	/** Nucleus sampling; unset: the provider's default (nothing is sent). */
	topP?: number;
}

/** A character's own settings and its chat's preset, replacing the configured ones for its replies. */
export interface ModelOverrides {
	model?: string;
	temperature?: number;
	maxOutputTokens?: number;
	topP?: number;
}

/** A chat's preset as stored (chat_sessions.preset) and shown: each key set replaces the character's setting. */
export interface ChatPreset {
	model?: string;
	temperature?: number;
	top_p?: number;
	max_output_tokens?: number;
}

export interface ModelBounds {
	maxOutputTokens: number;
	maxTemperature: number;
	/** Models a character may name besides the configured one. */
	allowedModels: readonly string[];
}

export interface BoundedSettings extends ModelSettings {
	/** The model the character named, when it was not allowed (the configured one is used instead). */
	refusedModel?: string;
}

/**
 * A character's own settings (its stored columns) under its chat's preset, which wins setting by setting; unset ones
 * are left to the configuration.
 */
export function overridesOf(
	character: { llm_model: string | null; temperature: number | null; max_output_tokens: number | null },
	preset: ChatPreset = {},
): ModelOverrides {
	return {
		model: preset.model ?? character.llm_model ?? undefined,
		temperature: preset.temperature ?? character.temperature ?? undefined,
		maxOutputTokens: preset.max_output_tokens ?? character.max_output_tokens ?? undefined,
		topP: preset.top_p,
	};
}

/**
 * The models the operator lets characters and chats name with the provider replies go to: the configured one, and
 * LLM_ALLOWED_MODELS' entries for it. An entry is `model`, or `provider:model` to apply to that provider only (a
 * model name may itself hold colons, as Ollama's `llama3:8b`: only a known provider's name is taken as a prefix).
 */
export function allowedModelsFor(provider: string, configured: string, entries: readonly string[]): string[] {
	const models = entries.flatMap((entry) => {
		const [prefix, ...rest] = entry.split(":");
		if (rest.length === 0 || !PROVIDERS.includes(prefix)) return [entry];
		return prefix === provider ? [rest.join(":")] : [];
	});
	return [...new Set([configured, ...models])];
}

/** The providers' names as `chatModelName` and ChatStream.model spell them (chat-model.ts `Provider`). */
const PROVIDERS: readonly string[] = ["gemini", "openai"];

/** Whether a character or preset may name `model`: null or undefined (no model of its own) always may. */
export function isModelAllowed(model: string | null | undefined, allowed: readonly string[]): boolean {
	return model === null || model === undefined || allowed.includes(model);
}

export function boundSettings(
	defaults: ModelSettings,
	overrides: ModelOverrides,
	bounds: ModelBounds,
): BoundedSettings {
	const named = overrides.model;
	const allowed = named === undefined || named === defaults.model || bounds.allowedModels.includes(named);
	return {
		model: allowed ? (named ?? defaults.model) : defaults.model,
		temperature: clamp(overrides.temperature ?? defaults.temperature, 0, bounds.maxTemperature),
		maxOutputTokens: Math.round(
			clamp(overrides.maxOutputTokens ?? defaults.maxOutputTokens, 1, bounds.maxOutputTokens),
		),
		...(overrides.topP === undefined ? {} : { topP: clamp(overrides.topP, 0, 1) }),
		...(allowed ? {} : { refusedModel: named }),
	};
}

function clamp(value: number, min: number, max: number): number {
	return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;
}
