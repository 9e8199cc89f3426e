/**
 * Searching one's own messages (GET /search): the limits of a query, the cursor that pages through hits ranked best
 * first, the substring pattern for text without word boundaries, and the snippet. A snippet reaches the browser as
 * plain text plus the ranges to highlight in it, never as markup: PostgreSQL's ts_headline marks matches with two
 * private-use characters (removed from the message first, so a message cannot forge them), parsed here into ranges.
 * No imports: the browser client uses the types and `highlightParts`.
 */

/** Longest query (characters): the tsquery and the substring pattern stay small. */
export const SEARCH_QUERY_MAX_CHARS = 200;
export const SEARCH_LIMIT_MAX = 50;
export const SEARCH_LIMIT_DEFAULT = 20;
/** A search that takes longer is stopped (422 SEARCH_TOO_BROAD) instead of holding a connection. */
export const SEARCH_STATEMENT_TIMEOUT_MS = 3000;
/** Where ts_headline starts and stops a match: private-use characters, stripped from the text it is given. */
export const HIGHLIGHT_START = "\uE000";
export const HIGHLIGHT_END = "\uE001";
export const HEADLINE_OPTIONS =
	`StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_END}, MaxWords=24, MinWords=8, ShortWord=1, ` +
	`MaxFragments=2, FragmentDelimiter=" … "`;
/** A snippet cut around a substring match: characters shown before and after it. */
const CONTEXT_BEFORE = 60;
const CONTEXT_AFTER = 100;

/** Plain text and the [start, end) ranges (UTF-16 offsets) of the matches in it. */
export interface Snippet {
	snippet: string;
	highlights: [number, number][];
}

export interface SearchHit extends Snippet {
	session_id: string;
	message_id: string;
	role: "user" | "ai";
	timestamp: Date | string;
	character_id: string;
	character_name: string;
	/** The title the session's owner set, or null. */
	session_title: string | null;
	/** Set for a room (its page is /rooms/{id}); null for a one-character chat. */
	reply_mode: string | null;
}

export interface SearchPage {
	hits: SearchHit[];
	/** Pass as `before` for the next page; null on the last. */
	next_before: string | null;
}

/** Where a page ends: hits come by rank, best first, then by newest; the next page starts strictly after it. */
export interface SearchCursor {
	rank: number;
	seq: string;
}

const SEQ = /^[1-9]\d{0,18}$/;

/** Opaque to clients: base64url of `rank:seq`. A number's shortest form reads back as the same double. */
export function encodeCursor(cursor: SearchCursor): string {
	return toBase64Url(`${cursor.rank}:${cursor.seq}`);
}

/** The cursor, or null when `text` is not one this module made (any garbage the client sends). */
export function decodeCursor(text: string): SearchCursor | null {
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) return null;
	const decoded = fromBase64Url(text);
	const match = /^(\d+(?:\.\d+)?(?:e-?\d+)?):(\d+)$/.exec(decoded ?? "");
	if (!match) return null;
	const rank = Number(match[1]);
	if (!Number.isFinite(rank) || !SEQ.test(match[2]) || BigInt(match[2]) > 2n ** 63n - 1n) return null;
	return { rank, seq: match[2] };
}

/** Hangul, kana and CJK ideographs: written without spaces between words, so found by substring. */
const NO_WORD_BREAKS = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** Shorter queries of other scripts match by word only: a substring of one or two letters is in nearly every message. */
const MIN_SUBSTRING_CHARS = 3;

/**
 * The ILIKE pattern that finds `q` inside words, or null when the query is too short for
 * that to mean anything. `%`, `_` and `\` are matched as themselves.
 */
export function substringPattern(q: string): string | null {
	const text = q.trim();
	if ([...text].length < MIN_SUBSTRING_CHARS && !NO_WORD_BREAKS.test(text)) return null;
	return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** ts_headline's output, its markers turned into ranges; an unmatched or stray marker is dropped. */
export function parseHeadline(headline: string): Snippet {
	let snippet = "";
	const highlights: [number, number][] = [];
	let start = -1;
	for (const ch of headline) {
		if (ch === HIGHLIGHT_START) start = snippet.length;
		else if (ch === HIGHLIGHT_END) {
			if (start >= 0 && snippet.length > start) highlights.push([start, snippet.length]);
			start = -1;
		} else snippet += ch;
	}
	return { snippet, highlights };
}

/**
 * A snippet around the first place `q` occurs in `content` (case-insensitive), every occurrence in it highlighted;
 * null when it does not occur.
 */
export function substringSnippet(content: string, q: string): Snippet | null {
	const needle = q.trim();
	if (!needle) return null;
	const find = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "giu");
	const first = find.exec(content);
	if (!first) return null;
	let from = Math.max(0, first.index - CONTEXT_BEFORE);
	let to = Math.min(content.length, first.index + first[0].length + CONTEXT_AFTER);
	// Start and end at a word's edge when one is near, and never inside a surrogate pair.
	if (from > 0) {
		const space = content.indexOf(" ", from);
		if (space >= 0 && space < first.index) from = space + 1;
		if (isLowSurrogate(content.charCodeAt(from))) from -= 1;
	}
	if (to < content.length) {
		const space = content.lastIndexOf(" ", to);
		if (space > first.index + first[0].length) to = space;
		if (isLowSurrogate(content.charCodeAt(to))) to += 1;
	}
	const prefix = from > 0 ? "… " : "";
	const snippet = prefix + content.slice(from, to) + (to < content.length ? " …" : "");
	const highlights: [number, number][] = [];
	find.lastIndex = from;
	for (let m = find.exec(content); m && m.index + m[0].length <= to; m = find.exec(content)) {
		if (m[0].length === 0) break;
		highlights.push([m.index - from + prefix.length, m.index - from + prefix.length + m[0].length]);
	}
	return { snippet, highlights };
}

/** The hit's snippet: ts_headline's when it marked a word, else cut around the substring that matched. */
export function snippetOf(headline: string, content: string, q: string): Snippet {
	const parsed = parseHeadline(headline);
	if (parsed.highlights.length > 0) return parsed;
	return substringSnippet(content, q) ?? parsed;
}

/** A snippet as alternating plain and highlighted parts, in order, for rendering as text nodes. */
export function highlightParts({ snippet, highlights }: Snippet): { text: string; mark: boolean }[] {
	const parts: { text: string; mark: boolean }[] = [];
	let at = 0;
	for (const [start, end] of [...highlights].sort((a, b) => a[0] - b[0])) {
		if (start < at || end > snippet.length || end <= start) continue;
		if (start > at) parts.push({ text: snippet.slice(at, start), mark: false });
		parts.push({ text: snippet.slice(start, end), mark: true });
		at = end;
	}
	if (at < snippet.length) parts.push({ text: snippet.slice(at), mark: false });
	return parts;
}

function isLowSurrogate(code: number): boolean {
	return code >= 0xdc00 && code <= 0xdfff;
}

function toBase64Url(text: string): string {
	const bytes = new TextEncoder().encode(text);
	return btoa(String.fromCharCode(...bytes))
		.replace(/\+/g, "-")
		.replace(/\//g, "_")
		.replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
	try {
		const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
		return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
	} catch {
		return null;
	}
}
