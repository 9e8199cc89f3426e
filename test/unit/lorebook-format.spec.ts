import { describe, expect, it } from "vitest";
import { compileKey } from "../../src/domain/lore-matching.js";
import {
	LORE_EXTRA_KEY,
	LorebookError,
	MAX_ENTRY_CONTENT_CHARS,
	MAX_KEYS_PER_ENTRY,
	MAX_KEY_CHARS,
	MAX_LOREBOOK_NAME_CHARS,
	MAX_LORE_ENTRIES,
	MAX_KEY_CHECK_MS,
	checkKeys,
	entriesFromParams,
	fromCharacterBook,
	fromWorldInfo,
	parseLorebookFile,
	toCharacterBook,
	toWorldInfo,
} from "../../src/domain/lorebook-format.js";
import { stEntry as sillyTavernEntry } from "../support/lorebook-files.js";

/** A SillyTavern entry about dragons, with these fields. */
const stEntry = (uid: number, fields: Record<string, unknown> = {}) =>
	sillyTavernEntry(uid, {
		key: ["dragon", "wyrm"],
		comment: `Entry ${uid}`,
		content: "Dragons sleep under the mountain.",
		...fields,
	});

const stFile = () => ({
	entries: {
		"0": stEntry(0),
		"1": stEntry(1, { position: 1, key: ["/king(dom)?/i"], order: 50, caseSensitive: true }),
		"2": stEntry(2, { position: 4, depth: 2, role: 1, constant: true, comment: "At depth" }),
		"7": stEntry(7, { disable: true, keysecondary: ["night"], matchWholeWords: false }),
	},
	originalData: { name: "Kept as it was", entries: [] },
});

/** A V2 book in the spec's field order, as a card editor writes it. */
const v2Book = () => ({
	name: "Eldoria",
	description: "The realm",
	scan_depth: 6,
	token_budget: 800,
	recursive_scanning: true,
	extensions: { chub: { id: 42 } },
	entries: [
		{
			keys: ["castle"],
			content: "The castle has nine towers.",
			extensions: { position: 4, depth: 3, match_whole_words: true, display_index: 0 },
			enabled: true,
			insertion_order: 10,
			case_sensitive: false,
			name: "Castle",
			priority: 5,
			id: 3,
			comment: "castle memo",
			selective: true,
			secondary_keys: ["tower"],
			constant: false,
			position: "after_char",
			probability: 100,
		},
		{ keys: ["moat"], content: "Eels.", extensions: {}, enabled: false, insertion_order: 2 },
		{ keys: [], content: "Always.", extensions: {}, enabled: true, insertion_order: 1, priority: null, constant: true },
	],
});

function refusal(fn: () => unknown): LorebookError {
	try {
		fn();
	} catch (err) {
		expect(err).toBeInstanceOf(LorebookError);
		return err as LorebookError;
	}
	throw new Error("not refused");
}

