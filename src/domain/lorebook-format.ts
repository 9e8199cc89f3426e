/**
 * Reading and writing lorebooks: a Character Card V2 `character_book` and a SillyTavern world-info file both become
 * cameo's normal form (lorebook.ts), and go back out as either. What cameo does not model is kept in `extensions`:
 * - an entry's `extensions` are the V2 entry's, named as SillyTavern names them in a V2 book (`exclude_recursion`,
 *   `display_index`, `position` as its number, ...); a SillyTavern field without a V2 name keeps its own name there;
 * - `extensions.cameo_extra` (entry and book) remembers, per source format, what only that format gives back: V2
 *   fields cameo has no place for, and the fields the source left out or set to null (so export leaves them so).
 * A V2 book read and written as a V2 book comes back unchanged. Caps refuse what no editor makes (LorebookError,
 * which the service answers with 422); the whole body is capped at the gateway (413).
 */
import type { LoreEntry, LorebookData, LorePosition } from "./lorebook.js";

export const MAX_LORE_ENTRIES = 1000;
export const MAX_KEYS_PER_ENTRY = 100;
export const MAX_KEY_CHARS = 200;
export const MAX_ENTRY_CONTENT_CHARS = 20_000;
export const MAX_ENTRY_NAME_CHARS = 256;
export const MAX_LOREBOOK_NAME_CHARS = 120;
export const MAX_LOREBOOK_DESCRIPTION_CHARS = 4000;
export const MAX_SCAN_DEPTH = 1000;
export const MAX_TOKEN_BUDGET = 2_000_000;
/** Levels of objects and lists inside a book, its entries and their extensions. */
export const MAX_LOREBOOK_DEPTH = 24;

/** The reserved key, in book and entry `extensions`, of what only the source format gives back. */
export const LORE_EXTRA_KEY = "cameo_extra";

/** A refusal of a book, naming the field (`entries[3].keys[0]`) it is about. */
export class LorebookError extends Error {
	constructor(
		message: string,
		readonly field?: string,
	) {
		super(message);
		this.name = "LorebookError";
	}
}

type Format = "character_book" | "world_info";
type Json = Record<string, unknown>;

/** What `extensions.cameo_extra` holds: only used by the exporter of `format`. */
interface SourceExtra {
	format: Format;
	/** Fields cameo has no place for (V2 only: SillyTavern's go to `extensions`). */
	fields?: Json;
	/** Fields the source left out, with the value cameo gave them: left out again while they keep it. */
	absent?: Json;
	/** Fields the source set to null, with the value cameo gave them: null again while they keep it. */
	nulls?: Json;
}

/** Checks a keyword before a book holding it is stored (lore-matching's compileKey); throws for a refused one. */
export type KeyCheck = (key: string, entry: Pick<LoreEntry, "case_sensitive" | "match_whole_words">) => void;

// ---------------------------------------------------------------------------------------------------------------
// Rules for single values

type Rule<T> = (value: unknown, field: string) => T;

