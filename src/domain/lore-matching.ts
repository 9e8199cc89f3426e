/**
 * Which lorebook entries a turn brings into the prompt, matched the way SillyTavern's world info matches them:
 * - a key is case-insensitive unless the entry is `case_sensitive`;
 * - whole words by default (`match_whole_words` null or true): a key of one word needs a non-word character (or the
 *   text's start or end) on each side, where a word character is `[A-Za-z0-9_]` as in JavaScript's `\W`; a key of
 *   several words matches anywhere as it is;
 * - `/pattern/flags` is a regular expression, tested as it is (case and whole words are its own business);
 * - a `selective` entry needs one of its `secondary_keys` as well (SillyTavern's default "AND ANY"), unless it has none;
 * - `constant` entries always fire, disabled ones never.
 * Regular expressions run on RE2 (linear time: a user's `(a+)+$` cannot stall the event loop); what RE2 cannot run
 * (backreferences, lookarounds) is refused by `compileKey`, which the lorebooks service calls on every write. A turn
 * reads at most MAX_SCAN_CHARS of messages, and its matching stops after MATCHING_TIME_BUDGET_MS. A book's regular
 * expressions are matched together, in one pass (RegexIndex), and its plain keys first ruled out by trigrams.
 * Keys differ from SillyTavern's in two small ways: a blank key never matches, and macros in keys are not replaced.
 */
import RE2 from "re2";
import { LRUCache } from "lru-cache";
import type { LoreEntry, LorebookData, LorePosition } from "./lorebook.js";
import { countTokens } from "./token-count.js";

type RE2Set = InstanceType<typeof RE2.Set>;

export interface FiredLore {
	/** The book's name. */
	book: string;
	/** The entry's name. */
	name: string;
	content: string;
	tokens: number;
}

export interface LoreSelection {
	before: FiredLore[];
	after: FiredLore[];
}

export interface LoreSettings {
	/** Messages scanned by a book without a `scan_depth` of its own. */
	scanDepth: number;
	/** Tokens of lore for a book without a `token_budget` of its own. */
	tokenBudget: number;
}

/** A compiled key: whether it occurs in a text as its entry's settings say. */
export interface KeyMatcher {
	test(text: string): boolean;
}

/** The longest `/pattern/` accepted: RE2's cost is linear in the text, times the size of the pattern. */
export const MAX_REGEX_KEY_CHARS = 1000;
/** Unicode property classes (`\pL`, `\p{Han}`, `\P{…}`) a key may use; each costs RE2 about a millisecond to compile. */
export const MAX_UNICODE_CLASSES = 4;
/**
 * The newest characters of the messages a book scans (and again of the entries a recursive scan reads): keys are
 * looked for in what was said lately, and this bounds the work of a turn whatever the scan depths and message sizes.
 */
export const MAX_SCAN_CHARS = 32_768;
/** Scans after the first one that read the content of fired entries (books with `recursive_scanning`). */
export const MAX_RECURSION_LEVELS = 3;
// RE2 is linear, but a large pattern over 32 kB can still take tens of milliseconds, and so can a long plain key that
// occurs inside words all over a text made for it ("-a-a-a…" in "a-a-a-a…"), or tens of thousands of keys. Once a
// turn's matching has taken this long, the entries not yet matched count as not firing (constants still fire): books
// of hostile keys cost a turn about this much. An ordinary book takes well under a millisecond.
const MATCHING_TIME_BUDGET_MS = 50;
// One regular expression cannot be stopped midway, and one made to thrash RE2's automaton (`(a|b)*a(a|b){18}c|…`,
// 700 characters) takes half a second over 32 kB. A key that alone took longer than a turn's budget never runs
// again in this process (it counts as absent), so each such key stalls one turn, not every turn.
const slowRegexes = new LRUCache<string, true>({ max: 10_000 });

interface Window {
	text: string;
	/** `text` in UTF-8, made when a regular expression first needs it (RE2 would convert the text for each key). */
	bytes?: Buffer;
	/** Which keys of each book's regular-expression set match `text` (null: test them one by one). */
	regexHits?: Map<RegexIndex, Set<number> | null>;
	/** `text` in lower case, made when a case-insensitive key first needs it. */
	folded?: string;
	/** The three-character runs of `text` / `folded`, made when a plain key first needs them. */
	trigrams?: Uint8Array;
	foldedTrigrams?: Uint8Array;
	/** When the selection's matching stops (performance.now()). */
	deadline: number;
	/** Set once the deadline has passed: every key not matched yet counts as absent. */
	expired?: boolean;
	/** Plain keys looked for: the clock is read every DEADLINE_CHECK_EVERY of them, not for each (it was 12 % of a turn). */
	looked?: number;
}

