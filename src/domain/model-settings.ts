/**
 * What a reply is generated with: the operator's configured model settings, replaced by a character's own where the
 * operator allows it. Characters are written by users, so their settings are bounded here, at the call to the model:
 * output tokens and temperature are clamped, and a model name outside the allow-list falls back to the configured
 * model (which also keeps the `model` metric label to a bounded set).
 */

export interface ModelSettings {
	model: string;
	temperature: number;
	maxOutputTokens: number;
}

/** A character's own settings, replacing the configured ones for its replies. */
export interface ModelOverrides {
	model?: string;
	temperature?: number;
	maxOutputTokens?: number;
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

/** A character's own settings (its stored columns), unset ones left to the configuration. */
export function overridesOf(character: {
	llm_model: string | null;
	temperature: number | null;
	max_output_tokens: number | null;
}): ModelOverrides {
	return {
		model: character.llm_model ?? undefined,
		temperature: character.temperature ?? undefined,
		maxOutputTokens: character.max_output_tokens ?? undefined,
	};
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
		...(allowed ? {} : { refusedModel: named }),
	};
}

function clamp(value: number, min: number, max: number): number {
	return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;
}
