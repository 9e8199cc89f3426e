import { describe, expect, it } from "vitest";
import {
	HIGHLIGHT_END as E,
	HIGHLIGHT_START as S,
	decodeCursor,
	encodeCursor,
	highlightParts,
	parseHeadline,
	snippetOf,
	substringPattern,
	substringSnippet,
	type Snippet,
} from "../../src/domain/search.js";

/** The highlighted parts of a snippet, as text. */
const marked = (s: Snippet) => s.highlights.map(([a, b]) => s.snippet.slice(a, b));

describe("search cursor", () => {
	it("should read back exactly the rank and seq it was made of", () => {
		for (const rank of [0, 0.0607927106320858, 1e-7, 1.5e-20, 0.1 + 0.2]) {
			const cursor = { rank, seq: "9223372036854775807" };
			expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
		}
	});

	it.each([
		["empty", ""],
		["not base64url", "a+b/c="],
		["no seq", Buffer.from("0.5").toString("base64url")],
		["negative rank", Buffer.from("-1:5").toString("base64url")],
		["NaN", Buffer.from("NaN:5").toString("base64url")],
		["Infinity", Buffer.from("Infinity:5").toString("base64url")],
		["seq zero", Buffer.from("0.5:0").toString("base64url")],
		["seq past bigint", Buffer.from("0.5:9223372036854775808").toString("base64url")],
		["SQL", Buffer.from("0.5:1; DROP TABLE messages").toString("base64url")],
		["invalid UTF-8", Buffer.from([0xff, 0xfe, 0x3a, 0x31]).toString("base64url")],
		["too long", "A".repeat(65)],
	])("should refuse a cursor that is %s", (_, text) => {
		expect(decodeCursor(text)).toBeNull();
	});
});

describe("substringPattern", () => {
	it("should match a query inside words, its LIKE wildcards as themselves", () => {
		expect(substringPattern(" Wetter ")).toBe("%Wetter%");
		expect(substringPattern("100%_a\\b")).toBe("%100\\%\\_a\\\\b%");
	});

	it("should leave short Latin or Cyrillic queries to whole words, but not Chinese, Japanese or Korean", () => {
		expect(substringPattern("ab")).toBeNull();
		expect(substringPattern("яб")).toBeNull();
		expect(substringPattern("猫")).toBe("%猫%");
		expect(substringPattern("東京")).toBe("%東京%");
		expect(substringPattern("カ")).toBe("%カ%");
		expect(substringPattern("한")).toBe("%한%");
		// Three code points, whatever their UTF-16 length.
		expect(substringPattern("😀😀")).toBeNull();
	});
});

describe("parseHeadline", () => {
	it("should turn ts_headline's markers into ranges of plain text", () => {
		const s = parseHeadline(`Das ${S}Wetter${E} in ${S}München${E} ist <b>schön</b>`);
		expect(s.snippet).toBe("Das Wetter in München ist <b>schön</b>");
		expect(marked(s)).toEqual(["Wetter", "München"]);
	});

	it("should drop stray or empty markers instead of misplacing a range", () => {
		expect(parseHeadline(`a${E}b${S}${E}c${S}d`)).toEqual({ snippet: "abcd", highlights: [] });
	});
});

describe("substringSnippet", () => {
	it("should cut around the first match and highlight each one in the cut, case-insensitively", () => {
		const content = `${"x ".repeat(100)}東京タワーに行きました。東京は大きい ${"y ".repeat(100)}`;
		const s = substringSnippet(content, "東京")!;
		expect(s.snippet.startsWith("… ")).toBe(true);
		expect(s.snippet.endsWith(" …")).toBe(true);
		expect(s.snippet.length).toBeLessThan(200);
		expect(marked(s)).toEqual(["東京", "東京"]);
		expect(marked(substringSnippet("Die GRÖSSE zählt", "grösse")!)).toEqual(["GRÖSSE"]);
	});

	it("should match regex metacharacters as text, and not split a surrogate pair", () => {
		expect(marked(substringSnippet("what (.*) is", "(.*)")!)).toEqual(["(.*)"]);
		expect(substringSnippet("nothing here", ".*")).toBeNull();
		const s = substringSnippet(`${"😀".repeat(80)}needle${"😀".repeat(80)}`, "needle")!;
		expect(s.snippet).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
		expect(marked(s)).toEqual(["needle"]);
	});
});

describe("snippetOf", () => {
	it("should take ts_headline's snippet when it marked a word, else cut around the substring", () => {
		expect(marked(snippetOf(`a ${S}word${E}`, "a word", "word"))).toEqual(["word"]);
		const s = snippetOf("猫が好きです", "猫が好きです", "好き");
		expect(marked(s)).toEqual(["好き"]);
	});
});

describe("highlightParts", () => {
	it("should split a snippet into plain and marked text, ignoring ranges out of bounds or overlapping", () => {
		expect(highlightParts({ snippet: "a <b> c", highlights: [[2, 5]] })).toEqual([
			{ text: "a ", mark: false },
			{ text: "<b>", mark: true },
			{ text: " c", mark: false },
		]);
		expect(
			highlightParts({
				snippet: "abc",
				highlights: [
					[1, 2],
					[0, 2],
					[2, 9],
				],
			}),
		).toEqual([
			{ text: "ab", mark: true },
			{ text: "c", mark: false },
		]);
	});
});
