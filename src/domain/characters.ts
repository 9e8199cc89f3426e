/**
 * Characters without transport or storage: slugs, who may see or change a character, and its public wire shape.
 */
import { cardExtensions } from "./character-card.js";

export type UserRole = "user" | "admin";

/** The caller as the gateway puts it in `ctx.meta.user`. */
export interface Caller {
	id: string;
	username: string;
	role: UserRole;
	/** The user opted in to characters an admin marked NSFW (PATCH /me `show_nsfw`). */
	show_nsfw?: boolean;
}

/** What the visibility rules need to know about a caller. */
export type Viewer = Pick<Caller, "id" | "role" | "show_nsfw">;

/** A stored character as the model (or a raw query) returns it. */
export interface CharacterRecord {
	id: string;
	name: string;
	slug: string;
	description: string;
	system_prompt: string;
	greeting: string;
	personality: string;
	scenario: string;
	mes_example: string;
	post_history_instructions: string;
	alternate_greetings: string[];
	creator_notes: string;
	creator: string;
	character_version: string;
	tags: string[];
	extensions: Record<string, unknown>;
	has_avatar: boolean;
	llm_model: string | null;
	temperature: number | null;
	max_output_tokens: number | null;
	is_active: boolean;
	is_public: boolean;
	/** An admin took it down: only its owner and admins see it (PATCH /admin/characters/{id}). */
	hidden: boolean;
	/** An admin marked it adult: only users who opted in, its owner and admins see it. */
	nsfw: boolean;
	created_by: string | null;
	created_at: Date | string;
	updated_at: Date | string;
}

/** The JSON every action answers with (snake_case, ISO timestamps). `extensions` leaves out what cameo keeps
 * there for export (src/domain/character-card.ts); `has_avatar` stands for the image, which only the card PNG carries. */
/** Broadcast after any write to characters: nodes holding characters of their own in memory forget them. */
export const CharacterEvent = { Changed: "character.changed" } as const;

export type CharacterView = Omit<CharacterRecord, "created_at" | "updated_at"> & {
	created_at: string;
	updated_at: string;
};

/**
 * A character as the gallery lists it: what a card in a grid shows, with its two texts cut to a preview, so a page of
 * 100 stays small whatever the characters hold. The whole character is `GET /characters/id/:id`.
 */
export type CharacterSummary = Pick<
	CharacterView,
	| "id"
	| "name"
	| "slug"
	| "description"
	| "greeting"
	| "tags"
	| "creator"
	| "has_avatar"
	| "is_public"
	| "is_active"
	| "hidden"
	| "nsfw"
	| "created_by"
	| "created_at"
	| "updated_at"
>;

/** Longest description and greeting in a CharacterSummary, in characters (an ellipsis marks a cut). */
export const SUMMARY_TEXT_CHARS = 300;

/** `text` cut to `max` characters at a code point boundary, with "…" when something was cut. */
export function previewText(text: string, max = SUMMARY_TEXT_CHARS): string {
	if (text.length <= max) return text;
	const cut = text.slice(0, max - 1);
	// Don't leave half of a surrogate pair.
	return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

export function toCharacterSummary(row: Pick<CharacterRecord, CharacterSummaryField>): CharacterSummary {
	return {
		id: row.id,
		name: row.name,
		slug: row.slug,
		description: previewText(row.description),
		greeting: previewText(row.greeting),
		tags: row.tags,
		creator: row.creator,
		has_avatar: row.has_avatar,
		is_public: row.is_public,
		is_active: row.is_active,
		hidden: row.hidden,
		nsfw: row.nsfw,
		created_by: row.created_by,
		created_at: new Date(row.created_at).toISOString(),
		updated_at: new Date(row.updated_at).toISOString(),
	};
}
export type CharacterSummaryField = keyof CharacterSummary;

/** The fields a client may set; everything else (id, owner, timestamps) is the server's. */
export const EDITABLE_FIELDS = [
	"name",
	"slug",
	"description",
	"system_prompt",
	"greeting",
	"is_public",
	"is_active",
	// Character card fields (src/domain/character-card.ts).
	"personality",
	"scenario",
	"mes_example",
	"post_history_instructions",
	"alternate_greetings",
	"creator_notes",
	"creator",
	"character_version",
	"tags",
	// The character's own model settings, over the configured ones (src/domain/model-settings.ts ModelOverrides).
	"llm_model",
	"temperature",
	"max_output_tokens",
] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];
export type CharacterChanges = Partial<Pick<CharacterRecord, EditableField>>;

/** The card's own text fields, kept as written (mes_example's layout matters). */
export const CARD_TEXT_FIELDS = [
	"personality",
	"scenario",
	"mes_example",
	"post_history_instructions",
	"creator_notes",
	"creator",
	"character_version",
] as const;

/** The columns characterBytes counts as text (UTF-8) and as JSON. */
export const TEXT_COLUMNS = ["name", "slug", "description", "system_prompt", "greeting", ...CARD_TEXT_FIELDS] as const;
export const JSON_COLUMNS = ["alternate_greetings", "tags", "extensions"] as const;
type CountedColumn = (typeof TEXT_COLUMNS)[number] | (typeof JSON_COLUMNS)[number];

/**
 * About how many bytes `fields` of a character take in storage, as the per-user quota counts them: text in UTF-8,
 * lists and extensions as JSON, plus the avatar. Missing fields count nothing, so the growth of an update is
 * `characterBytes(changes) - characterBytes(the same fields before)`.
 */
