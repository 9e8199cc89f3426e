/**
 * A chat's preset: the model settings its owner chose for that chat with PATCH /sessions/{id}, each replacing the
 * character's (`overridesOf`, model-settings.ts). They are refused beyond the operator's bounds when set (and still
 * clamped at reply time, for bounds lowered since); null clears one, so the character's setting applies again.
 */
import { CHARACTER_FIELDS } from "./character-params.js";
import type { ChatPreset } from "./model-settings.js";

export const PRESET_FIELDS = ["model", "temperature", "top_p", "max_output_tokens"] as const;
type PresetField = (typeof PRESET_FIELDS)[number];

/** What a PATCH gives of the preset: a value sets it, null clears it, a field left out stays. */
export type PresetChange = { [F in PresetField]?: ChatPreset[F] | null };

/** The operator's bounds a preset is checked against (LLM_MAX_TEMPERATURE, LLM_MAX_OUTPUT_TOKENS_LIMIT). */
export interface PresetBounds {
	maxTemperature: number;
	maxOutputTokensLimit: number;
}

/** fastest-validator rules for the preset's fields, within the operator's bounds; the model is checked apart. */
export function presetParams(bounds: PresetBounds) {
	return {
		model: { ...CHARACTER_FIELDS.llm_model, optional: true },
		temperature: { type: "number", min: 0, max: bounds.maxTemperature, nullable: true, optional: true },
		top_p: { type: "number", min: 0, max: 1, nullable: true, optional: true },
		max_output_tokens: {
			type: "number",
			integer: true,
			min: 1,
			max: bounds.maxOutputTokensLimit,
			nullable: true,
			optional: true,
		},
	};
}

/** The preset fields `params` gives, or undefined when it gives none. */
export function presetChange(params: PresetChange): PresetChange | undefined {
	const given = PRESET_FIELDS.filter((field) => params[field] !== undefined);
	if (given.length === 0) return undefined;
	return Object.fromEntries(given.map((field) => [field, params[field]])) as PresetChange;
}

/** The preset as GET /sessions/{id} shows it: every field, null where the character's setting applies. */
export function toPresetView(preset: ChatPreset | undefined) {
	return {
		model: preset?.model ?? null,
		temperature: preset?.temperature ?? null,
		top_p: preset?.top_p ?? null,
		max_output_tokens: preset?.max_output_tokens ?? null,
	};
}