describe("SillyTavern world-info files", () => {
	it("should read the fields cameo models", () => {
		const book = fromWorldInfo(stFile());
		expect(book.entries.map((e) => e.id)).toEqual([0, 1, 2, 7]);
		expect(book.entries[0]).toMatchObject({
			name: "Entry 0",
			keys: ["dragon", "wyrm"],
			content: "Dragons sleep under the mountain.",
			selective: true,
			enabled: true,
			insertion_order: 100,
			position: "before_char",
			case_sensitive: null,
			match_whole_words: null,
		});
		expect(book.entries[1]).toMatchObject({ position: "after_char", case_sensitive: true, insertion_order: 50 });
		expect(book.entries[3]).toMatchObject({ enabled: false, secondary_keys: ["night"], match_whole_words: false });
	});

	it("should place author's note and @depth entries after the card, keeping SillyTavern's position", () => {
		const entry = fromWorldInfo(stFile()).entries[2];
		expect(entry.position).toBe("after_char");
		expect(entry.extensions).toMatchObject({ position: 4, depth: 2, role: 1 });
	});

	it("should give the same file back (every field, in any order)", () => {
		expect(toWorldInfo(fromWorldInfo(stFile()))).toEqual(stFile());
	});

	it("should give the same file back through a V2 character_book", () => {
		const viaV2 = toWorldInfo(parseLorebookFile(toCharacterBook(fromWorldInfo(stFile()))));
		expect(viaV2.entries).toEqual(stFile().entries);
	});

	it("should name the SillyTavern fields in a V2 export as SillyTavern's own V2 export does", () => {
		const [entry] = toCharacterBook(fromWorldInfo(stFile())).entries as Record<string, unknown>[];
		expect(entry).toMatchObject({
			keys: ["dragon", "wyrm"],
			comment: "Entry 0",
			name: "Entry 0",
			position: "before_char",
		});
		expect(entry.extensions).toMatchObject({
			position: 0,
			display_index: 0,
			exclude_recursion: false,
			group_weight: 100,
		});
	});

	it("should write the position the user chose over the kept one", () => {
		const book = fromWorldInfo(stFile());
		book.entries[2].position = "before_char";
		book.entries[0].position = "after_char";
		const entries = toWorldInfo(book).entries as Record<string, Record<string, unknown>>;
		expect(entries["2"].position).toBe(0);
		expect(entries["0"].position).toBe(1);
	});

	it("should number entries by their slot when uid is missing, and refuse two with one uid", () => {
		const book = fromWorldInfo({ entries: { "4": { key: ["a"], content: "x" }, "9": { key: ["b"], content: "y" } } });
		expect(book.entries.map((e) => e.id)).toEqual([4, 9]);
		expect(toWorldInfo(book).entries).toMatchObject({ "4": { key: ["a"] }, "9": { key: ["b"] } });
		expect(Object.keys((toWorldInfo(book).entries as Record<string, object>)["4"])).not.toContain("uid");
		const twice = { entries: { "0": { uid: 1, key: [] }, "1": { uid: 1, key: [] } } };
		expect(refusal(() => fromWorldInfo(twice)).field).toBe("entries[1].id");
	});
});

describe("V2 character_book", () => {
	it("should give a book back byte for byte", () => {
		expect(JSON.stringify(toCharacterBook(fromCharacterBook(v2Book())))).toBe(JSON.stringify(v2Book()));
	});

	it("should survive a trip through JSON (as the database keeps it) unchanged", () => {
		const stored = JSON.parse(JSON.stringify(fromCharacterBook(v2Book())));
		expect(toCharacterBook(stored)).toEqual(v2Book());
	});

	it("should read the modelled fields, defaults for the ones left out", () => {
		const book = fromCharacterBook(v2Book());
		expect(book).toMatchObject({ name: "Eldoria", scan_depth: 6, token_budget: 800, recursive_scanning: true });
		expect(book.entries[0]).toMatchObject({
			id: 3,
			name: "Castle",
			position: "after_char",
			match_whole_words: true,
			case_sensitive: false,
			selective: true,
			secondary_keys: ["tower"],
		});
		expect(book.entries[1]).toMatchObject({
			enabled: false,
			constant: false,
			case_sensitive: null,
			position: "after_char",
		});
		// Missing ids come after the given ones.
		expect(book.entries.map((e) => e.id)).toEqual([3, 4, 5]);
		expect(book.entries[2].priority).toBe(0);
	});

	it("should take SillyTavern's position number over the spec's field, as SillyTavern does", () => {
		const book = v2Book();
		book.entries[0].extensions.position = 0;
		expect(fromCharacterBook(book).entries[0].position).toBe("before_char");
	});

	it("should read a card carrying a book", () => {
		const card = { spec: "chara_card_v2", spec_version: "2.0", data: { name: "C", character_book: v2Book() } };
		expect(parseLorebookFile(card).entries).toHaveLength(3);
	});

	it("should write what the user changed", () => {
		const book = fromCharacterBook(v2Book());
		book.entries[1].constant = true;
		book.entries[2].priority = 7;
		book.entries[0].match_whole_words = false;
		const out = toCharacterBook(book) as { entries: Record<string, unknown>[] };
		expect(out.entries[1].constant).toBe(true);
		expect(out.entries[2].priority).toBe(7);
		expect((out.entries[0].extensions as Record<string, unknown>).match_whole_words).toBe(false);
	});

	it("should write a book made in cameo without nulls the spec has no room for", () => {
		const entries = entriesFromParams([{ keys: ["a"], content: "b" }]);
		const book = {
			name: "N",
			description: "",
			scan_depth: null,
			token_budget: null,
			recursive_scanning: false,
			entries,
			extensions: {},
		};
		const out = toCharacterBook(book);
		expect(out).not.toHaveProperty("scan_depth");
		expect((out.entries as object[])[0]).not.toHaveProperty("case_sensitive");
		expect(toCharacterBook(fromCharacterBook(out))).toEqual(out);
	});
});

