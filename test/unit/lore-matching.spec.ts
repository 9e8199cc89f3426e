import { describe, expect, it } from "vitest";
import type { LoreEntry, LorebookData } from "../../src/domain/lorebook.js";
import {
	compileKey,
	MAX_UNICODE_CLASSES,
	MAX_REGEX_KEY_CHARS,
	MAX_SCAN_CHARS,
	selectLore,
	type LoreSelection,
} from "../../src/domain/lore-matching.js";
import { countTokens } from "../../src/domain/token-count.js";

let nextId = 0;
const entry = (name: string, keys: string[], more: Partial<LoreEntry> = {}): LoreEntry => ({
	id: nextId++,
	name,
	keys,
	secondary_keys: [],
	content: `${name} lore.`,
	enabled: true,
	constant: false,
	selective: false,
	case_sensitive: null,
	match_whole_words: null,
	insertion_order: 100,
	priority: 10,
	position: "before_char",
	extensions: {},
	...more,
});
const book = (entries: LoreEntry[], more: Partial<LorebookData> = {}): LorebookData => ({
	name: "World",
	description: "",
	scan_depth: null,
	token_budget: null,
	recursive_scanning: false,
	entries,
	extensions: {},
	...more,
});
const settings = { scanDepth: 4, tokenBudget: 1000 };
const names = (selection: LoreSelection) => [...selection.before, ...selection.after].map((f) => f.name);
const fired = (books: LorebookData[], recent: string[]) => names(selectLore(books, recent, settings));
/** `length` characters of a and b, the same every time. */
function randomAB(length: number): string {
	let seed = 1;
	return Array.from({ length }, () => ((seed = (seed * 48271) % 2147483647) & 1 ? "a" : "b")).join("");
}
const matches = (key: string, text: string, more: Partial<LoreEntry> = {}) =>
	compileKey(key, { case_sensitive: null, match_whole_words: null, ...more }).test(text);

