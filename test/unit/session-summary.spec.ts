import { describe, expect, it } from "vitest";
import { fullSummary, withUserSummary } from "../../src/domain/session-summary.js";
import { summaryPrompt } from "../../src/domain/prompt.js";

describe("a session's summary in two parts", () => {
	it("should show the user's part, then the folded one, and null when neither says anything", () => {
		expect(fullSummary({ summary_base: "They met.", summary: "Then they fought." })).toBe(
			"They met.\nThen they fought.",
		);
		expect(fullSummary({ summary_base: null, summary: "Folded only." })).toBe("Folded only.");
		expect(fullSummary({ summary_base: "Mine only.", summary: null })).toBe("Mine only.");
		expect(fullSummary({ summary_base: "  ", summary: "" })).toBeNull();
		expect(fullSummary({ summary_base: null, summary: null })).toBeNull();
	});

	it("should give a fold's model the user's part as context, and leave the prompt alone without one", () => {
		const names = { char: "Bard", user: "Ann" };
		const prompt = summaryPrompt("Folded so far.", [{ id: "1", role: "user", content: "Hi" }], names, 200);
		expect(withUserSummary(prompt, null)).toEqual(prompt);
		expect(withUserSummary(prompt, " \n")).toEqual(prompt);
		const given = withUserSummary(prompt, "  The user's own words.  ");
		expect(given).toHaveLength(prompt.length);
		expect(given[0].content.startsWith(prompt[0].content)).toBe(true);
		expect(given[0].content).toContain("<user_summary>\nThe user's own words.\n</user_summary>");
		expect(given.slice(1)).toEqual(prompt.slice(1));
		// The prompt given is not changed.
		expect(prompt[0].content).not.toContain("user_summary");
	});
});
