/**
 * Lorebooks (world info) as the lorebooks API gives them: entries as src/domain/lorebook.ts defines them (an
 * import-free module of types, which the bundle may take), the book around them as the API shows it.
 */
import type { LoreEntry } from "../../src/domain/lorebook.js";

export type { LoreEntry, LorePosition, LorebookSummary, LorebookView as Lorebook } from "../../src/domain/lorebook.js";

/** The export formats of GET /lorebooks/{id}/export. */
export type LoreFormat = "sillytavern" | "character_book";

/** A new entry, after the book's last: enabled, matched by its keys, inserted before the character. */
export function blankEntry(entries: LoreEntry[]): LoreEntry {
	const id = entries.reduce((max, e) => Math.max(max, e.id), -1) + 1;
	const order = entries.reduce((max, e) => Math.max(max, e.insertion_order), 0) + 10;
	return {
		id,
		name: `Entry ${id + 1}`,
		keys: [],
		secondary_keys: [],
		content: "",
		enabled: true,
		constant: false,
		selective: false,
		case_sensitive: null,
		match_whole_words: null,
		insertion_order: order,
		priority: 10,
		position: "before_char",
		extensions: {},
	};
}

/** A `/pattern/flags` key (its commas are its own), or a plain key up to the next comma. */
const KEY = /\s*(\/(?:\\.|[^/\\])+\/[a-z]*)\s*(?=,|$)|[^,]+/g;

/** "dragon, /wyrms{1,2}/i , " → ["dragon", "/wyrms{1,2}/i"]: keys as typed in one field, comma-separated. */
export function keysOf(text: string): string[] {
	return [...text.matchAll(KEY)].map((m) => (m[1] ?? m[0]).trim()).filter(Boolean);
}