describe("compileKey", () => {
	it("should match whole words by default, with punctuation and the text's ends as boundaries", () => {
		expect(matches("dragon", "A dragon!")).toBe(true);
		expect(matches("dragon", "dragon")).toBe(true);
		expect(matches("dragon", "(dragon)")).toBe(true);
		expect(matches("dragon", "the dragons")).toBe(false);
		expect(matches("dragon", "snapdragon")).toBe(false);
		expect(matches("dragon", "dragon_fire")).toBe(false);
		expect(matches("dragon", "dragon2")).toBe(false);
	});

	it("should treat a letter outside A-Z as a boundary, as JavaScript's \\W does in SillyTavern", () => {
		expect(matches("caf", "un café")).toBe(true);
		expect(matches("café", "un café noir")).toBe(true);
		expect(matches("café", "cafés")).toBe(false);
	});

	it("should match a key with punctuation of its own as a whole word too", () => {
		expect(matches("Mr. Grey", "Ask mr. grey.")).toBe(true);
		expect(matches("c++", "I write c++ daily")).toBe(true);
		expect(matches("o'neil", "Mrs o'neils")).toBe(false);
		expect(matches("o'neil", "Mrs o'neil, hello")).toBe(true);
	});

	it("should match a key of several words anywhere, as it is", () => {
		expect(matches("red king", "the red kingdom")).toBe(true);
		expect(matches("red king", "the red  king")).toBe(false);
	});

	it("should match substrings when whole words are off", () => {
		expect(matches("dragon", "snapdragons", { match_whole_words: false })).toBe(true);
		expect(matches("dragon", "snapdrag", { match_whole_words: false })).toBe(false);
	});

	it("should ignore case unless the entry is case-sensitive", () => {
		expect(matches("Dragon", "a DRAGON")).toBe(true);
		expect(matches("Dragon", "a dragon", { case_sensitive: false })).toBe(true);
		expect(matches("Dragon", "a dragon", { case_sensitive: true })).toBe(false);
		expect(matches("Dragon", "a Dragon", { case_sensitive: true })).toBe(true);
		expect(matches("Red King", "the red kingdom", { case_sensitive: true })).toBe(false);
	});

	it("should never match an empty key", () => {
		expect(matches("  ", "anything at all")).toBe(false);
	});

	it("should run /pattern/flags keys as regular expressions, case and whole words left to the pattern", () => {
		expect(matches("/drag(on|oon)s?/", "two dragoons")).toBe(true);
		expect(matches("/Dragon/", "a dragon")).toBe(false);
		expect(matches("/Dragon/i", "a dragon")).toBe(true);
		expect(matches("/^the end$/m", "it was\nthe end\nor not")).toBe(true);
		expect(matches("/^the end$/", "it was\nthe end\nor not")).toBe(false);
		expect(matches("/a.b/s", "a\nb")).toBe(true);
		expect(matches("/\\bking\\b/", "the kingdom")).toBe(false);
	});

	it("should give the same answer every time for a global or sticky expression", () => {
		const global = compileKey("/dragon/g", { case_sensitive: null, match_whole_words: null });
		expect([global.test("dragon"), global.test("dragon"), global.test("a dragon")]).toEqual([true, true, true]);
		const sticky = compileKey("/dragon/y", { case_sensitive: null, match_whole_words: null });
		expect([sticky.test("dragon"), sticky.test("dragon"), sticky.test("a dragon")]).toEqual([true, true, false]);
	});

	it("should read a key with an unescaped slash inside as plain text, as SillyTavern does", () => {
		expect(matches("/and/or/", "yes /and/or/ no")).toBe(true);
		expect(matches("/a\\/b/", "a/b")).toBe(true);
	});

	it("should refuse what RE2 cannot run, saying why", () => {
		expect(() => compileKey("/(a)\\1/", { case_sensitive: null, match_whole_words: null })).toThrow(
			/backreferences and lookarounds/,
		);
		expect(() => compileKey("/dragon(?= fire)/", { case_sensitive: null, match_whole_words: null })).toThrow(
			/not a regular expression cameo can run/,
		);
		expect(() => compileKey("/(?<!no )dragon/", { case_sensitive: null, match_whole_words: null })).toThrow();
		expect(() => compileKey("/[unclosed/", { case_sensitive: null, match_whole_words: null })).toThrow();
		expect(() => compileKey("/a{5000}/", { case_sensitive: null, match_whole_words: null })).toThrow();
		const long = `/${"a".repeat(MAX_REGEX_KEY_CHARS + 1)}/`;
		expect(() => compileKey(long, { case_sensitive: null, match_whole_words: null })).toThrow(/longer than/);
	});

	it("should refuse, before compiling, keys whose Unicode classes would take RE2 long to compile", () => {
		const settings = { case_sensitive: null, match_whole_words: null };
		// Compiled, `\\pL{300}` alone holds the event loop for about 0.4 s.
		for (const key of ["/\\pL{300}/", "/(\\p{Han}{10}){10}/", `/${"\\pL".repeat(MAX_UNICODE_CLASSES + 1)}/`]) {
			const started = performance.now();
			expect(() => compileKey(key, settings)).toThrow(/too costly to compile/);
			expect(performance.now() - started).toBeLessThan(5);
		}
		expect(compileKey("/\\p{Han}+/u", settings).test("他说龙")).toBe(true);
		expect(compileKey(`/${"\\pL+ ".repeat(MAX_UNICODE_CLASSES).trim()}/`, settings).test("a b c dd")).toBe(true);
	});

	it("should run (a+)+$ against 100 kB in linear time", () => {
		const key = compileKey("/(a+)+$/", { case_sensitive: null, match_whole_words: null });
		const started = performance.now();
		expect(key.test(`${"a".repeat(100_000)}!`)).toBe(false);
		expect(key.test("a".repeat(100_000))).toBe(true);
		// A backtracking engine takes longer than the age of the universe; RE2 takes about a millisecond.
		expect(performance.now() - started).toBeLessThan(1000);
	});
});

