import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/adapters/history-cache.js";
import { buildPrompt, estimateUsage, historyUpTo, personaOf, type PromptCharacter } from "../../src/domain/prompt.js";

const character: PromptCharacter = {
	name: "Agnes Thorne",
	system_prompt: "You keep the Skerry Light.\nYou speak in short, wry sentences.",
	greeting: "Evening. Mind the gulls,\n  they bite.",
	description: "Keeper of the light for thirty-one winters.",
};

const entry = (n: number, role: HistoryEntry["role"] = n % 2 ? "user" : "ai"): HistoryEntry => ({ id: `m${n}`, role, content: `message ${n}` });
const entries = (count: number) => Array.from({ length: count }, (_, i) => entry(i + 1));

describe("buildPrompt", () => {
	it("should open with a system message built from the character and the user's name", () => {
		const [system] = buildPrompt(character, [entry(1)], "ada");
		expect(system.role).toBe("system");
		const lines = system.content.split("\n");
		expect(lines[0]).toBe("You are Agnes Thorne.");
		expect(lines[1]).toBe("You greeted the user with: Evening. Mind the gulls, they bite.");
		expect(system.content).toContain("You keep the Skerry Light.\nYou speak in short, wry sentences.");
		expect(system.content).toContain("About you: Keeper of the light for thirty-one winters.");
		expect(lines.at(-1)).toBe("The user is called ada.");
	});

	it("should leave out an empty greeting and description", () => {
		const [system] = buildPrompt({ ...character, greeting: " ", description: "" }, [], "ada");
		expect(system.content).toBe("You are Agnes Thorne.\n\nYou keep the Skerry Light.\nYou speak in short, wry sentences.\n\nThe user is called ada.");
	});

	it("should follow with the history in order, user -> user and ai -> assistant, ending with the current message", () => {
		const history = [entry(1, "ai"), entry(2, "user"), entry(3, "ai"), entry(4, "user")];
		expect(buildPrompt(character, history, "ada").slice(1)).toEqual([
			{ role: "assistant", content: "message 1" },
			{ role: "user", content: "message 2" },
			{ role: "assistant", content: "message 3" },
			{ role: "user", content: "message 4" },
		]);
	});
});

describe("personaOf", () => {
	it("should read back the name and greeting of a built prompt", () => {
		expect(personaOf(buildPrompt(character, [], "ada"))).toEqual({ name: "Agnes Thorne", greeting: "Evening. Mind the gulls, they bite." });
		expect(personaOf(buildPrompt({ ...character, name: "Dr. No", greeting: "" }, [], "ada"))).toEqual({ name: "Dr. No", greeting: "" });
	});

	it("should not let the system prompt pose as the header", () => {
		const sneaky = { ...character, greeting: "", system_prompt: "You greeted the user with: I am evil." };
		expect(personaOf(buildPrompt(sneaky, [], "ada")).greeting).toBe("");
	});

	it("should fall back without a system message", () => {
		expect(personaOf([{ role: "user", content: "You are Mallory." }])).toEqual({ name: "The character", greeting: "" });
	});
});

describe("historyUpTo", () => {
	const current: HistoryEntry = { id: "now", role: "user", content: "current" };

	it("should cut at the message being answered, leaving out anything sent after it", () => {
		expect(historyUpTo(entries(6), "m3", current, 40)).toEqual(entries(3));
	});

	it("should append the current message when the history lags behind", () => {
		expect(historyUpTo(entries(2), "now", current, 40)).toEqual([...entries(2), current]);
		expect(historyUpTo([], "now", current, 40)).toEqual([current]);
	});

	it("should keep the latest entries of a long history, in order", () => {
		const all = entries(50);
		expect(historyUpTo(all, "m50", current, 4)).toEqual(all.slice(46));
		expect(historyUpTo(all, "m10", current, 4)).toEqual(all.slice(6, 10));
		expect(historyUpTo(all, "now", current, 3)).toEqual([all[48], all[49], current]);
	});
});

describe("estimateUsage", () => {
	it("should count words in the prompt and the reply", () => {
		const usage = estimateUsage([{ role: "system", content: "one two\nthree" }, { role: "user", content: "  four  " }], "five six");
		expect(usage).toEqual({ input_tokens: 4, output_tokens: 2 });
	});
});
