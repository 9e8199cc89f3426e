/**
 * The characters actions' params: the validator's rules for each field, and the rules it cannot express (a null only
 * for the model settings, at least one change, exactly one of card and png), as refusals for the service to throw.
 */
import { LIST_LIMITS, TEXT_LIMITS } from "./character-card.js";
import { CARD_TEXT_FIELDS, EDITABLE_FIELDS, SLUG_MAX_LENGTH } from "./characters.js";
import type { ParamsRefusal } from "./params-refusal.js";

/** fastest-validator rules for every field a character's owner may set. */
export const CHARACTER_FIELDS = {
	name: { type: "string", trim: true, min: 1, max: TEXT_LIMITS.name },
	slug: { type: "string", min: 1, max: SLUG_MAX_LENGTH, pattern: "^[a-z0-9-]+$" },
	description: { type: "string", trim: true, max: TEXT_LIMITS.description },
	system_prompt: { type: "string", trim: true, min: 1, max: TEXT_LIMITS.system_prompt },
	greeting: { type: "string", trim: true, max: TEXT_LIMITS.greeting },
	is_public: { type: "boolean" },
	is_active: { type: "boolean" },
	// Card fields are not trimmed: they are kept as written.
	...Object.fromEntries(CARD_TEXT_FIELDS.map((field) => [field, { type: "string", max: TEXT_LIMITS[field] }])),
	...Object.fromEntries(
		Object.entries(LIST_LIMITS).map(([field, limit]) => [
			field,
			{ type: "array", max: limit.items, items: { type: "string", max: limit.chars } },
		]),
	),
	// null puts a setting back to the configured default.
	llm_model: { type: "string", trim: true, min: 1, max: 100, pattern: "^[A-Za-z0-9._:/-]+$", nullable: true },
	temperature: { type: "number", min: 0, max: 2, nullable: true },
	max_output_tokens: { type: "number", integer: true, min: 1, max: 65_536, nullable: true },
};

/** The same rules, each optional (an update sets only what it gives). */
export const OPTIONAL_CHARACTER_FIELDS = Object.fromEntries(
	Object.entries(CHARACTER_FIELDS).map(([field, rule]) => [field, { ...rule, optional: true }]),
);

// The validator lets null through for every optional field; only the model settings take it.
const NOT_NULL_FIELDS = Object.entries(CHARACTER_FIELDS)
	.filter(([, rule]) => !(rule as { nullable?: boolean }).nullable)
	.map(([field]) => field);

/** A null for a field other than the model settings would reach a NOT NULL column (a 500): refused as a wrong type. */
export function nullFieldsRefusal(params: object): ParamsRefusal | undefined {
	const fields = NOT_NULL_FIELDS.filter((field) => (params as Record<string, unknown>)[field] === null);
	if (fields.length === 0) return undefined;
	return {
		detail: `${fields.join(", ")} may not be null`,
		errors: fields.map((field) => ({ type: "required", field, message: `The '${field}' field may not be null` })),
	};
}

/** An update that changes nothing. */
export function noChangesRefusal(changes: object): ParamsRefusal | undefined {
	if (Object.keys(changes).length > 0) return undefined;
	const message = `One of ${EDITABLE_FIELDS.join(", ")} is required`;
	const errors = [{ type: "required", field: EDITABLE_FIELDS.join("|"), message }];
	return { detail: "Give at least one field to change", errors };
}

/** An import that gives both a card and a png, or neither. */
export function uploadChoiceRefusal(params: { card?: unknown; png?: string }): ParamsRefusal | undefined {
	if ((params.card === undefined) !== (params.png === undefined)) return undefined;
	const errors = [{ type: "required", field: "card|png", message: "Exactly one of card, png is required" }];
	return { detail: "Give either card or png", errors };
}