export function characterBytes(
	fields: Partial<Pick<CharacterRecord, CountedColumn>>,
	avatar?: Uint8Array | null,
): number {
	let bytes = avatar?.length ?? 0;
	for (const column of TEXT_COLUMNS) bytes += Buffer.byteLength(fields[column] ?? "", "utf8");
	for (const column of JSON_COLUMNS)
		if (fields[column] !== undefined) bytes += Buffer.byteLength(JSON.stringify(fields[column]), "utf8");
	return bytes;
}

export const SLUG_MAX_LENGTH = 80;
/** Used when a name has no Latin letters or digits at all (e.g. "クロ"), so a slug is never empty. */
export const FALLBACK_SLUG = "character";

// Latin letters that NFKD does not decompose into "base letter + mark".
const TRANSLITERATIONS: Record<string, string> = {
	ß: "ss",
	æ: "ae",
	œ: "oe",
	ø: "o",
	đ: "d",
	ð: "d",
	þ: "th",
	ł: "l",
	ı: "i",
	ħ: "h",
};

/** "Élodie's Café!" -> "elodies-cafe"; at most 80 characters of [a-z0-9-], never empty, no edge hyphens. */
export function slugify(name: string): string {
	const slug = name
		.normalize("NFKD")
		.replace(/\p{M}/gu, "")
		.toLowerCase()
		.replace(/[ßæœøđðþłıħ]/g, (ch) => TRANSLITERATIONS[ch] ?? "")
		// Apostrophes join rather than split: "Captain's Log" reads better as captains-log.
		.replace(/['’`]/g, "")
		.replace(/[^a-z0-9]+/g, "-")
		.replace(/^-+|-+$/g, "");
	return truncateSlug(slug, SLUG_MAX_LENGTH) || FALLBACK_SLUG;
}

function truncateSlug(slug: string, max: number): string {
	return slug.length <= max ? slug : slug.slice(0, max).replace(/-+$/, "");
}

/** The n-th candidate for a derived slug: base, base-2, base-3, ... always within the length limit. */
export function slugCandidate(base: string, n: number): string {
	if (n <= 1) return base;
	const suffix = `-${n}`;
	return `${truncateSlug(base, SLUG_MAX_LENGTH - suffix.length)}${suffix}`;
}

/** The first candidate of `base` not in `taken`. */
export function nextFreeSlug(base: string, taken: ReadonlySet<string>): string {
	for (let n = 1; ; n += 1) {
		const candidate = slugCandidate(base, n);
		if (!taken.has(candidate)) return candidate;
	}
}

/**
 * A prefix every candidate of `base` up to base-999 starts with (truncation for the suffix may cut into the base),
 * so one prefix query finds all the slugs nextFreeSlug must avoid.
 */
export function slugFamilyPrefix(base: string): string {
	return truncateSlug(base, SLUG_MAX_LENGTH - "-999".length);
}

/** Escapes LIKE wildcards so a search for "100%" finds that text, not everything starting with "100". */
export function containsPattern(text: string): string {
	return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export function isAdmin(user: { role?: string } | null | undefined): boolean {
	return user?.role === "admin";
}

function isOwner(character: Pick<CharacterRecord, "created_by">, user: Viewer | null | undefined): boolean {
	return Boolean(user) && character.created_by !== null && character.created_by === user?.id;
}

/** What canView reads of a character. */
export type VisibilityFields = Pick<CharacterRecord, "created_by" | "is_public" | "is_active" | "hidden" | "nsfw">;

/**
 * Public, active and not hidden characters are for everyone, NSFW ones only for users who opted in; the others only
 * for their creator and admins. (The SQL forms: Character.listVisible, session-store.ts's listing.)
 */
export function canView(character: VisibilityFields, user: Viewer | null | undefined): boolean {
	if (isAdmin(user) || isOwner(character, user)) return true;
	return (
		character.is_public && character.is_active && !character.hidden && (!character.nsfw || user?.show_nsfw === true)
	);
}

/** Only the creator or an admin; seed characters (no creator) are therefore admin-only. */
export function canEdit(character: Pick<CharacterRecord, "created_by">, user: Viewer | null | undefined): boolean {
	return isAdmin(user) || isOwner(character, user);
}

/** Keeps only the editable fields that were actually given, so a client can't set `created_by` or `id`. */
export function pickChanges(params: Partial<Record<EditableField, unknown>>): CharacterChanges {
	const changes: Record<string, unknown> = {};
	for (const field of EDITABLE_FIELDS) {
		if (params[field] !== undefined) changes[field] = params[field];
	}
	return changes as CharacterChanges;
}

export function toCharacterView(row: CharacterRecord): CharacterView {
	return {
		id: row.id,
		name: row.name,
		slug: row.slug,
		description: row.description,
		system_prompt: row.system_prompt,
		greeting: row.greeting,
		personality: row.personality,
		scenario: row.scenario,
		mes_example: row.mes_example,
		post_history_instructions: row.post_history_instructions,
		alternate_greetings: row.alternate_greetings,
		creator_notes: row.creator_notes,
		creator: row.creator,
		character_version: row.character_version,
		tags: row.tags,
		extensions: cardExtensions(row.extensions),
		has_avatar: row.has_avatar,
		llm_model: row.llm_model,
		temperature: row.temperature,
		max_output_tokens: row.max_output_tokens,
		is_active: row.is_active,
		is_public: row.is_public,
		hidden: row.hidden,
		nsfw: row.nsfw,
		created_by: row.created_by,
		created_at: new Date(row.created_at).toISOString(),
		updated_at: new Date(row.updated_at).toISOString(),
	};
}