describe("selectLore", () => {
	it("should fire the same as the messages move through the scanned window over several turns", () => {
		const world = book(
			[
				entry("Lamp", ["lamp"]),
				entry("Smuggler", ["cove"], { selective: true, secondary_keys: ["smuggler"] }),
				entry("Lit lamp", ["/lamp\\s+lit/"]),
				entry("Case", ["Keeper"], { case_sensitive: true }),
			],
			{ scan_depth: 2 },
		);
		const chat = ["the lamp", "lit at the cove", "a smuggler!", "the keeper", "The Keeper", "quiet"];
		const turns = chat.map((_, i) => fired([world], chat.slice(0, i + 1)).sort());
		expect(turns).toEqual([
			["Lamp"],
			// Across two messages: the regular expression reads them joined by a newline, as SillyTavern does.
			["Lamp", "Lit lamp"],
			// Primary key in one message, secondary in the next.
			["Smuggler"],
			[],
			["Case"],
			["Case"],
		]);
		// Each turn again, with the messages already seen: the same answers.
		expect(chat.map((_, i) => fired([world], chat.slice(0, i + 1)).sort())).toEqual(turns);
		// A book read again (a new object, as after an edit) is matched as it is now.
		const edited = book([entry("Lamp", ["quiet"])], { scan_depth: 2 });
		expect(fired([edited], chat)).toEqual(["Lamp"]);
		expect(fired([edited], ["the lamp"])).toEqual([]);
	});

	it("should fire each entry exactly when one of its keys is in the scanned messages", () => {
		const lore = [book([entry("Dragon", ["dragon", "wyrm"]), entry("Castle", ["castle"]), entry("Sea", ["sea"])])];
		expect(fired(lore, ["We saw a wyrm."])).toEqual(["Dragon"]);
		expect(fired(lore, ["The castle", "by the sea"])).toEqual(["Castle", "Sea"]);
		expect(fired(lore, ["Nothing here, seaside castles."])).toEqual([]);
	});

	it("should scan only the latest scan_depth messages, the book's own or the setting's", () => {
		const recent = ["a dragon", "two", "three", "four", "five"];
		expect(fired([book([entry("Dragon", ["dragon"])])], recent)).toEqual([]);
		expect(fired([book([entry("Dragon", ["dragon"])])], ["one", ...recent.slice(0, 4)])).toEqual(["Dragon"]);
		expect(fired([book([entry("Dragon", ["dragon"])], { scan_depth: 5 })], recent)).toEqual(["Dragon"]);
		expect(fired([book([entry("Five", ["five"])], { scan_depth: 1 })], recent)).toEqual(["Five"]);
		expect(fired([book([entry("Four", ["four"])], { scan_depth: 1 })], recent)).toEqual([]);
		expect(fired([book([entry("Five", ["five"])], { scan_depth: 0 })], recent)).toEqual([]);
	});

	it("should scan at most the newest MAX_SCAN_CHARS characters", () => {
		const lore = [book([entry("Old", ["old"]), entry("New", ["new"])])];
		expect(fired(lore, [`old ${"x ".repeat(MAX_SCAN_CHARS)}`, "new"])).toEqual(["New"]);
	});

	it("should fire a selective entry only with one of its secondary keys, and on its keys alone without any", () => {
		const lore = [
			book([
				entry("Queen at war", ["queen"], { selective: true, secondary_keys: ["war", "battle"] }),
				entry("Queen", ["queen"], { selective: true, secondary_keys: [] }),
				entry("Not selective", ["queen"], { selective: false, secondary_keys: ["never said"] }),
			]),
		];
		expect(fired(lore, ["The queen rests."])).toEqual(["Queen", "Not selective"]);
		expect(fired(lore, ["The queen rides to battle."])).toEqual(["Queen at war", "Queen", "Not selective"]);
		expect(fired(lore, ["A battle, no royals."])).toEqual([]);
	});

	it("should always fire constants and never disabled entries", () => {
		const lore = [
			book([
				entry("Always", [], { constant: true }),
				entry("Off", ["dragon"], { enabled: false }),
				entry("Off constant", [], { constant: true, enabled: false }),
			]),
		];
		expect(fired(lore, [])).toEqual(["Always"]);
		expect(fired(lore, ["a dragon"])).toEqual(["Always"]);
	});

	it("should order by insertion_order, then book, then the book's order, and split by position", () => {
		const first = book(
			[
				entry("Late", ["x"], { insertion_order: 300 }),
				entry("Early after", ["x"], { insertion_order: 10, position: "after_char" }),
				entry("Mid", ["x"], { insertion_order: 200 }),
				entry("Tie A", ["x"], { insertion_order: 50 }),
			],
			{ name: "First" },
		);
		const second = book([entry("Tie B", ["x"], { insertion_order: 50 })], { name: "Second" });
		const selection = selectLore([second, first], ["x"], settings);
		expect(selection.before.map((f) => f.name)).toEqual(["Tie B", "Tie A", "Mid", "Late"]);
		expect(selection.after).toEqual([
			{ book: "First", name: "Early after", content: "Early after lore.", tokens: countTokens("Early after lore.") },
		]);
	});

	it("should drop the lowest priority first when the budget is short, never slipping a lower one in", () => {
		const content = "word ".repeat(20).trim(); // 20 tokens
		const size = countTokens(content);
		const lore = [
			book([
				entry("Low", ["x"], { priority: 1, content }),
				entry("High", ["x"], { priority: 9, content }),
				entry("Mid", ["x"], { priority: 5, content: "word ".repeat(40).trim() }),
				entry("Tiny lowest", ["x"], { priority: 0, content: "word" }),
			]),
		];
		expect(names(selectLore(lore, ["x"], { scanDepth: 4, tokenBudget: size * 2 }))).toEqual(["High"]);
		expect(names(selectLore(lore, ["x"], { scanDepth: 4, tokenBudget: size * 3 }))).toEqual(["High", "Mid"]);
		const withBookBudget = [{ ...lore[0], token_budget: size * 4 + 1 }];
		expect(names(selectLore(withBookBudget, ["x"], { scanDepth: 4, tokenBudget: 1 }))).toEqual([
			"Low",
			"High",
			"Mid",
			"Tiny lowest",
		]);
	});

	it("should keep each book within its own budget and all of them within the largest", () => {
		const content = "word ".repeat(20).trim();
		const size = countTokens(content);
		const small = book([entry("S1", ["x"], { content, priority: 9 }), entry("S2", ["x"], { content, priority: 8 })], {
			name: "Small",
			token_budget: size,
		});
		const large = book([entry("L1", ["x"], { content, priority: 5 }), entry("L2", ["x"], { content, priority: 3 })], {
			name: "Large",
			token_budget: size * 2,
		});
		const selection = selectLore([small, large], ["x"], settings);
		// Small holds one entry (S1, not S2); together they hold two (Large's budget): S1, then L1, and L2 would be a third.
		expect(names(selection)).toEqual(["S1", "L1"]);
		expect(selection.before.reduce((sum, f) => sum + f.tokens, 0)).toBeLessThanOrEqual(size * 2);
	});

	it("should scan the content of fired entries when the book scans recursively, at most MAX_RECURSION_LEVELS deep", () => {
		const chain = [
			entry("A", ["start"], { content: "See bee." }),
			entry("B", ["bee"], { content: "See sea." }),
			entry("C", ["sea"], { content: "See dee." }),
			entry("D", ["dee"], { content: "See eel." }),
			entry("E", ["eel"], { content: "The end." }),
		];
		expect(fired([book(chain)], ["start"])).toEqual(["A"]);
		expect(fired([book(chain, { recursive_scanning: true })], ["start"])).toEqual(["A", "B", "C", "D"]);
	});

	it("should end a recursive scan over a cycle, each entry firing once", () => {
		const cycle = book([entry("Ping", ["ping"], { content: "pong" }), entry("Pong", ["pong"], { content: "ping" })], {
			recursive_scanning: true,
		});
		const selection = selectLore([cycle], ["ping"], settings);
		expect(names(selection)).toEqual(["Ping", "Pong"]);
	});

	it("should fire an entry with exclude_recursion on the messages only, as SillyTavern does", () => {
		const lore = book(
			[
				entry("Hive", ["start"], { content: "A bee hums." }),
				entry("Bee", ["bee"], { extensions: { exclude_recursion: true } }),
				entry("Honey", ["hums"]),
			],
			{ recursive_scanning: true },
		);
		expect(fired([lore], ["start"])).toEqual(["Hive", "Honey"]);
		expect(fired([lore], ["a bee"])).toEqual(["Bee"]);
	});

	it("should not let recursion read the content of an entry with prevent_recursion, as SillyTavern does", () => {
		const hive = (extensions = {}) =>
			book([entry("Hive", ["start"], { content: "A bee hums.", extensions }), entry("Bee", ["bee"])], {
				recursive_scanning: true,
			});
		expect(fired([hive()], ["start"])).toEqual(["Hive", "Bee"]);
		expect(fired([hive({ prevent_recursion: true })], ["start"])).toEqual(["Hive"]);
	});

	it("should let recursion fire only what fits in the budget the direct matches left", () => {
		const content = "word ".repeat(20).trim() + " bee";
		const size = countTokens(content);
		const lore = book(
			[entry("Direct", ["start"], { content, priority: 1 }), entry("Found", ["bee"], { content, priority: 9 })],
			{ recursive_scanning: true, token_budget: size },
		);
		expect(fired([lore], ["start"])).toEqual(["Direct"]);
	});

	it("should stop matching once the turn's matching took its time, so a book of slow expressions stalls nothing", () => {
		// Each of these costs RE2 tens of milliseconds over 32 kB of a and b (linear, but in a large automaton).
		const slow = Array.from({ length: 20 }, (_, i) => entry(`Slow ${i}`, [`/(a|b)*a(a|b){${18 + i}}c/`]));
		const lore = [book([...slow, entry("Last", ["/ab/"]), entry("Always", [], { constant: true })])];
		let seed = 1;
		const text = Array.from({ length: MAX_SCAN_CHARS }, () => ((seed = (seed * 48271) % 2147483647) & 1 ? "a" : "b"));
		const started = performance.now();
		// "Last" would match, but comes after the slow ones, once the time is spent; constants fire all the same.
		expect(fired(lore, [text.join("")])).toEqual(["Always"]);
		expect(performance.now() - started).toBeLessThan(2000); // ~0.3 s on a busy 2-core machine; all twenty ~4 s
		expect(fired([book([entry("Last", ["/ab/"])])], [text.join("")])).toEqual(["Last"]);
	});

	it("should not run again a regular expression that alone took longer than a turn's budget", () => {
		// Twenty ways to thrash RE2's automaton in one key, ~0.3 s over 32 kB of a and b, and a word it finds.
		const thrashing = Array.from({ length: 20 }, (_, i) => `(a|b)*a(a|b){${18 + i}}c`).join("|");
		const lore = [book([entry("Slow", [`/${thrashing}|zzz/`]), entry("Quick", ["/ab/"])])];
		const text = `${randomAB(MAX_SCAN_CHARS - 4)} zzz`;
		// It runs once, and finds its word; the turn's time is spent, so the next key counts as absent.
		expect(fired(lore, [text])).toEqual(["Slow"]);
		const started = performance.now();
		expect(fired(lore, [text])).toEqual(["Quick"]);
		expect(performance.now() - started).toBeLessThan(50);
	});

	it("should match a book's regular expressions one by one once their set took longer than a turn's budget", () => {
		// Seven ways to thrash RE2's automaton, ~0.1 s over 32 kB of a and b; no `{n}`, so the key goes in the set.
		const thrashing = Array.from({ length: 7 }, (_, i) => `[ab]*a${"[ab]".repeat(18 + i)}c`).join("|");
		const lore = [book([entry("Slow", [`/${thrashing}|zz/`]), entry("Quick", ["/ab/"])])];
		const text = `${randomAB(MAX_SCAN_CHARS - 4)} zz`;
		// The set runs once and finds both; then its keys go one by one: the slow one runs once more, alone, and
		// spends the turn's time; from then on it counts as absent and a turn is quick again.
		expect(fired(lore, [text])).toEqual(["Slow", "Quick"]);
		expect(fired(lore, [text])).toEqual(["Slow"]);
		const started = performance.now();
		expect(fired(lore, [text])).toEqual(["Quick"]);
		expect(performance.now() - started).toBeLessThan(50);
	});

	it("should bound plain keys that occur inside words all over a text made for them", () => {
		// "-a-a…-a" occurs ~16,000 times in "a-a-a…", never as a whole word: ~30 ms of searching per key.
		const periodic = "-a".repeat(500);
		const slow = Array.from({ length: 20 }, (_, i) => entry(`Slow ${i}`, [periodic]));
		const lore = [book([...slow, entry("Last", ["last"], { insertion_order: 0 })])];
		const text = `a${"-a".repeat(MAX_SCAN_CHARS / 2 - 4)} last`;
		const started = performance.now();
		expect(fired(lore, [text])).toEqual([]);
		expect(performance.now() - started).toBeLessThan(2000); // ~70 ms on a busy 2-core machine; all twenty ~0.6 s
		expect(fired([book([entry("Last", ["last"])])], [text])).toEqual(["Last"]);
	});

	it("should fire a book's regular-expression keys, matched together, exactly as each key alone", () => {
		// Each flag, sticky, a Unicode class and a counted repetition (the last three are tested one by one), an
		// alternation that must stay inside its key, a key shared by two entries, and one in secondary keys.
		const keys = [
			"/Dragon/",
			"/dragon/i",
			"/a.b/s",
			"/^tide$/m",
			"/^tide$/",
			"/start/y",
			"/\\pLu\\d/u",
			"/x{3}/",
			"/red|blue/",
			"/^(?:red|green)$/",
			"/caf\\x{e9}|café/",
		];
		const entries = keys.map((key, i) => entry(`K${i}`, [key]));
		entries.push(
			entry("Shared", ["/dragon/i"]),
			entry("Second", ["tower"], { selective: true, secondary_keys: ["/a.b/s"] }),
		);
		const lore = book(entries);
		const texts = [
			"dragon",
			"A DRAGON",
			"a\nb",
			"ebb\ntide\nflow",
			"tide",
			"start here",
			"here start",
			"Lü9",
			"xxx",
			"xx",
			"blue moon",
			"green",
			"un café",
			"tower a\nb",
			"tower",
		];
		for (const text of texts) {
			const alone = entries.filter(
				(e) =>
					[...e.keys].some((k) => matches(k, text, e)) &&
					(!e.selective || e.secondary_keys.some((k) => matches(k, text, e))),
			);
			expect(fired([lore], [text]), text).toEqual(alone.map((e) => e.name));
		}
	});

	it("should still match the regular-expression keys past what one set of them may hold", () => {
		const many = Array.from({ length: 60 }, (_, i) => entry(`R${i}`, [`/\\bharbou?r[- ]${i}\\b/i`]));
		const lore = book(many);
		expect(fired([lore], ["the HARBOUR-59 and harbor 3"])).toEqual(["R3", "R59"]);
		expect(MAX_REGEX_KEY_CHARS).toBeLessThan(60 * 20);
	});

	it("should skip a stored key that does not compile and still fire on the entry's other keys", () => {
		const lore = [book([entry("Dragon", ["/(a)\\1/", "dragon"])])];
		expect(fired(lore, ["aa"])).toEqual([]);
		expect(fired(lore, ["a dragon"])).toEqual(["Dragon"]);
	});

	it("should choose among 200 entries fast, with their keys compiled once", () => {
		const many = book(
			Array.from({ length: 200 }, (_, i) =>
				entry(`E${i}`, [`name${i}`, `place${i}`, i % 10 === 0 ? `/tower ${i}|spire ${i}/i` : `thing ${i}`]),
			),
		);
		const recent = Array.from({ length: 4 }, (_, m) => `Message ${m} about name7, Spire 30 and place199. `.repeat(40));
		expect(fired([many], recent)).toEqual(["E7", "E30", "E199"]);
		const started = performance.now();
		for (let i = 0; i < 20; i++) selectLore([many], recent, settings);
		expect((performance.now() - started) / 20).toBeLessThan(20); // about 0.2 ms here; a sanity bound only
	});
});
