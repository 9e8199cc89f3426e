import { describe, expect, it } from "vitest";
import { PromptRecords } from "../../src/adapters/prompt-records.js";
import type { PromptPart } from "../../src/domain/prompt.js";

const prompt = (text: string) => ({
	messages: [
		{ role: "system" as const, content: `You are Mira. ${text}` },
		{ role: "user" as const, content: text },
	],
	parts: [{ part: "system", tokens: 5 }] as PromptPart[],
});

describe("PromptRecords", () => {
	it("should keep the last few replies of each session, a second record of a reply replacing the first", () => {
		const records = new PromptRecords(2, 1024 * 1024);
		for (const id of ["r1", "r2", "r3"]) records.record(id, "s1", prompt(id), "m");
		records.record("x1", "s2", prompt("x1"), "m");
		expect(records.find("s1", "r1")).toBeNull();
		expect(records.find("s1", "r2")?.messages[1]).toMatchObject({ role: "user", content: "r2" });
		expect(records.find("s2", "x1")).not.toBeNull();
		// Another session's reply is not found through this one.
		expect(records.find("s1", "x1")).toBeNull();

		records.record("r2", "s1", prompt("continued"), "m2");
		const replaced = records.find("s1", "r2");
		expect(replaced).toMatchObject({ model: "m2", messages: [{}, { content: "continued" }] });
		expect(replaced!.total_tokens).toBe(replaced!.messages.reduce((sum, m) => sum + m.tokens, 0));
		// The replacement did not count as a third reply: r3 is still kept.
		expect(records.find("s1", "r3")).not.toBeNull();
	});

	it("should drop the least recently made records past its memory budget, and keep counting the rest right", () => {
		const records = new PromptRecords(3, 8 * 1024);
		const big = "a".repeat(1000); // about 4 kB a record
		for (let i = 0; i < 6; i++) records.record(`r${i}`, "s", prompt(`${big}${i}`), "m");
		const kept = [0, 1, 2, 3, 4, 5].filter((i) => records.find("s", `r${i}`));
		expect(kept.length).toBeGreaterThan(0);
		expect(kept.length).toBeLessThan(3);
		expect(kept).toContain(5);
		// What budget evictions took out leaves room in the session's count: three small records fit again.
		for (const id of ["a", "b", "c"]) records.record(id, "s", prompt(id), "m");
		expect(["a", "b", "c"].every((id) => records.find("s", id))).toBe(true);
	});

	it("should keep nothing when asked to keep no replies", () => {
		const records = new PromptRecords(0, 1024 * 1024);
		records.record("r", "s", prompt("r"), "m");
		expect(records.find("s", "r")).toBeNull();
	});
});
