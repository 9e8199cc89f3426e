/**
 * Lorebooks (world info) in cameo's normal form: what a Character Card V2 `character_book` and a SillyTavern
 * world-info file both say, with what either carried beyond it kept in `extensions` so export gives it back.
 * Reading and writing those formats: lorebook-format.ts; choosing the entries of a turn: lore-matching.ts. Also the
 * books' wire shapes, which the web client imports too (this module imports nothing).
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

/** A book as GET /lorebooks lists it. */
export interface LorebookSummary {
	id: string;
	name: string;
	description: string;
	is_public: boolean;
	/** The caller owns it (and may change it). */
	is_own: boolean;
	entry_count: number;
	updated_at: string;
}

/** A whole book, as GET /lorebooks/{id} and the writes answer. Null settings: the server's defaults. */
export interface LorebookView extends LorebookData {
	id: string;
	is_public: boolean;
	is_own: boolean;
	created_at: string;
	updated_at: string;
}

/** A stored book, as a query gives it. */
export interface StoredLorebook extends LorebookData {
	id: string;
	owner_id: string;
	is_public: boolean;
	created_at: Date | string;
	updated_at: Date | string;
}

/** `book` as `viewerId` sees it. */
export function lorebookView(book: StoredLorebook, viewerId: string): LorebookView {
	return {
		id: book.id,
		name: book.name,
		description: book.description,
		scan_depth: book.scan_depth,
		token_budget: book.token_budget,
		recursive_scanning: book.recursive_scanning,
		is_public: book.is_public,
		is_own: book.owner_id === viewerId,
		entries: book.entries,
		extensions: book.extensions,
		created_at: new Date(book.created_at).toISOString(),
		updated_at: new Date(book.updated_at).toISOString(),
	};
}

/** A listed book as `viewerId` sees it. */
export function lorebookSummary(
	book: Omit<LorebookSummary, "is_own" | "updated_at" | "entry_count"> & {
		owner_id: string;
		entry_count: number | string;
		updated_at: Date | string;
	},
	viewerId: string,
): LorebookSummary {
	return {
		id: book.id,
		name: book.name,
		description: book.description,
		is_public: book.is_public,
		is_own: book.owner_id === viewerId,
		entry_count: Number(book.entry_count),
		updated_at: new Date(book.updated_at).toISOString(),
	};
}
