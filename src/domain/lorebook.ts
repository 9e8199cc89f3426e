/**
 * Lorebooks (world info) in cameo's normal form: what a Character Card V2 `character_book` and a SillyTavern
 * world-info file both say, with what either carried beyond it kept in `extensions` so export gives it back.
 * Reading and writing those formats: lorebook-format.ts; choosing the entries of a turn: lore-matching.ts.
 */

/** Broadcast after any write to a lorebook or to what it is attached to: ai-consumer nodes forget their copies. */
export const LorebookEvent = { Changed: "lorebook.changed" } as const;
export interface LorebookChangedPayload {
	/** The book written or deleted; absent when only attachments changed. */
	id?: string;
}

export type LorePosition = "before_char" | "after_char";

export interface LoreEntry {
	/** Stable within its book (V2 `id`, SillyTavern `uid`). */
	id: number;
	/** What the user calls it (V2 `name`, SillyTavern `comment`); the inspector names entries by it. */
	name: string;
	/** Any one of them in the scanned messages fires the entry; `/pattern/flags` is a regular expression. */
	keys: string[];
	/** For a `selective` entry, one of these must match too. */
	secondary_keys: string[];
	content: string;
	enabled: boolean;
	/** Inserted every turn, keys or not. */
	constant: boolean;
	selective: boolean;
	/** Null: case-insensitive (the default). */
	case_sensitive: boolean | null;
	/** Null: whole words (the default), as SillyTavern matches them. */
	match_whole_words: boolean | null;
	/** Lower first. */
	insertion_order: number;
	/** When the budget is short, the lowest priority is dropped first. */
	priority: number;
	position: LorePosition;
	/** Fields of the source entry cameo does not model, given back on export. */
	extensions: Record<string, unknown>;
}

export interface LorebookData {
	name: string;
	description: string;
	/** Null: CHAT_LOREBOOK_SCAN_DEPTH. */
	scan_depth: number | null;
	/** Null: CHAT_LOREBOOK_TOKENS. */
	token_budget: number | null;
	recursive_scanning: boolean;
	entries: LoreEntry[];
	/** Book-level fields cameo does not model, given back on export. */
	extensions: Record<string, unknown>;
}

/** The largest lorebook body (create, update, import) the gateway reads: bigger ones get 413. */
export const LOREBOOK_BODY_LIMIT = "2mb";