export function isPlainObject(value: unknown): value is Json {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text PostgreSQL can store: a NUL is refused, half a surrogate pair becomes U+FFFD (its JSON parser refuses one). */
function storable(value: string, field: string): string {
	if (value.includes("\u0000")) throw new LorebookError(`${field} may not contain NUL characters`, field);
	return value.replace(LONE_SURROGATE, "\uFFFD");
}

const text =
	(max: number): Rule<string> =>
	(value, field) => {
		if (typeof value !== "string") throw new LorebookError(`${field} must be a string`, field);
		if (value.length > max) throw new LorebookError(`${field} is ${value.length} characters; at most ${max}`, field);
		return storable(value, field);
	};

const bool: Rule<boolean> = (value, field) => {
	if (typeof value !== "boolean") throw new LorebookError(`${field} must be true or false`, field);
	return value;
};

const nullableBool: Rule<boolean | null> = (value, field) => (value === null ? null : bool(value, field));

const finite: Rule<number> = (value, field) => {
	if (typeof value !== "number" || !Number.isFinite(value)) throw new LorebookError(`${field} must be a number`, field);
	return value;
};

const wholeNumber =
	(min: number, max: number): Rule<number> =>
	(value, field) => {
		if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
			throw new LorebookError(`${field} must be a whole number from ${min} to ${max}`, field);
		return value;
	};

const nullable =
	<T>(rule: Rule<T>): Rule<T | null> =>
	(value, field) =>
		value === null ? null : rule(value, field);

const keyList: Rule<string[]> = (value, field) => {
	if (!Array.isArray(value)) throw new LorebookError(`${field} must be a list of strings`, field);
	if (value.length > MAX_KEYS_PER_ENTRY)
		throw new LorebookError(`${field} has ${value.length} keys; at most ${MAX_KEYS_PER_ENTRY}`, field);
	return value.map((key, i) => text(MAX_KEY_CHARS)(key, `${field}[${i}]`));
};

/**
 * Any JSON kept as it is, bounded in depth and made storable (keys too): iterative over the objects it copies, so a
 * deep value cannot overflow the stack here. Objects are built with fromEntries, so a "__proto__" key stays data.
 */
function keptJson(value: unknown, field: string, depth = 0): unknown {
	if (typeof value === "string") return storable(value, field);
	if (typeof value !== "object" || value === null) return value;
	if (depth >= MAX_LOREBOOK_DEPTH)
		throw new LorebookError(`${field} is nested more than ${MAX_LOREBOOK_DEPTH} levels deep`, field);
	if (Array.isArray(value)) return value.map((item, i) => keptJson(item, `${field}[${i}]`, depth + 1));
	return Object.fromEntries(
		Object.entries(value).map(([key, item]) => [storable(key, field), keptJson(item, `${field}.${key}`, depth + 1)]),
	);
}

const keptObject =
	(depth: number): Rule<Json> =>
	(value, field) => {
		if (!isPlainObject(value)) throw new LorebookError(`${field} must be an object`, field);
		return keptJson(value, field, depth) as Json;
	};

/**
 * Reads an object's fields by rule; a field left out or null takes its fallback, and is remembered so an export to
 * the same format leaves it so. `null` is a value of its own for a rule that takes it (a nullable field).
 */
class FieldReader {
	readonly absent: Json = {};
	readonly nulls: Json = {};
	readonly used = new Set<string>();

	constructor(
		private readonly source: Json,
		private readonly path: string,
	) {}

	read<T>(field: string, rule: Rule<T>, fallback: T, takesNull = false): T {
		this.used.add(field);
		const value = Object.hasOwn(this.source, field) ? this.source[field] : undefined;
		if (value === undefined) return this.fill(this.absent, field, fallback);
		if (value === null && !takesNull) return this.fill(this.nulls, field, fallback);
		return rule(value, this.path + field);
	}

	/** The source's fields that were not read, kept as they are. */
	unread(): Json {
		const rest = Object.entries(this.source).filter(([field]) => !this.used.has(field));
		return keptJson(Object.fromEntries(rest), this.path.replace(/\.$/, ""), 1) as Json;
	}

	extra(format: Format, fields?: Json): SourceExtra | undefined {
		const extra: SourceExtra = { format };
		if (fields && Object.keys(fields).length > 0) extra.fields = fields;
		if (Object.keys(this.absent).length > 0) extra.absent = this.absent;
		if (Object.keys(this.nulls).length > 0) extra.nulls = this.nulls;
		return Object.keys(extra).length > 1 ? extra : undefined;
	}

	private fill<T>(into: Json, field: string, fallback: T): T {
		into[field] = fallback;
		return fallback;
	}
}

const withExtra = (extensions: Json, extra: SourceExtra | undefined): Json =>
	extra ? { ...extensions, [LORE_EXTRA_KEY]: extra } : extensions;

function checkEntryCount(count: number): void {
	if (count > MAX_LORE_ENTRIES)
		throw new LorebookError(`The book has ${count} entries; at most ${MAX_LORE_ENTRIES}`, "entries");
}

/** Ids stay as given; missing ones get the next free ones after them; two entries may not share one. */
function assignIds(ids: (number | undefined)[]): number[] {
	const taken = new Set<number>();
	ids.forEach((id, i) => {
		if (id === undefined) return;
		if (taken.has(id)) throw new LorebookError(`Two entries have the id ${id}`, `entries[${i}].id`);
		taken.add(id);
	});
	let next = taken.size > 0 ? Math.max(...taken) + 1 : 0;
	return ids.map((id) => {
		if (id !== undefined) return id;
		while (taken.has(next)) next += 1;
		taken.add(next);
		return next++;
	});
}

const ENTRY_ID = wholeNumber(0, Number.MAX_SAFE_INTEGER);

// ---------------------------------------------------------------------------------------------------------------
// Character Card V2 `character_book`

/** The spec's entry fields in the spec's order: export writes them so, then the fields cameo kept. */
const V2_ENTRY_FIELDS = [
	"keys",
	"content",
	"extensions",
	"enabled",
	"insertion_order",
	"case_sensitive",
	"name",
	"priority",
	"id",
	"comment",
	"selective",
	"secondary_keys",
	"constant",
	"position",
] as const;
const V2_BOOK_FIELDS = [
	"name",
	"description",
	"scan_depth",
	"token_budget",
	"recursive_scanning",
	"extensions",
	"entries",
] as const;

const v2Position: Rule<LorePosition> = (value, field) => {
	if (value !== "before_char" && value !== "after_char")
		throw new LorebookError(`${field} must be "before_char" or "after_char"`, field);
	return value;
};

/** SillyTavern's number in `extensions.position` says more than `position` (its V2 export writes both). */
function positionFromExtensions(extensions: Json, stated: LorePosition): LorePosition {
	const st = extensions.position;
	if (typeof st !== "number") return stated;
	return st === ST_BEFORE_CHAR ? "before_char" : "after_char";
}

function fromV2Entry(raw: unknown, index: number): Omit<LoreEntry, "id"> & { id: number | undefined } {
	const path = `entries[${index}]`;
	if (!isPlainObject(raw)) throw new LorebookError(`${path} must be an object`, path);
	const fields = new FieldReader(raw, `${path}.`);
	const extensions = fields.read("extensions", keptObject(2), {});
	if (LORE_EXTRA_KEY in extensions) {
		const field = `${path}.extensions.${LORE_EXTRA_KEY}`;
		throw new LorebookError(`${field} is reserved`, field);
	}
	// SillyTavern names entries by `comment` (its memo); the spec by `name`.
	const comment = typeof raw.comment === "string" ? text(MAX_ENTRY_NAME_CHARS)(raw.comment, `${path}.comment`) : "";
	const wholeWords = extensions.match_whole_words;
	const entry = {
		id: fields.read<number | undefined>("id", ENTRY_ID, undefined),
		keys: fields.read("keys", keyList, []),
		secondary_keys: fields.read("secondary_keys", keyList, []),
		content: fields.read("content", text(MAX_ENTRY_CONTENT_CHARS), ""),
		enabled: fields.read("enabled", bool, true),
		insertion_order: fields.read("insertion_order", finite, 0),
		case_sensitive: fields.read("case_sensitive", nullableBool, null, true),
		name: fields.read("name", text(MAX_ENTRY_NAME_CHARS), comment),
		priority: fields.read("priority", finite, 0),
		selective: fields.read("selective", bool, false),
		constant: fields.read("constant", bool, false),
		position: fields.read("position", v2Position, "after_char" as LorePosition),
		match_whole_words: typeof wholeWords === "boolean" ? wholeWords : null,
	};
	entry.position = positionFromExtensions(extensions, entry.position);
	const extra = fields.extra("character_book", fields.unread());
	return { ...entry, extensions: withExtra(extensions, extra) };
}

/** A V2 `character_book` (or a V2/V3 card carrying one) in cameo's normal form; throws LorebookError. */
export function fromCharacterBook(raw: unknown): LorebookData {
	const book = isPlainObject(raw) && isPlainObject(raw.data) ? raw.data.character_book : raw;
	if (!isPlainObject(book)) throw new LorebookError("A character_book must be a JSON object");
	const fields = new FieldReader(book, "");
	const rawEntries = fields.read<unknown[]>("entries", listOf, []);
	checkEntryCount(rawEntries.length);
	const extensions = fields.read("extensions", keptObject(1), {});
	if (LORE_EXTRA_KEY in extensions)
		throw new LorebookError(`extensions.${LORE_EXTRA_KEY} is reserved`, `extensions.${LORE_EXTRA_KEY}`);
	const data = {
		name: fields.read("name", text(MAX_LOREBOOK_NAME_CHARS), ""),
		description: fields.read("description", text(MAX_LOREBOOK_DESCRIPTION_CHARS), ""),
		scan_depth: fields.read("scan_depth", nullable(wholeNumber(1, MAX_SCAN_DEPTH)), null, true),
		token_budget: fields.read("token_budget", nullable(wholeNumber(0, MAX_TOKEN_BUDGET)), null, true),
		recursive_scanning: fields.read("recursive_scanning", bool, false),
	};
	const read = rawEntries.map(fromV2Entry);
	const ids = assignIds(read.map((entry) => entry.id));
	const entries = read.map((entry, i) => withAssignedId(entry, ids[i], "id"));
	return { ...data, entries, extensions: withExtra(extensions, fields.extra("character_book", fields.unread())) };
}

const listOf: Rule<unknown[]> = (value, field) => {
	if (!Array.isArray(value)) throw new LorebookError(`${field} must be a list`, field);
	return value;
};

/**
 * An entry whose id was missing (or null) gets one; the exporter leaves it out (null) again while it is that one.
 * (FieldReader remembered the field, so the entry has its source extra.)
 */
function withAssignedId(
	entry: Omit<LoreEntry, "id"> & { id: number | undefined },
	id: number,
	idField: "id" | "uid",
): LoreEntry {
	if (entry.id !== undefined) return { ...entry, id };
	const extra = entry.extensions[LORE_EXTRA_KEY] as SourceExtra;
	const filled = extra.nulls && Object.hasOwn(extra.nulls, idField) ? "nulls" : "absent";
	const updated = { ...extra, [filled]: { ...extra[filled], [idField]: id } };
	return { ...entry, id, extensions: { ...entry.extensions, [LORE_EXTRA_KEY]: updated } };
}

/** The source extra of `format`, if the entry or book came from that format and it is well formed. */
interface KeptExtra {
	/** The entry or book was read from this format. */
	matched: boolean;
	fields: Json;
	absent: Json;
	nulls: Json;
}

function sourceExtra(extensions: Json, format: Format): KeptExtra {
	const extra = extensions[LORE_EXTRA_KEY];
	const part = (value: unknown) => (isPlainObject(value) ? value : {});
	if (!isPlainObject(extra) || extra.format !== format) return { matched: false, fields: {}, absent: {}, nulls: {} };
	return { matched: true, fields: part(extra.fields), absent: part(extra.absent), nulls: part(extra.nulls) };
}

const withoutExtra = (extensions: Json): Json =>
	Object.fromEntries(Object.entries(extensions).filter(([key]) => key !== LORE_EXTRA_KEY));

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * `values` in `order`, then the kept fields: a field the source left out (or set to null) is left out (null) again
 * while it has the value cameo gave it then.
 */
function writeFields(order: readonly string[], values: Json, extra: KeptExtra): Json {
	const out: [string, unknown][] = [];
	for (const field of order) {
		const value = values[field];
		if (Object.hasOwn(extra.absent, field) && sameJson(extra.absent[field], value)) continue;
		if (Object.hasOwn(extra.nulls, field) && sameJson(extra.nulls[field], value)) out.push([field, null]);
		else out.push([field, value]);
	}
	for (const [field, value] of Object.entries(extra.fields)) if (!order.includes(field)) out.push([field, value]);
	return Object.fromEntries(out);
}

/** The SillyTavern number in `extensions.position`, kept while it agrees with the entry's position. */
function stPosition(entry: LoreEntry): number {
	const kept = entry.extensions.position;
	const stated = entry.position === "before_char" ? ST_BEFORE_CHAR : ST_AFTER_CHAR;
	if (typeof kept !== "number") return stated;
	return (kept === ST_BEFORE_CHAR) === (entry.position === "before_char") ? kept : stated;
}

function toV2Entry(entry: LoreEntry): Json {
	const extra = sourceExtra(entry.extensions, "character_book");
	const extensions = withoutExtra(entry.extensions);
	if (typeof extensions.position === "number") extensions.position = stPosition(entry);
	const wholeWords = extensions.match_whole_words;
	if (entry.match_whole_words !== null || typeof wholeWords === "boolean" || wholeWords === null)
		extensions.match_whole_words = entry.match_whole_words;
	const values: Json = {
		keys: entry.keys,
		content: entry.content,
		extensions,
		enabled: entry.enabled,
		insertion_order: entry.insertion_order,
		case_sensitive: entry.case_sensitive,
		name: entry.name,
		priority: entry.priority,
		id: entry.id,
		comment: Object.hasOwn(extra.fields, "comment") ? extra.fields.comment : entry.name,
		selective: entry.selective,
		secondary_keys: entry.secondary_keys,
		constant: entry.constant,
		position: entry.position,
	};
	// SillyTavern shows `comment` as the entry's name: written, unless the entry came from a V2 book without one.
	const skip = new Set<string>(extra.matched && !Object.hasOwn(extra.fields, "comment") ? ["comment"] : []);
	// Unset is left out, as the spec has it, unless the source wrote null.
	if (!extra.matched && entry.case_sensitive === null) skip.add("case_sensitive");
	return writeFields(
		V2_ENTRY_FIELDS.filter((field) => !skip.has(field)),
		values,
		extra,
	);
}

/** The book as a V2 `character_book`: a V2 book read by fromCharacterBook comes back unchanged. */
export function toCharacterBook(book: LorebookData): Json {
	const extra = sourceExtra(book.extensions, "character_book");
	const values: Json = {
		name: book.name,
		description: book.description,
		scan_depth: book.scan_depth,
		token_budget: book.token_budget,
		recursive_scanning: book.recursive_scanning,
		extensions: withoutExtra(book.extensions),
		entries: book.entries.map(toV2Entry),
	};
	// Unset is left out, as the spec has it, unless the source wrote null.
	const skip = new Set<string>();
	if (!extra.matched && book.scan_depth === null) skip.add("scan_depth");
	if (!extra.matched && book.token_budget === null) skip.add("token_budget");
	return writeFields(
		V2_BOOK_FIELDS.filter((field) => !skip.has(field)),
		values,
		extra,
	);
}

// ---------------------------------------------------------------------------------------------------------------
// SillyTavern world info

/** world_info_position.before / .after; 2..6 (author's note, @depth, example messages) are placed after the card. */
const ST_BEFORE_CHAR = 0;
const ST_AFTER_CHAR = 1;

/** SillyTavern's entry fields whose V2 `extensions` names differ (as its own V2 export names them). */
const ST_TO_V2_NAMES: Record<string, string> = {
	excludeRecursion: "exclude_recursion",
	displayIndex: "display_index",
	groupOverride: "group_override",
	groupWeight: "group_weight",
	preventRecursion: "prevent_recursion",
	delayUntilRecursion: "delay_until_recursion",
	scanDepth: "scan_depth",
	useGroupScoring: "use_group_scoring",
	automationId: "automation_id",
};
const V2_TO_ST_NAMES = Object.fromEntries(Object.entries(ST_TO_V2_NAMES).map(([st, v2]) => [v2, st]));
/** What toWorldInfo writes from the normal form; extensions of these names are not copied over them. */
const ST_MODELED = [
	"uid",
	"key",
	"keysecondary",
	"comment",
	"content",
	"constant",
	"selective",
	"order",
	"position",
	"disable",
	"caseSensitive",
	"matchWholeWords",
] as const;

function fromStEntry(slot: string, raw: unknown): Omit<LoreEntry, "id"> & { id: number | undefined } {
	const path = `entries.${slot}`;
	if (!isPlainObject(raw)) throw new LorebookError(`${path} must be an object`, path);
	const fields = new FieldReader(raw, `${path}.`);
	const slotId = /^\d{1,15}$/.test(slot) ? Number(slot) : undefined;
	const order = fields.read("order", finite, 100);
	const stPositionNumber = fields.read("position", wholeNumber(0, 1000), ST_BEFORE_CHAR);
	const entry = {
		id: fields.read("uid", ENTRY_ID, slotId),
		keys: fields.read("key", keyList, []),
		secondary_keys: fields.read("keysecondary", keyList, []),
		name: fields.read("comment", text(MAX_ENTRY_NAME_CHARS), ""),
		content: fields.read("content", text(MAX_ENTRY_CONTENT_CHARS), ""),
		constant: fields.read("constant", bool, false),
		selective: fields.read("selective", bool, true),
		enabled: !fields.read("disable", bool, false),
		case_sensitive: fields.read("caseSensitive", nullableBool, null, true),
		match_whole_words: fields.read("matchWholeWords", nullableBool, null, true),
		insertion_order: order,
		// SillyTavern's order is also what its budget keeps first: the higher, the later dropped.
		priority: order,
		position: (stPositionNumber === ST_BEFORE_CHAR ? "before_char" : "after_char") as LorePosition,
	};
	const rest = fields.unread();
	const renamed = Object.fromEntries(Object.entries(rest).map(([key, value]) => [ST_TO_V2_NAMES[key] ?? key, value]));
	if (LORE_EXTRA_KEY in renamed)
		throw new LorebookError(`${path}.${LORE_EXTRA_KEY} is reserved`, `${path}.${LORE_EXTRA_KEY}`);
	const extensions = Object.hasOwn(raw, "position") ? { ...renamed, position: stPositionNumber } : renamed;
	return { ...entry, extensions: withExtra(extensions, fields.extra("world_info")) };
}

/** A SillyTavern world-info file (`{"entries": {"0": {...}}}`) in cameo's normal form; throws LorebookError. */
export function fromWorldInfo(raw: unknown): LorebookData {
	if (!isPlainObject(raw) || !isPlainObject(raw.entries))
		throw new LorebookError('A world-info file must be an object with "entries" keyed by uid', "entries");
	const fields = new FieldReader(raw, "");
	const slots = Object.entries(fields.read("entries", keptObject(0), {}));
	checkEntryCount(slots.length);
	const name = fields.read("name", text(MAX_LOREBOOK_NAME_CHARS), "");
	const description = fields.read("description", text(MAX_LOREBOOK_DESCRIPTION_CHARS), "");
	const read = slots.map(([slot, entry]) => fromStEntry(slot, entry));
	const ids = assignIds(read.map((entry) => entry.id));
	const entries = read.map((entry, i) => withAssignedId(entry, ids[i], "uid"));
	const extra = fields.extra("world_info", fields.unread());
	return {
		name,
		description,
		scan_depth: null,
		token_budget: null,
		recursive_scanning: false,
		entries,
		extensions: withExtra({}, extra),
	};
}

function toStEntry(entry: LoreEntry): Json {
	const extra = sourceExtra(entry.extensions, "world_info");
	const values: Json = {
		uid: entry.id,
		key: entry.keys,
		keysecondary: entry.secondary_keys,
		comment: entry.name,
		content: entry.content,
		constant: entry.constant,
		selective: entry.selective,
		order: entry.insertion_order,
		position: stPosition(entry),
		disable: !entry.enabled,
		caseSensitive: entry.case_sensitive,
		matchWholeWords: entry.match_whole_words,
	};
	const kept = Object.entries(withoutExtra(entry.extensions))
		.map(([key, value]) => [V2_TO_ST_NAMES[key] ?? key, value] as const)
		.filter(
			([key]) =>
				!(ST_MODELED as readonly string[]).includes(key) && key !== "match_whole_words" && key !== "case_sensitive",
		);
	return { ...writeFields(ST_MODELED, values, extra), ...Object.fromEntries(kept) };
}

/** The book as a SillyTavern world-info file: entries keyed by uid. */
export function toWorldInfo(book: LorebookData): Json {
	const extra = sourceExtra(book.extensions, "world_info");
	const entries = Object.fromEntries(book.entries.map((entry) => [String(entry.id), toStEntry(entry)]));
	const head: Json = {};
	if (book.name) head.name = book.name;
	if (book.description) head.description = book.description;
	return { ...extra.fields, ...head, entries };
}

// ---------------------------------------------------------------------------------------------------------------
// Either file, and books written through the API

/** A SillyTavern world-info file or a V2 `character_book` (or a card carrying one), told apart by `entries`. */
export function parseLorebookFile(raw: unknown): LorebookData {
	if (!isPlainObject(raw)) throw new LorebookError("A lorebook file must be a JSON object");
	if (isPlainObject(raw.entries)) return fromWorldInfo(raw);
	if (Array.isArray(raw.entries) || (isPlainObject(raw.data) && isPlainObject(raw.data.character_book)))
		return fromCharacterBook(raw);
	throw new LorebookError(
		'Not a lorebook: expected a SillyTavern world-info file ("entries" keyed by uid) or a V2 character_book ("entries" as a list)',
		"entries",
	);
}

/** Entries as the API takes them (any field may be left out) in the normal form; ids kept, missing ones assigned. */
export function entriesFromParams(raw: unknown[]): LoreEntry[] {
	checkEntryCount(raw.length);
	const read = raw.map((item, index) => {
		const path = `entries[${index}]`;
		if (!isPlainObject(item)) throw new LorebookError(`${path} must be an object`, path);
		const fields = new FieldReader(item, `${path}.`);
		return {
			id: fields.read<number | undefined>("id", ENTRY_ID, undefined),
			name: fields.read("name", text(MAX_ENTRY_NAME_CHARS), ""),
			keys: fields.read("keys", keyList, []),
			secondary_keys: fields.read("secondary_keys", keyList, []),
			content: fields.read("content", text(MAX_ENTRY_CONTENT_CHARS), ""),
			enabled: fields.read("enabled", bool, true),
			constant: fields.read("constant", bool, false),
			selective: fields.read("selective", bool, false),
			case_sensitive: fields.read("case_sensitive", nullableBool, null, true),
			match_whole_words: fields.read("match_whole_words", nullableBool, null, true),
			insertion_order: fields.read("insertion_order", finite, 100),
			priority: fields.read("priority", finite, 100),
			position: fields.read("position", v2Position, "before_char" as LorePosition),
			extensions: fields.read("extensions", keptObject(2), {}),
		};
	});
	const ids = assignIds(read.map((entry) => entry.id));
	return read.map((entry, i) => ({ ...entry, id: ids[i] }));
}

/** Book-level extensions as the API takes them: kept as they are, bounded. */
export const extensionsFromParams = (raw: unknown): Json => keptObject(1)(raw, "extensions");

/**
 * Compiling all of a book's regular expressions may take this long; a book whose keys take longer is refused. RE2
 * runs in linear time, but compiling a large pattern (a big character class repeated a thousand times) can take a
 * few hundred milliseconds before it gives up, and a 2 MB book holds thousands of keys.
 */
export const MAX_KEY_CHECK_MS = 100;

/** Refuses a book whose keywords `check` refuses (a regular expression that may not be run), naming the key. */
export function checkKeys(entries: LoreEntry[], check: KeyCheck, now: () => number = () => performance.now()): void {
	const started = now();
	entries.forEach((entry, i) => {
		for (const [list, keys] of [
			["keys", entry.keys],
			["secondary_keys", entry.secondary_keys],
		] as const) {
			keys.forEach((key, k) => {
				// Only a /pattern/flags key is a regular expression; plain words need no compiling here.
				if (!key.trim().startsWith("/")) return;
				const field = `entries[${i}].${list}[${k}]`;
				try {
					check(key, entry);
				} catch (err) {
					throw new LorebookError(`${field}: ${(err as Error).message}`, field);
				}
				if (now() - started > MAX_KEY_CHECK_MS)
					throw new LorebookError(
						`The book's regular expressions take too long to compile (more than ${MAX_KEY_CHECK_MS} ms, at ${field}); make them simpler or fewer`,
						field,
					);
			});
		}
	});
}
