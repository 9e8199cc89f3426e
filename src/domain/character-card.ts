/**
 * Character cards, the format SillyTavern, RisuAI and the character hubs exchange personas in, to and from our
 * characters: V1 (flat fields), V2 (`chara_card_v2`, github.com/malfoyslastname/character-card-spec-v2) and V3
 * (`chara_card_v3`, github.com/kwaroran/character-card-spec-v3).
 *
 * Import loses nothing: the fields we model get columns, the card's `extensions` are kept verbatim, and every other
 * `data` field (character_book, assets, nickname, ...) is parked in `extensions.cameo_card_extra`, which export
 * unpacks again. Only V1 cards' and SillyTavern's app-local top-level fields (`chat`, `fav`, ...) are not kept.
 */
import type { CharacterRecord } from "./characters.js";

/** Why a card or a card PNG was refused; the service turns each into an HTTP status. */
export type CardProblem =
	| "invalid_png"
	| "invalid_image"
	| "invalid_card"
	| "invalid_form"
	| "too_large"
	| "too_many_chunks"
	| "image_too_large";

export class CardError extends Error {
	constructor(
		readonly problem: CardProblem,
		message: string,
		readonly field?: string,
	) {
		super(message);
		this.name = "CardError";
	}
}

export const CARD_V2_SPEC = "chara_card_v2";
export const CARD_V3_SPEC = "chara_card_v3";
/** The key inside `extensions` that holds what a card carries beyond our columns; reserved, so refused on import. */
export const CARD_EXTRA_KEY = "cameo_card_extra";

/**
 * Longest value of each text field, for cards and for create/update alike. Generous because real cards keep the
 * whole persona in `description`; personality stays at half so the derived system prompt fits its own limit.
 */
export const TEXT_LIMITS = {
	name: 80,
	description: 20_000,
	personality: 10_000,
	scenario: 10_000,
	greeting: 20_000,
	mes_example: 20_000,
	system_prompt: 20_000,
	post_history_instructions: 20_000,
	creator_notes: 20_000,
	creator: 200,
	character_version: 200,
} as const;
export const LIST_LIMITS = {
	alternate_greetings: { items: 100, chars: 20_000 },
	tags: { items: 100, chars: 100 },
} as const;
/** A whole card as UTF-8 JSON; the gateway's JSON body limit is the same. */
export const MAX_CARD_BYTES = 2 * 1024 * 1024;
/** Nesting of objects and arrays, the card itself included; real lorebooks and extensions stay well under it. */
export const MAX_CARD_DEPTH = 20;
const MAX_ASSETS = 1000;
const MAX_SOURCES = 100;
const MAX_SOURCE_CHARS = 2000;

/** A card's content in our terms: the ai_characters columns it fills. */
export type CardCharacter = Pick<
	CharacterRecord,
	| "name"
	| "description"
	| "personality"
	| "scenario"
	| "greeting"
	| "mes_example"
	| "system_prompt"
	| "post_history_instructions"
	| "alternate_greetings"
	| "creator_notes"
	| "creator"
	| "character_version"
	| "tags"
	| "extensions"
>;

export interface CardDataV2 {
	name: string;
	description: string;
	personality: string;
	scenario: string;
	first_mes: string;
	mes_example: string;
	creator_notes: string;
	system_prompt: string;
	post_history_instructions: string;
	alternate_greetings: string[];
	character_book?: Record<string, unknown>;
	tags: string[];
	creator: string;
	character_version: string;
	extensions: Record<string, unknown>;
	[field: string]: unknown;
}
export interface CardV2 {
	spec: typeof CARD_V2_SPEC;
	spec_version: "2.0";
	data: CardDataV2;
}

export interface CardAsset {
	type: string;
	uri: string;
	name: string;
	ext: string;
}
export interface CardDataV3 extends CardDataV2 {
	assets?: CardAsset[];
	nickname?: string;
	creator_notes_multilingual?: Record<string, string>;
	source?: string[];
	group_only_greetings: string[];
	creation_date?: number;
	modification_date?: number;
}
export interface CardV3 {
	spec: typeof CARD_V3_SPEC;
	spec_version: "3.0";
	data: CardDataV3;
}

/** What `extensions.cameo_card_extra` holds. */
interface CardExtra {
	/** The card's `data` fields without a column of their own. */
	fields?: Record<string, unknown>;
	/** Set when the card had no system prompt and we wrote this one, so export can give back the empty one. */
	derived_system_prompt?: string;
}

type Rule<T> = (value: unknown, field: string) => T;