const DEADLINE_CHECK_EVERY = 16;

type Matcher =
	| { kind: "regex"; re: RE2; pattern: string; flags: string; id: string }
	| { kind: "text"; key: string; caseSensitive: boolean; wholeWord: boolean; trigrams: number[] };

const REGEX_KEY = /^\/([\s\S]+?)\/([gimsuy]*)$/;
const NEVER: Matcher = { kind: "text", key: "", caseSensitive: true, wholeWord: false, trigrams: [] };

/**
 * A key compiled for `entry`'s settings. Throws an Error saying why for a regular expression RE2 cannot run or one
 * longer than MAX_REGEX_KEY_CHARS.
 */
export function compileKey(key: string, entry: Pick<LoreEntry, "case_sensitive" | "match_whole_words">): KeyMatcher {
	const matcher = compile(key, entry);
	return { test: (text) => matches(matcher, { text, deadline: Number.POSITIVE_INFINITY }) };
}

function compile(key: string, entry: Pick<LoreEntry, "case_sensitive" | "match_whole_words">): Matcher {
	const trimmed = key.trim();
	const regex = REGEX_KEY.exec(trimmed);
	// As SillyTavern: a slash inside the pattern must be escaped, or the key is plain text.
	if (regex && !/(^|[^\\])\//.test(regex[1])) {
		const [, pattern, flags] = regex;
		return { kind: "regex", re: compileRegex(pattern, flags), pattern, flags, id: `${flags}/${pattern}` };
	}
	if (!trimmed) return NEVER;
	const caseSensitive = entry.case_sensitive === true;
	const folded = caseSensitive ? trimmed : trimmed.toLowerCase();
	const wholeWord = entry.match_whole_words !== false && !/\s/.test(folded);
	const trigrams = Array.from({ length: Math.max(0, folded.length - 2) }, (_, i) => trigramAt(folded, i + 2));
	return { kind: "text", key: folded, caseSensitive, wholeWord, trigrams };
}

// Books stay cached by ai-consumer between turns, but a regular expression shared by several books or read again
// after a reload is compiled once.
const compiledRegexes = new LRUCache<string, RE2>({ max: 1000 });

function compileRegex(pattern: string, flags: string): RE2 {
	if (pattern.length > MAX_REGEX_KEY_CHARS) {
		throw new Error(`The key /${pattern.slice(0, 40)}…/ is longer than ${MAX_REGEX_KEY_CHARS} characters`);
	}
	refuseCostlyCompile(pattern);
	// `g` would make `test` carry on from where the previous text matched: each test here is a new search.
	const runFlags = flags.replace(/g/g, "");
	const id = `${runFlags}/${pattern}`;
	const known = compiledRegexes.get(id);
	if (known) return known;
	let re: RE2;
	try {
		re = new RE2(pattern, runFlags);
	} catch (err) {
		const reason = err instanceof Error ? err.message : String(err);
		throw new Error(
			`The key /${pattern}/${flags} is not a regular expression cameo can run (backreferences and lookarounds ` +
				`are not supported): ${reason}`,
		);
	}
	compiledRegexes.set(id, re);
	return re;
}

/**
 * RE2 runs in linear time, but compiling is paid once more for every copy of a Unicode property class a counted
 * repetition makes: `\pL{300}` takes 0.4 s, and on the event loop. Such a key is refused before it is compiled.
 */
