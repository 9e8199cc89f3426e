import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";
import { describe, expect, it } from "vitest";
import { countTokens } from "../../src/domain/token-count.js";
import { randomCjk } from "../support/stalls.js";

/** js-tiktoken on the whole text: the exact count the bounded pieces must match on ordinary text. */
const reference = new Tiktoken(cl100kBase);
const exactCount = (text: string) => reference.encode(text, [], []).length;

/**
 * The fastest of up to five counts of fresh texts (the memo never answers), stopping at one under 50 ms or over 1 s
 * (quadratic: no need to wait for more). Tests share two cores: one quiet moment is enough.
 */
function fastestCountMs(make: (attempt: number) => string): number {
	let fastest = Number.POSITIVE_INFINITY;
	let last = 0;
	for (let attempt = 0; attempt < 5 && fastest >= 50 && last < 1000; attempt++) {
		const text = make(attempt);
		const started = performance.now();
		countTokens(text);
		last = performance.now() - started;
		fastest = Math.min(fastest, last);
	}
	return fastest;
}

const ENGLISH = [
	"Agnes Thorne has kept the Skerry Light for thirty-one winters. She speaks in short, wry sentences, distrusts",
	"anyone who arrives by the afternoon ferry, and keeps a logbook of every ship that passed since 1994 — names,",
	"flags, the weather, and what she thought of the captain. Her internationalization of the lighthouse's signage",
	"(English, Norwegian, Gàidhlig) was a local scandal. Ask her about the storm of '09 at your own risk!",
].join("\n");

describe("countTokens", () => {
	it("should count ordinary English text and code exactly as the whole-text encoder does", () => {
		expect(countTokens(ENGLISH)).toBe(exactCount(ENGLISH));
		const longEnglish = `${ENGLISH}\n\n`.repeat(40);
		expect(countTokens(longEnglish)).toBe(exactCount(longEnglish));
		const code = readFileSync(new URL("../../src/domain/prompt.ts", import.meta.url), "utf8");
		expect(countTokens(code)).toBe(exactCount(code));
	});

	it("should stay within a fraction of a percent of the exact count for a long document", () => {
		const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
		expect(Math.abs(countTokens(readme) - exactCount(readme))).toBeLessThanOrEqual(exactCount(readme) * 0.005);
	});

	// js-tiktoken's merge is quadratic in a piece's length: 4,000 CJK characters took seconds, blocking the loop.
	it("should count 4,000 random CJK characters (one piece) in under 50 ms, at 1-3 tokens a character", () => {
		expect(fastestCountMs((attempt) => randomCjk(4000, attempt + 1))).toBeLessThan(50);
		const count = countTokens(randomCjk(4000, 1));
		expect(count).toBeGreaterThanOrEqual(4000);
		expect(count).toBeLessThanOrEqual(3 * 4000); // at most one token per UTF-8 byte
	});

	it("should count 8,000-character runs without spaces, of letters, punctuation or blanks, in under 50 ms", () => {
		const runs: [string, (attempt: number) => string][] = [
			["letters", (attempt) => "bcdef"[attempt].repeat(8000)],
			["punctuation", (attempt) => "!?*#%"[attempt].repeat(8000)],
			["blanks", (attempt) => `${" ".repeat(8000)}${attempt}`],
		];
		for (const [name, make] of runs) expect(fastestCountMs(make), name).toBeLessThan(50);
		// 'a' x 8 is one token: the count stays what it was.
		expect(countTokens("a".repeat(8000))).toBe(1000);
	});

	it("should never cut a surrogate pair in half", () => {
		// A lone half would be encoded as U+FFFD and counted differently.
		expect(countTokens("😀".repeat(2000))).toBe(2000 * exactCount("😀"));
	});

	it("should count special-token text as plain text", () => {
		expect(countTokens("<|endoftext|>")).toBe(exactCount("<|endoftext|>"));
	});
});