const invalid = (message: string, field?: string) => new CardError("invalid_card", message, field);

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

const text =
	(max: number): Rule<string> =>
	(value, field) => {
		if (typeof value !== "string") throw invalid(`${field} must be a string`, field);
		if (value.length > max) throw invalid(`${field} is longer than ${max} characters`, field);
		return value;
	};

const list =
	<T>(items: number, item: Rule<T>): Rule<T[]> =>
	(value, field) => {
		if (!Array.isArray(value)) throw invalid(`${field} must be an array`, field);
		if (value.length > items) throw invalid(`${field} has more than ${items} entries`, field);
		return value.map((entry, i) => item(entry, `${field}[${i}]`));
	};

const object: Rule<Record<string, unknown>> = (value, field) => {
	if (!isPlainObject(value)) throw invalid(`${field} must be an object`, field);
	return value;
};

const finiteNumber: Rule<number> = (value, field) => {
	if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(`${field} must be a number`, field);
	return value;
};

const textRecord =
	(max: number): Rule<Record<string, string>> =>
	(value, field) => {
		const record = object(value, field);
		for (const [key, entry] of Object.entries(record)) text(max)(entry, `${field}.${key}`);
		return record as Record<string, string>;
	};

const asset: Rule<CardAsset> = (value, field) => {
	const record = object(value, field);
	for (const key of ["type", "uri", "name", "ext"]) text(MAX_CARD_BYTES)(record[key], `${field}.${key}`);
	return record as unknown as CardAsset;
};

const greetings = list(LIST_LIMITS.alternate_greetings.items, text(LIST_LIMITS.alternate_greetings.chars));

/** Card text field -> column; `first_mes` is our greeting. */
const TEXT_COLUMNS = {
	name: "name",
	description: "description",
	personality: "personality",
	scenario: "scenario",
	first_mes: "greeting",
	mes_example: "mes_example",
	creator_notes: "creator_notes",
	system_prompt: "system_prompt",
	post_history_instructions: "post_history_instructions",
	creator: "creator",
	character_version: "character_version",
} as const;
const MODELED_FIELDS = new Set<string>([...Object.keys(TEXT_COLUMNS), "alternate_greetings", "tags", "extensions"]);
const V1_FIELDS = ["name", "description", "personality", "scenario", "first_mes", "mes_example"];

/**
 * Type checks for the spec's fields we don't model; anything else unknown is kept as it is. A Map, because card
 * keys such as "__proto__" or "toString" must not find Object.prototype's members.
 */
const EXTRA_RULES = new Map<string, Rule<unknown>>([
	["character_book", object],
	["assets", list(MAX_ASSETS, asset)],
	["nickname", text(TEXT_LIMITS.name)],
	["creator_notes_multilingual", textRecord(TEXT_LIMITS.creator_notes)],
	["source", list(MAX_SOURCES, text(MAX_SOURCE_CHARS))],
	["group_only_greetings", greetings],
	["creation_date", finiteNumber],
	["modification_date", finiteNumber],
]);

/**
 * Refuses what would be costly to walk or store (or overflow the stack when serialized) before looking inside, and
 * text PostgreSQL cannot store (a NUL character, in a value or a key).
 */
export function checkCardSize(card: unknown): void {
	checkDepth(card, 1);
	const bytes = Buffer.byteLength(JSON.stringify(card) ?? "");
	if (bytes > MAX_CARD_BYTES) {
		throw new CardError("too_large", `The card is ${bytes} bytes; at most ${MAX_CARD_BYTES} are accepted`);
	}
}

function checkDepth(value: unknown, depth: number): void {
	if (typeof value === "string" && value.includes("\u0000")) throw invalid("The card contains a NUL character");
	if (typeof value !== "object" || value === null) return;
	if (depth > MAX_CARD_DEPTH) throw invalid(`The card is nested more than ${MAX_CARD_DEPTH} levels deep`);
	for (const [key, child] of Object.entries(value)) {
		if (key.includes("\u0000")) throw invalid("The card contains a NUL character");
		checkDepth(child, depth + 1);
	}
}