function refuseCostlyCompile(pattern: string): void {
	const classes = pattern.match(/\\[pP]/g)?.length ?? 0;
	if (classes > MAX_UNICODE_CLASSES || (classes > 0 && /\{\d/.test(pattern))) {
		throw new Error(
			`The key /${pattern.slice(0, 40)}/ is too costly to compile: at most ${MAX_UNICODE_CLASSES} Unicode classes ` +
				"(\\p…) in a key, and none with a counted repetition ({n}); use + or * instead",
		);
	}
}

function matches(matcher: Matcher, window: Window, index?: RegexIndex): boolean {
	if (matcher.kind === "regex") {
		const slot = index?.slots.get(matcher.re);
		const hits = slot === undefined ? null : regexHits(index!, window);
		if (hits) return hits.has(slot!);
		if (pastDeadline(window) || slowRegexes.has(matcher.id)) return false;
		matcher.re.lastIndex = 0; // a sticky (`y`) expression starts from the text's start every time
		const started = performance.now();
		const found = matcher.re.test((window.bytes ??= Buffer.from(window.text)));
		if (performance.now() - started > MATCHING_TIME_BUDGET_MS) slowRegexes.set(matcher.id, true);
		return found;
	}
	if (!matcher.key) return false;
	if (window.expired) return false;
	window.looked = (window.looked ?? 0) + 1;
	if (window.looked % DEADLINE_CHECK_EVERY === 0 && pastDeadline(window)) return false;
	const text = matcher.caseSensitive ? window.text : (window.folded ??= window.text.toLowerCase());
	const trigrams = matcher.caseSensitive
		? (window.trigrams ??= trigramsOf(text))
		: (window.foldedTrigrams ??= trigramsOf(text));
	for (const t of matcher.trigrams) if (!(trigrams[t >> 3] & (1 << (t & 7)))) return false;
	if (!matcher.wholeWord) return text.includes(matcher.key);
	const { key } = matcher;
	let tries = 0;
	for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
		if (!isWordChar(text.charCodeAt(at - 1)) && !isWordChar(text.charCodeAt(at + key.length))) return true;
		if (++tries % 256 === 0 && pastDeadline(window)) return false;
	}
	return false;
}

function pastDeadline(window: Window): boolean {
	if (!window.expired && performance.now() > window.deadline) window.expired = true;
	return window.expired === true;
}

// Most keys of a book are absent from a turn's messages, and looking for each in turn cost ~5 µs per key over 8 kB:
// the three-character runs of the text, hashed into a bit set once, rule most of them out in a few lookups (a hash
// collision only lets a key through to the real search).
const TRIGRAM_BITS = 1 << 16;

/** The hash of the three characters of `text` ending at `end`, below TRIGRAM_BITS. */
function trigramAt(text: string, end: number): number {
	const hash =
		Math.imul(text.charCodeAt(end - 2), 0x9e3779b1) ^
		Math.imul(text.charCodeAt(end - 1), 0x85ebca77) ^
		Math.imul(text.charCodeAt(end), 0xc2b2ae3d);
	return hash >>> 16;
}

function trigramsOf(text: string): Uint8Array {
	const bits = new Uint8Array(TRIGRAM_BITS >> 3);
	for (let end = 2; end < text.length; end++) {
		const t = trigramAt(text, end);
		bits[t >> 3] |= 1 << (t & 7);
	}
	return bits;
}