describe("telling files apart, and refusing", () => {
	it("should refuse what is neither format", () => {
		for (const raw of [null, [], "x", 42, {}, { entries: "no" }])
			expect(refusal(() => parseLorebookFile(raw)).message).toMatch(/lorebook|world-info|character_book/);
	});

	it("should refuse wrong types, naming the field", () => {
		expect(refusal(() => fromCharacterBook({ entries: [{ keys: "castle" }] })).field).toBe("entries[0].keys");
		expect(refusal(() => fromCharacterBook({ entries: [{ keys: [1] }] })).field).toBe("entries[0].keys[0]");
		expect(refusal(() => fromCharacterBook({ entries: [{ content: {} }] })).field).toBe("entries[0].content");
		expect(refusal(() => fromCharacterBook({ entries: [{ id: 1.5 }] })).field).toBe("entries[0].id");
		expect(refusal(() => fromWorldInfo({ entries: { "0": { disable: "yes" } } })).field).toBe("entries.0.disable");
		expect(refusal(() => fromCharacterBook({ scan_depth: -1, entries: [] })).field).toBe("scan_depth");
	});

	it("should cap entries, keys, key length, content and names", () => {
		const many = { entries: Array.from({ length: MAX_LORE_ENTRIES + 1 }, () => ({ keys: [], content: "" })) };
		expect(refusal(() => fromCharacterBook(many)).field).toBe("entries");
		expect(fromCharacterBook({ entries: many.entries.slice(1) }).entries).toHaveLength(MAX_LORE_ENTRIES);
		const keys = Array.from({ length: MAX_KEYS_PER_ENTRY + 1 }, (_, i) => `k${i}`);
		expect(refusal(() => entriesFromParams([{ keys }])).field).toBe("entries[0].keys");
		expect(refusal(() => entriesFromParams([{ secondary_keys: ["x".repeat(MAX_KEY_CHARS + 1)] }])).field).toBe(
			"entries[0].secondary_keys[0]",
		);
		expect(refusal(() => entriesFromParams([{ content: "x".repeat(MAX_ENTRY_CONTENT_CHARS + 1) }])).field).toBe(
			"entries[0].content",
		);
		expect(refusal(() => fromCharacterBook({ name: "n".repeat(MAX_LOREBOOK_NAME_CHARS + 1) })).field).toBe("name");
	});

	it("should refuse NUL characters (values and keys) and deep nesting, and mend half surrogate pairs", () => {
		expect(refusal(() => entriesFromParams([{ content: "a\u0000b" }])).field).toBe("entries[0].content");
		expect(() => entriesFromParams([{ extensions: { "a\u0000": 1 } }])).toThrow(LorebookError);
		let deep: unknown = 1;
		for (let i = 0; i < 40; i++) deep = { d: deep };
		expect(() => entriesFromParams([{ extensions: deep as object }])).toThrow(/nested/);
		const [entry] = entriesFromParams([{ name: "a\uD800b", extensions: { "x\uDC00": "y\uD800" } }]);
		expect(entry.name).toBe("a\uFFFDb");
		expect(entry.extensions).toEqual({ "x\uFFFD": "y\uFFFD" });
	});

	it("should keep a __proto__ key as data", () => {
		const [entry] = entriesFromParams([JSON.parse('{"extensions": {"__proto__": {"polluted": true}}}')]);
		expect(Object.keys(entry.extensions)).toEqual(["__proto__"]);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it("should refuse the reserved extension key in a file", () => {
		const book = { entries: [{ keys: [], extensions: { [LORE_EXTRA_KEY]: {} } }] };
		expect(refusal(() => fromCharacterBook(book)).field).toBe(`entries[0].extensions.${LORE_EXTRA_KEY}`);
	});

	it("should check only /regex/ keys, naming the one refused", () => {
		const seen: string[] = [];
		const check = (key: string) => {
			seen.push(key);
			if (key.includes("(")) throw new Error("refused pattern");
		};
		const entries = entriesFromParams([{ keys: ["plain", "/ok/i"], secondary_keys: ["/(a+)+$/"] }]);
		const err = refusal(() => checkKeys(entries, check));
		expect(err.field).toBe("entries[0].secondary_keys[0]");
		expect(err.message).toMatch(/refused pattern/);
		expect(seen).toEqual(["/ok/i", "/(a+)+$/"]);
	});
});

describe("regular expression keys, checked with the chat's own compiler", () => {
	it("should refuse what RE2 cannot run and accept what it runs in linear time", () => {
		const check = (key: string) => () => checkKeys(entriesFromParams([{ keys: ["plain", key] }]), compileKey);
		expect(refusal(check("/[unclosed/")).field).toBe("entries[0].keys[1]");
		expect(refusal(check("/(a)\\1/")).message).toMatch(/entries\[0\]\.keys\[1\]/);
		expect(refusal(check("/(?<=a)b/")).field).toBe("entries[0].keys[1]");
		const started = performance.now();
		expect(check("/(a+)+$/")).not.toThrow();
		expect(check(" /^(([a-z])+.)+[A-Z]([a-z])+$/i")).not.toThrow();
		expect(performance.now() - started).toBeLessThan(100);
	});

	it("should refuse a book whose expressions take too long to compile, naming where it stopped", () => {
		let clock = 0;
		const now = () => (clock += MAX_KEY_CHECK_MS / 2 + 1);
		const entries = entriesFromParams([{ keys: ["/a/", "/b/", "/c/"] }]);
		const err = refusal(() => checkKeys(entries, () => undefined, now));
		// The first key took half the time, the second the rest.
		expect(err.field).toBe("entries[0].keys[1]");
		expect(err.message).toMatch(/too long to compile/);
		clock = 0;
		expect(() =>
			checkKeys(
				entries,
				() => undefined,
				() => clock,
			),
		).not.toThrow();
	});
});

describe("entries written through the API", () => {
	it("should fill in defaults and keep given ids", () => {
		const entries = entriesFromParams([{ id: 5, keys: ["a"] }, { content: "b" }]);
		expect(entries.map((e) => e.id)).toEqual([5, 6]);
		expect(entries[1]).toEqual({
			id: 6,
			name: "",
			keys: [],
			secondary_keys: [],
			content: "b",
			enabled: true,
			constant: false,
			selective: false,
			case_sensitive: null,
			match_whole_words: null,
			insertion_order: 100,
			priority: 100,
			position: "before_char",
			extensions: {},
		});
	});

	it("should keep what an edited imported entry carried, so its export stays as it was", () => {
		const imported = fromCharacterBook(v2Book());
		const edited = entriesFromParams(JSON.parse(JSON.stringify(imported.entries)));
		expect(toCharacterBook({ ...imported, entries: edited })).toEqual(v2Book());
	});
});