/** The card's fields (V2/V3 `data`, or a V1 card's own) and the path prefix that names them in errors. */
function cardFields(card: unknown): { fields: Record<string, unknown>; prefix: string } {
	if (!isPlainObject(card)) throw invalid("A character card must be a JSON object");
	if ("spec" in card) {
		if (card.spec !== CARD_V2_SPEC && card.spec !== CARD_V3_SPEC) {
			const shown = typeof card.spec === "string" ? JSON.stringify(card.spec.slice(0, 40)) : typeof card.spec;
			throw invalid(`Unknown card spec ${shown}: expected ${CARD_V2_SPEC} or ${CARD_V3_SPEC}`, "spec");
		}
		return { fields: object(card.data, "data"), prefix: "data." };
	}
	if ("name" in card) return { fields: Object.fromEntries(V1_FIELDS.map((f) => [f, card[f]])), prefix: "" };
	throw invalid(`Not a character card: expected "spec" (${CARD_V2_SPEC} or ${CARD_V3_SPEC}) or a V1 card's "name"`);
}

/** "You are {name}." plus the personality: our system prompt is required, a card's may be empty. */
function deriveSystemPrompt(name: string, personality: string): string {
	const trait = personality.trim();
	return trait ? `You are ${name}.\n\n${trait}` : `You are ${name}.`;
}

/** A parsed card JSON (V1, V2 or V3) as the columns of a new character; throws CardError with the reason. */
export function characterFromCard(card: unknown): CardCharacter {
	checkCardSize(card);
	const { fields, prefix } = cardFields(card);
	// Absent and null both mean "not filled in", as card editors write either.
	const read = <T>(field: string, rule: Rule<T>, fallback: T): T =>
		fields[field] == null ? fallback : rule(fields[field], prefix + field);

	const columns = Object.fromEntries(
		Object.entries(TEXT_COLUMNS).map(([field, column]) => [column, read(field, text(TEXT_LIMITS[column]), "")]),
	) as Pick<CardCharacter, (typeof TEXT_COLUMNS)[keyof typeof TEXT_COLUMNS]>;
	columns.name = columns.name.trim();
	if (!columns.name) throw invalid(`The card has no name (${prefix}name)`, `${prefix}name`);

	const extensions = read("extensions", object, {});
	if (CARD_EXTRA_KEY in extensions)
		throw invalid(`${prefix}extensions.${CARD_EXTRA_KEY} is reserved`, `${prefix}extensions.${CARD_EXTRA_KEY}`);

	// fromEntries (not assignment) so a "__proto__" key stays plain data.
	const extraFields = Object.fromEntries(Object.entries(fields).filter(([field]) => !MODELED_FIELDS.has(field)));
	for (const [field, value] of Object.entries(extraFields)) {
		if (value != null) EXTRA_RULES.get(field)?.(value, prefix + field);
	}
	const extra: CardExtra = {};
	if (Object.keys(extraFields).length > 0) extra.fields = extraFields;
	if (!columns.system_prompt.trim()) {
		columns.system_prompt = deriveSystemPrompt(columns.name, columns.personality);
		extra.derived_system_prompt = columns.system_prompt;
	}

	return {
		...columns,
		alternate_greetings: read("alternate_greetings", greetings, []),
		tags: read("tags", list(LIST_LIMITS.tags.items, text(LIST_LIMITS.tags.chars)), []),
		extensions: Object.keys(extra).length > 0 ? { ...extensions, [CARD_EXTRA_KEY]: extra } : extensions,
	};
}

/** A character's extensions as its card shows them, without our reserved key. */
export function cardExtensions(extensions: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(extensions).filter(([key]) => key !== CARD_EXTRA_KEY));
}

function cardData(character: CardCharacter): CardDataV2 {
	const stored = character.extensions[CARD_EXTRA_KEY];
	const extra: CardExtra = isPlainObject(stored) ? stored : {};
	return {
		...extra.fields,
		name: character.name,
		description: character.description,
		personality: character.personality,
		scenario: character.scenario,
		first_mes: character.greeting,
		mes_example: character.mes_example,
		creator_notes: character.creator_notes,
		// An edited prompt is the user's own: only the untouched derived one goes back to empty.
		system_prompt: character.system_prompt === extra.derived_system_prompt ? "" : character.system_prompt,
		post_history_instructions: character.post_history_instructions,
		alternate_greetings: character.alternate_greetings,
		tags: character.tags,
		creator: character.creator,
		character_version: character.character_version,
		extensions: cardExtensions(character.extensions),
	};
}

export function toCardV2(character: CardCharacter): CardV2 {
	return { spec: CARD_V2_SPEC, spec_version: "2.0", data: cardData(character) };
}

export function toCardV3(character: CardCharacter): CardV3 {
	const data = cardData(character);
	// group_only_greetings is required in V3; a card imported from V2 never had it.
	return {
		spec: CARD_V3_SPEC,
		spec_version: "3.0",
		data: { ...data, group_only_greetings: (data.group_only_greetings as string[] | undefined) ?? [] },
	};
}