/** `[A-Za-z0-9_]`; NaN (before the start, after the end) is not. */
function isWordChar(code: number): boolean {
	return (
		(code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 // _
	);
}

interface CompiledEntry {
	primary: Matcher[];
	secondary: Matcher[];
}

// Entry objects live as long as the books ai-consumer keeps: their keys are compiled once, on the first turn.
const compiledEntries = new WeakMap<LoreEntry, CompiledEntry>();

function compiledEntry(entry: LoreEntry): CompiledEntry {
	let compiled = compiledEntries.get(entry);
	if (!compiled) {
		compiled = { primary: compileAll(entry.keys, entry), secondary: compileAll(entry.secondary_keys, entry) };
		compiledEntries.set(entry, compiled);
	}
	return compiled;
}

/** A stored key that does not compile (say a card's book from before it was checked) never matches. */
function compileAll(keys: string[], entry: LoreEntry): Matcher[] {
	return keys.flatMap((key) => {
		try {
			return [compile(key, entry)];
		} catch {
			return [];
		}
	});
}

function fires(entry: LoreEntry, window: Window, index: RegexIndex | undefined): boolean {
	if (entry.constant) return true;
	const { primary, secondary } = compiledEntry(entry);
	if (!anyMatches(primary, window, index)) return false;
	return !entry.selective || secondary.length === 0 || anyMatches(secondary, window, index);
}

function anyMatches(keys: Matcher[], window: Window, index: RegexIndex | undefined): boolean {
	for (const key of keys) if (matches(key, window, index)) return true;
	return false;
}

/**
 * The regular-expression keys of a book, compiled together into one RE2.Set: one pass over a turn's text finds all
 * that match, where testing them one by one cost 1–4 µs each. Each key keeps its own flags (inline `(?i:…)`).
 * A set cannot stop at the deadline, so it holds at most MAX_REGEX_KEY_CHARS of patterns: it costs no more than one
 * key may. Tested one by one instead: sticky keys, keys with Unicode classes (costly to compile, and twice) or with
 * counted repetitions (`{n}` multiplies the automaton: one such key would slow the whole set), and the keys that no
 * longer fit.
 */
interface RegexIndex {
	set: RE2Set;
	/** Each key's place in the set. */
	slots: Map<RE2, number>;
}

const regexIndexes = new WeakMap<LorebookData, RegexIndex | null>();
// A book read again (ai-consumer's cache expired) usually has the same keys: its set is compiled once.
const compiledSets = new LRUCache<string, RE2Set>({ max: 200 });
/** Sets whose matching once took longer than a turn's budget. */
const slowSets = new WeakSet<RE2Set>();

function regexIndexOf(book: LorebookData): RegexIndex | undefined {
	let index = regexIndexes.get(book);
	if (index === undefined) {
		index = buildRegexIndex(book);
		regexIndexes.set(book, index);
	}
	return index ?? undefined;
}

function buildRegexIndex(book: LorebookData): RegexIndex | null {
	const slots = new Map<RE2, number>();
	const patterns: string[] = [];
	let chars = 0;
	for (const entry of book.entries) {
		if (!entry.enabled || entry.constant) continue;
		const { primary, secondary } = compiledEntry(entry);
		for (const m of [...primary, ...secondary]) {
			if (m.kind !== "regex" || slots.has(m.re) || !fitsInSet(m.pattern, m.flags)) continue;
			if (chars + m.pattern.length > MAX_REGEX_KEY_CHARS) continue;
			chars += m.pattern.length;
			slots.set(m.re, patterns.length);
			patterns.push(`(?${m.flags.replace(/[^ims]/g, "")}:${m.pattern})`);
		}
	}
	if (patterns.length < 2) return null;
	const id = JSON.stringify(patterns);
	let set = compiledSets.get(id);
	if (!set) {
		try {
			set = new RE2.Set(patterns, "u");
		} catch {
			return null; // each key compiled alone: they are still tested one by one
		}
		compiledSets.set(id, set);
	}
	return { set, slots };
}

function fitsInSet(pattern: string, flags: string): boolean {
	return !flags.includes("y") && !/\\[pP]|\{\d/.test(pattern);
}

/**
 * The slots of `set`'s keys that match `window`; null when it failed (RE2 ran out of memory). A set that failed, or
 * took as long as a slow key, is not run again: its keys are tested one by one, and the slow ones found out.
 */
function matchSet(set: RE2Set, window: Window): Set<number> | null {
	const started = performance.now();
	try {
		return new Set(set.match((window.bytes ??= Buffer.from(window.text))));
	} catch {
		slowSets.add(set);
		return null;
	} finally {
		if (performance.now() - started > MATCHING_TIME_BUDGET_MS) slowSets.add(set);
	}
}

/** The slots of `index` whose keys match `window`; null when they must be tested one by one. */
function regexHits(index: RegexIndex, window: Window): Set<number> | null {
	window.regexHits ??= new Map();
	let hits = window.regexHits.get(index);
	if (hits === undefined) {
		hits = slowSets.has(index.set) || pastDeadline(window) ? null : matchSet(index.set, window);
		window.regexHits.set(index, hits);
	}
	return hits;
}

interface Candidate {
	entry: LoreEntry;
	book: number;
	/** Position of the entry in its book: ties keep the book's order. */
	index: number;
	tokens: number;
}

/**
 * The entries of `books` that fire for the latest messages `recent` (oldest first, the message being answered last),
 * within budget, in prompt order: `insertion_order` ascending, then book order, then the book's own order.
 *
 * Budget: each book's entries fit within its `token_budget` (else `settings.tokenBudget`), and all books' together
 * within the largest of those budgets, so one book behaves exactly as its budget says and several never take more
 * than the most generous of them. The highest `priority` is kept first; once an entry does not fit, the lower ones of
 * its book (or, for the shared budget, of every book) are dropped, not slipped in after it.
 *
 * Recursive scanning (a book's `recursive_scanning`): up to MAX_RECURSION_LEVELS more scans read the messages plus
 * the content of the entries kept so far, and those books' entries that have not fired yet may fire on it; entries
 * found this way only take budget left over by the earlier scans. An entry fires at most once, so cycles end. As in
 * SillyTavern, an entry with `exclude_recursion` (in its extensions) fires on the messages only, and the content of
 * one with `prevent_recursion` is not read by the recursive scans.
 */
export function selectLore(books: LorebookData[], recent: string[], settings: LoreSettings): LoreSelection {
	const deadline = performance.now() + MATCHING_TIME_BUDGET_MS;
	const depthOf = (book: LorebookData) => Math.max(0, book.scan_depth ?? settings.scanDepth);
	const messages = new Map<number, Window>();
	const messagesOf = (depth: number): Window => {
		let window = messages.get(depth);
		if (!window) {
			window = { text: newest(recent.slice(recent.length - Math.min(depth, recent.length))), deadline };
			messages.set(depth, window);
		}
		return window;
	};
	const bookLeft = books.map((book) => positive(book.token_budget ?? settings.tokenBudget));
	let poolLeft = Math.max(0, ...bookLeft);
	const kept: Candidate[] = [];
	const tried = new Set<LoreEntry>();

	const recursive = books.some((book) => book.recursive_scanning);
	let found = books.flatMap((book, b) => candidates(book, b, messagesOf(depthOf(book)), tried, false));
	for (let level = 0; found.length > 0; level++) {
		poolLeft = keepWithinBudget(found, kept, bookLeft, poolLeft);
		if (!recursive || level === MAX_RECURSION_LEVELS || poolLeft === 0) break;
		const lore = newest(kept.filter((c) => c.entry.extensions.prevent_recursion !== true).map((c) => c.entry.content));
		if (!lore) break;
		// The messages and the lore read as one text, as SillyTavern's recursion buffer does (for secondary keys).
		const withLore = new Map<number, Window>();
		found = books.flatMap((book, b) => {
			if (!book.recursive_scanning) return [];
			const depth = depthOf(book);
			let window = withLore.get(depth);
			if (!window) {
				window = { text: depth > 0 ? `${messagesOf(depth).text}\n${lore}` : lore, deadline };
				withLore.set(depth, window);
			}
			return candidates(book, b, window, tried, true);
		});
	}

	kept.sort((x, y) => x.entry.insertion_order - y.entry.insertion_order || x.book - y.book || x.index - y.index);
	const fired = (position: LorePosition) =>
		kept
			.filter((c) => c.entry.position === position)
			.map((c) => ({ book: books[c.book].name, name: c.entry.name, content: c.entry.content, tokens: c.tokens }));
	return { before: fired("before_char"), after: fired("after_char") };
}

/**
 * The enabled entries of `book` with content that fire on `window` (a recursive scan's when `recursing`, which
 * entries with `exclude_recursion` sit out); an entry fires at most once a turn.
 */
function candidates(
	book: LorebookData,
	b: number,
	window: Window,
	tried: Set<LoreEntry>,
	recursing: boolean,
): Candidate[] {
	const out: Candidate[] = [];
	const regexIndex = regexIndexOf(book);
	book.entries.forEach((entry, index) => {
		if (!entry.enabled || tried.has(entry) || !entry.content.trim()) return;
		if (recursing && entry.extensions.exclude_recursion === true) return;
		if (!fires(entry, window, regexIndex)) return;
		tried.add(entry);
		out.push({ entry, book: b, index, tokens: countTokens(entry.content) });
	});
	return out;
}

/** Moves what fits of `found` into `kept`, highest priority first; returns the shared budget left. */
function keepWithinBudget(found: Candidate[], kept: Candidate[], bookLeft: number[], poolLeft: number): number {
	found.sort((x, y) => y.entry.priority - x.entry.priority || x.book - y.book || x.index - y.index);
	for (const c of found) {
		if (c.tokens > poolLeft) return 0;
		if (c.tokens > bookLeft[c.book]) {
			bookLeft[c.book] = 0;
			continue;
		}
		bookLeft[c.book] -= c.tokens;
		poolLeft -= c.tokens;
		kept.push(c);
	}
	return poolLeft;
}

/** The last MAX_SCAN_CHARS characters of `texts` joined by newlines, without joining what would be cut. */
function newest(texts: string[]): string {
	let from = texts.length;
	for (let length = 0; from > 0 && length < MAX_SCAN_CHARS;) length += texts[--from].length + 1;
	const text = texts.slice(from).join("\n");
	return text.length <= MAX_SCAN_CHARS ? text : text.slice(text.length - MAX_SCAN_CHARS);
}

function positive(n: number): number {
	return Number.isFinite(n) && n > 0 ? n : 0;
}
