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
import { focusedMessage, messageHash, parseRoute, searchHash } from "../../web/src/routes.js";

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

describe("web routes of search", () => {
	const hit = {
		session_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
		character_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		message_id: "16fd2706-8baf-433b-82eb-8c7fada847da",
	};

	it("should open a hit's chat or room at its message, and read that message back from the address", () => {
		const chat = messageHash({ ...hit, reply_mode: null });
		expect(chat).toBe(`#/chat/${hit.character_id}/${hit.session_id}?message=${hit.message_id}`);
		expect(parseRoute(chat)).toEqual({ name: "chat", characterId: hit.character_id, sessionId: hit.session_id });
		expect(focusedMessage(chat)).toBe(hit.message_id);
		const room = messageHash({ ...hit, reply_mode: "addressed" });
		expect(room).toBe(`#/rooms/${hit.session_id}?message=${hit.message_id}`);
		expect(focusedMessage(room)).toBe(hit.message_id);
		expect(focusedMessage(`#/rooms/${hit.session_id}?message=../../me`)).toBeUndefined();
		expect(focusedMessage(`#/personas?message=${hit.message_id}`)).toBeUndefined();
	});

	it("should carry any query text to the search page and back", () => {
		const q = "a&b=c #?/ Größe 東京";
		expect(parseRoute(searchHash(q))).toEqual({ name: "search", q });
		expect(parseRoute("#/search")).toEqual({ name: "search", q: "" });
	});
});
