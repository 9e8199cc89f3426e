import { describe, expect, it } from "vitest";
import { FIRST_LINE_CHARS, sessionTitle, toSessionView, type ListedSession } from "../../src/domain/session-view.js";

describe("sessionTitle", () => {
	it("should keep a title the user set", () => {
		expect(sessionTitle("The heist", "Agnes", "Hello there")).toBe("The heist");
	});

	it("should default to the character and the first line of the first user message", () => {
		expect(sessionTitle(null, "Agnes", "Shall we?\nI brought tea.")).toBe("Agnes — Shall we?");
		expect(sessionTitle("", "Agnes", "Shall we?")).toBe("Agnes — Shall we?");
	});

	it("should skip blank lines and fold white space", () => {
		expect(sessionTitle(null, "Agnes", "\n  \r\n\t*waves*   at\tyou  \nmore")).toBe("Agnes — *waves* at you");
	});

	it("should be the character's name alone when the user has said nothing", () => {
		expect(sessionTitle(null, "Agnes", null)).toBe("Agnes");
		expect(sessionTitle(null, "Agnes", " \n ")).toBe("Agnes");
	});

	it(`should show at most ${FIRST_LINE_CHARS} characters of the line, ending a cut one with an ellipsis`, () => {
		const exact = "x".repeat(FIRST_LINE_CHARS);
		expect(sessionTitle(null, "A", exact)).toBe(`A — ${exact}`);
		const long = `${"word ".repeat(20)}end`;
		const shown = sessionTitle(null, "A", long).slice("A — ".length);
		expect(Array.from(shown)).toHaveLength(FIRST_LINE_CHARS);
		expect(shown).toBe(`${long.slice(0, FIRST_LINE_CHARS - 1)}…`);
	});

	it("should count and cut by characters, never splitting an emoji", () => {
		const emoji = "🐉".repeat(FIRST_LINE_CHARS + 5);
		const shown = sessionTitle(null, "A", emoji).slice("A — ".length);
		expect(Array.from(shown)).toEqual([...Array.from("🐉".repeat(FIRST_LINE_CHARS - 1)), "…"]);
		expect(sessionTitle(null, "A", "🐉".repeat(FIRST_LINE_CHARS))).toBe(`A — ${"🐉".repeat(FIRST_LINE_CHARS)}`);
	});
});

describe("toSessionView", () => {
	const listed: ListedSession = {
		id: "s1",
		character_id: "c1",
		character_name: "Agnes",
		status: "active",
		title: null,
		created_at: new Date(0),
		branched_from_session_id: null,
		branched_from_message_id: null,
		revision: "3",
		first_user_message: "Shall we?",
		last_message_at: null,
		last_message: null,
	};

	it("should show the default title and no origin for a chat begun anew", () => {
		expect(toSessionView(listed)).toMatchObject({ id: "s1", title: "Agnes — Shall we?", branched_from: null });
		expect(toSessionView(listed)).not.toHaveProperty("first_user_message");
	});

	it("should give the revision as a number, to order a reload against live frames", () => {
		expect(toSessionView(listed).revision).toBe(3);
	});

	it("should say where a branch came from, also once that session is deleted", () => {
		const branch = { ...listed, branched_from_session_id: "s0", branched_from_message_id: "m0" };
		expect(toSessionView(branch).branched_from).toEqual({ session_id: "s0", message_id: "m0" });
		const orphan = { ...branch, branched_from_session_id: null };
		expect(toSessionView(orphan).branched_from).toEqual({ session_id: null, message_id: "m0" });
	});
});
