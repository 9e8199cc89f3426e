import { describe, expect, it } from "vitest";
import {
	StopCutter,
	characterIdOf,
	completionOverrides,
	completionPrompt,
	modelEntries,
	modelIds,
	sessionTurn,
} from "../../src/domain/completions.js";

const me = "11111111-1111-4111-8111-111111111111";
const other = "22222222-2222-4222-8222-222222222222";
const character = (id: string, slug: string, created_by: string | null, created_at: string) => ({
	id,
	slug,
	creator: "",
	created_by,
	created_at,
});
const seedAria = character("a0000000-0000-4000-8000-000000000001", "aria", null, "2026-01-02T00:00:00Z");
const mineAria = character("a0000000-0000-4000-8000-000000000002", "aria", me, "2026-03-01T00:00:00Z");
const oldAria = character("a0000000-0000-4000-8000-000000000003", "aria", other, "2025-01-01T00:00:00Z");
const newAria = character("a0000000-0000-4000-8000-000000000004", "aria", other, "2026-06-01T00:00:00Z");
const bard = character("b0000000-0000-4000-8000-000000000001", "bard", other, "2026-01-01T00:00:00Z");

describe("model ids", () => {
	it("should give a slug to the caller's own character first, then the ownerless, then the oldest", () => {
		expect(modelIds([seedAria, mineAria, oldAria, bard], me).get(mineAria.id)).toBe("aria");
		expect(modelIds([seedAria, oldAria], me).get(seedAria.id)).toBe("aria");
		expect(modelIds([newAria, oldAria], me).get(oldAria.id)).toBe("aria");
		const ids = modelIds([newAria, oldAria, bard], me);
		expect(ids.get(newAria.id)).toBe(newAria.id);
		expect(ids.get(bard.id)).toBe("bard");
	});

	it("should list each character once, its id unique", () => {
		const entries = modelEntries([seedAria, mineAria, oldAria, newAria, bard], me);
		expect(new Set(entries.map((e) => e.id)).size).toBe(5);
		expect(entries[1]).toEqual({
			id: "aria",
			object: "model",
			created: Date.parse(mineAria.created_at) / 1000,
			owned_by: "you",
		});
		expect(entries[0]).toMatchObject({ id: seedAria.id, owned_by: "cameo" });
	});

	it("should resolve a slug to the character it names, and take a UUID as it is", () => {
		expect(characterIdOf("aria", [seedAria, mineAria], me)).toBe(mineAria.id);
		expect(characterIdOf("bard", [seedAria], me)).toBeUndefined();
		expect(characterIdOf(bard.id.toUpperCase(), [], me)).toBe(bard.id);
	});
});

describe("completionPrompt", () => {
	const card = {
		name: "Aria",
		system_prompt: "You are Aria.",
		greeting: "",
		description: "",
		post_history_instructions: "Stay in character.",
	};

	it("should put the client's system messages after the character's, its chat after, post-history last", () => {
		const prompt = completionPrompt(
			card,
			[
				{ role: "system", content: "Answer in French." },
				{ role: "user", content: "Hi" },
				{ role: "assistant", content: "Bonjour" },
				{ role: "system", content: "Be brief." },
				{ role: "user", content: "How are you?" },
			],
			"Sam",
			{},
		);
		expect(prompt.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "system"]);
		const system = prompt.messages[0].content;
		expect(system.indexOf("You are Aria.")).toBeLessThan(system.indexOf("Answer in French.\n\nBe brief."));
		expect(system.endsWith("Answer in French.\n\nBe brief.")).toBe(true);
		expect(prompt.messages.at(-1)?.content).toBe("Stay in character.");
		expect(prompt.parts.at(-1)?.part).toBe("instruction");
	});

	it("should take the instructions' tokens from the history's budget", () => {
		const chat = Array.from({ length: 40 }, (_, i) => ({
			role: "user" as const,
			content: `message number ${i} `.repeat(5),
		}));
		const without = completionPrompt(card, chat, "Sam", { budgetTokens: 600 });
		const withInstructions = completionPrompt(
			card,
			[{ role: "system", content: "word ".repeat(100) }, ...chat],
			"Sam",
			{
				budgetTokens: 600,
			},
		);
		expect(withInstructions.messages.length).toBeLessThan(without.messages.length);
		expect(withInstructions.tokens).toBeLessThanOrEqual(600);
	});
});

describe("StopCutter", () => {
	const run = (stops: string[], chunks: string[]) => {
		const cutter = new StopCutter(stops);
		const sent = chunks.map((c) => cutter.push(c));
		return { sent, rest: cutter.flush(), stopped: cutter.stopped };
	};

	it("should pass everything through without stop sequences", () => {
		expect(run([], ["a", "b"])).toEqual({ sent: ["a", "b"], rest: "", stopped: false });
	});

	it("should cut at a stop sequence split over chunks, sending none of it", () => {
		expect(run(["\nUser:"], ["Hello", " there\nUs", "er: next", "more"])).toEqual({
			sent: ["Hello", " there", "", ""],
			rest: "",
			stopped: true,
		});
	});

	it("should release held text that turned out to be no stop sequence", () => {
		expect(run(["END"], ["The EN", "D is near", "?"])).toMatchObject({ sent: ["The ", "", ""], stopped: true });
		expect(run(["END"], ["The EN", "Ds"])).toEqual({ sent: ["The ", ""], rest: "", stopped: true });
		expect(run(["ENDING"], ["The EN", "d"])).toEqual({ sent: ["The ", "ENd"], rest: "", stopped: false });
		expect(run(["xyz"], ["abx"])).toEqual({ sent: ["ab"], rest: "x", stopped: false });
	});

	it("should cut at the earliest of several sequences", () => {
		expect(run(["bb", "a"], ["xxbba"]).sent).toEqual(["xx"]);
	});
});

describe("sessionTurn", () => {
	const session = { username: "erin", character_id: "c1", reply_mode: null };
	const turn = { username: "erin", characterId: "c1" };
	const said = (content: string, role: "user" | "assistant" = "user") => [
		{ role: "system" as const, content: "x" },
		{ role, content },
	];

	it("should take the last message, trimmed, when the chat is the caller's and the character's", () => {
		expect(sessionTurn(session, turn, said("  hello  "), 100)).toBe("hello");
	});

	it("should not tell another user's chat from none", () => {
		expect(sessionTurn(null, turn, said("hi"), 100)).toBeNull();
		expect(sessionTurn({ ...session, username: "frank" }, turn, said("hi"), 100)).toBeNull();
	});

	it("should refuse rooms, another character, a last message not the user's, and what a chat message may not be", () => {
		expect(sessionTurn({ ...session, reply_mode: "auto" }, turn, said("hi"), 100)).toMatchObject({
			code: "room_not_supported",
		});
		expect(sessionTurn(session, { ...turn, characterId: "c2" }, said("hi"), 100)).toMatchObject({
			code: "model_mismatch",
			param: "model",
		});
		expect(sessionTurn(session, turn, said("hi", "assistant"), 100)).toMatchObject({ param: "messages[1]" });
		expect(sessionTurn(session, turn, said(" "), 100)).toMatchObject({
			code: "empty_content",
			param: "messages[1].content",
		});
		expect(sessionTurn(session, turn, said("a\u0000b"), 100)).toMatchObject({ code: "invalid_message" });
		expect(sessionTurn(session, turn, said("a".repeat(101)), 100)).toMatchObject({
			code: "content_too_long",
			status: 400,
		});
	});
});

describe("completionOverrides", () => {
	const character = { llm_model: "m1", temperature: 0.3, max_output_tokens: 100 };

	it("should keep the character's settings where the request gives none, and take the request's where it does", () => {
		expect(completionOverrides(character, {})).toEqual({
			model: "m1",
			temperature: 0.3,
			maxOutputTokens: 100,
			topP: undefined,
		});
		expect(completionOverrides(character, { temperature: 1.2, top_p: 0.9, max_tokens: 50 })).toEqual({
			model: "m1",
			temperature: 1.2,
			maxOutputTokens: 50,
			topP: 0.9,
		});
	});
});
