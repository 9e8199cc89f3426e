import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/domain/history.js";
import type { LoreSelection } from "../../src/domain/lore-matching.js";
import {
	assemblePrompt,
	buildPrompt,
	continuePrompt,
	foldSummary,
	impersonationPrompt,
	historyUpTo,
	personaOf,
	summaryPrompt,
	type PromptCharacter,
} from "../../src/domain/prompt.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../../src/domain/token-count.js";

const character: PromptCharacter = {
	name: "Agnes Thorne",
	system_prompt: "You keep the Skerry Light.\nYou speak in short, wry sentences.",
	greeting: "Evening. Mind the gulls,\n  they bite.",
	description: "Keeper of the light for thirty-one winters.",
};

const entry = (n: number, role: HistoryEntry["role"] = n % 2 ? "user" : "ai"): HistoryEntry => ({
	id: `m${n}`,
	role,
	content: `message ${n}`,
});
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
		expect(system.content).toBe(
			"You are Agnes Thorne.\n\nYou keep the Skerry Light.\nYou speak in short, wry sentences.\n\nThe user is called ada.",
		);
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
		expect(personaOf(buildPrompt(character, [], "ada"))).toEqual({
			name: "Agnes Thorne",
			greeting: "Evening. Mind the gulls, they bite.",
		});
		expect(personaOf(buildPrompt({ ...character, name: "Dr. No", greeting: "" }, [], "ada"))).toEqual({
			name: "Dr. No",
			greeting: "",
		});
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

describe("assemblePrompt", () => {
	const card: PromptCharacter = {
		...character,
		system_prompt: "You are {{char}}. Call the user {{user}}. <BOT> never lies to <USER>.",
		personality: "Dry, kind.",
		scenario: "A stormy night at the lighthouse.",
		mes_example:
			"<START>\n{{user}}: Hello?\n{{char}}: Door's open.\n<START>\n{{user}}: Storm?\n{{char}}: A bit of a blow.",
		post_history_instructions: "Stay in character as {{char}}; keep it under 80 words.",
	};

	it("should replace the macros and place examples in the system message and instructions after the history", () => {
		const { messages } = assemblePrompt(card, entries(3), "ada", { summary: "Ada asked about ships." });
		const system = messages[0].content;
		expect(system).toContain("You are Agnes Thorne. Call the user ada. Agnes Thorne never lies to ada.");
		expect(system).toContain("Personality: Dry, kind.");
		expect(system).toContain("Scenario: A stormy night at the lighthouse.");
		expect(system).toContain("Summary of the conversation so far: Ada asked about ships.");
		expect(system).toContain("<START>\nada: Hello?\nAgnes Thorne: Door's open.");
		expect(system).toContain("<START>\nada: Storm?\nAgnes Thorne: A bit of a blow.");
		expect(messages.at(-1)).toEqual({
			role: "system",
			content: "Stay in character as Agnes Thorne; keep it under 80 words.",
		});
		expect(messages.slice(1, -1).map((m) => m.content)).toEqual(["message 1", "message 2", "message 3"]);
	});

	it("should call the user by the display name it is given, spaces and all, everywhere {{user}} stands", () => {
		const { messages } = assemblePrompt(card, entries(1), "Ada Lovelace");
		expect(messages[0].content).toContain("Call the user Ada Lovelace. Agnes Thorne never lies to Ada Lovelace.");
		expect(messages[0].content).toContain("The user is called Ada Lovelace.");
		expect(messages[0].content).toContain("<START>\nAda Lovelace: Hello?");
	});

	it("should keep the newest history that fits the budget, drop the oldest, and never the current message", () => {
		const long = (n: number): HistoryEntry => ({
			id: `m${n}`,
			role: n % 2 ? "user" : "ai",
			content: `message ${n} `.repeat(20),
		});
		const history = Array.from({ length: 12 }, (_, i) => long(i + 1));
		const full = assemblePrompt(card, history, "ada");
		const budget = full.tokens - 5 * (countTokens(history[0].content) + MESSAGE_OVERHEAD_TOKENS);
		const trimmed = assemblePrompt(card, history, "ada", { budgetTokens: budget });
		expect(trimmed.tokens).toBeLessThanOrEqual(budget);
		expect(trimmed.dropped.map((e) => e.id)).toEqual(history.slice(0, trimmed.dropped.length).map((e) => e.id));
		expect(trimmed.dropped.length).toBeGreaterThanOrEqual(5);
		expect(trimmed.messages.at(-2)?.content).toBe(history.at(-1)?.content);

		const tiny = assemblePrompt(card, history, "ada", { budgetTokens: 1 });
		// Over any budget, the message being answered still goes out, alone.
		expect(tiny.messages.filter((m) => m.role !== "system").map((m) => m.content)).toEqual([history.at(-1)?.content]);
		expect(tiny.messages[0].content).not.toContain("<START>");
	});

	it("should budget an entry by the token count it carries, counting only entries without one", () => {
		const history = entries(4);
		const budget = assemblePrompt(card, history, "ada").tokens + 100;
		// The same short text, said to be long: it no longer fits, and neither does anything older.
		const counted = history.map((e, i) => (i === 1 ? { ...e, tokens: 500 } : e));
		const trimmed = assemblePrompt(card, counted, "ada", { budgetTokens: budget });
		expect(trimmed.dropped.map((e) => e.id)).toEqual([history[0].id, history[1].id]);
	});

	it("should give the history priority over example dialogue", () => {
		const withRoom = assemblePrompt(card, entries(2), "ada", { budgetTokens: 100_000 });
		expect(withRoom.messages[0].content).toContain("<START>");
		const tight = assemblePrompt(card, entries(2), "ada", { budgetTokens: withRoom.tokens - 5 });
		expect(tight.dropped).toEqual([]);
		expect(tight.messages[0].content.match(/<START>/g)?.length ?? 0).toBeLessThan(2);
	});
});

describe("assemblePrompt with persona, lore and pinned messages", () => {
	const card: PromptCharacter = {
		...character,
		personality: "Dry, kind.",
		scenario: "A stormy night.",
		mes_example: "<START>\n{{user}}: Hello?\n{{char}}: Door's open.",
		post_history_instructions: "Stay as {{char}}.",
	};
	const fired = (name: string, content: string) => ({ book: "Coast", name, content, tokens: countTokens(content) });
	const lore: LoreSelection = {
		before: [fired("Light", "The Skerry Light burns whale oil."), fired("Gulls", "{{char}} hates gulls.")],
		after: [fired("Ada", "{{user}} owes {{char}} a boat.")],
	};
	const opts = {
		personaDescription: "A shipwright from {{char}}'s village.",
		summary: "Ada came ashore.",
		lore,
		pinned: [entry(1, "user"), entry(2, "ai"), entry(12, "ai")],
	};
	const sum = (parts: { tokens: number }[]) => parts.reduce((total, p) => total + p.tokens, 0);

	// Message 3 is too long for the budget: 1 and 2 drop out of the history with it, and go in as pinned messages.
	const history = entries(12).map((e, i) => (i === 2 ? { ...e, content: "long ".repeat(200) } : e));
	const cut = () => {
		const budgetTokens = assemblePrompt(card, history, "Ada", opts).tokens - countTokens(history[2].content) + 40;
		return assemblePrompt(card, history, "Ada", { ...opts, budgetTokens });
	};

	it("should place each part where SillyTavern's default story string puts it, macros filled", () => {
		const { messages, dropped } = cut();
		expect(dropped.map((e) => e.id)).toEqual(["m1", "m2", "m3"]);
		const system = messages[0].content;
		const order = [
			"You are Agnes Thorne.",
			"You keep the Skerry Light.",
			"The Skerry Light burns whale oil.",
			"Agnes Thorne hates gulls.",
			"About you: Keeper of the light",
			"Personality: Dry, kind.",
			"Scenario: A stormy night.",
			"Ada owes Agnes Thorne a boat.",
			"The user is called Ada.",
			"About Ada: A shipwright from Agnes Thorne's village.",
			"Summary of the conversation so far: Ada came ashore.",
			"Pinned messages:\nAda: message 1\nAgnes Thorne: message 2",
			"Examples of how you speak:\n<START>\nAda: Hello?",
		];
		const at = order.map((text) => system.indexOf(text));
		expect(at.every((i) => i >= 0)).toBe(true);
		expect(at).toEqual([...at].sort((a, b) => a - b));
		// Message 12 is in the history: it is not pinned a second time.
		expect(system).not.toContain("message 12");
		expect(messages.at(-2)?.content).toBe("message 12");
		expect(messages.at(-1)?.content).toBe("Stay as Agnes Thorne.");
	});

	it("should count lore and pinned messages before the history, which gives way to them", () => {
		const budgetTokens = assemblePrompt(card, entries(12), "Ada").tokens;
		const bare = assemblePrompt(card, entries(12), "Ada", { budgetTokens });
		const full = assemblePrompt(card, entries(12), "Ada", { ...opts, budgetTokens });
		expect(bare.dropped).toEqual([]);
		expect(full.dropped.length).toBeGreaterThan(0);
		expect(full.messages[0].content).toContain("Agnes Thorne hates gulls.");
		expect(full.messages[0].content).toContain("Ada: message 1");
		expect(full.tokens).toBeLessThanOrEqual(budgetTokens);
	});

	it("should account for every token in parts: system, each lore entry by name, persona, summary, pinned, examples, history, post-history", () => {
		const { parts, tokens } = cut();
		expect(parts.map((p) => p.part + (p.name ? `:${p.name}` : ""))).toEqual([
			"system",
			"lore:Light",
			"lore:Gulls",
			"lore:Ada",
			"persona",
			"summary",
			"pinned",
			"examples",
			"history",
			"post_history",
		]);
		expect(sum(parts)).toBe(tokens);
		const part = (name: string) => parts.find((p) => p.part === name || p.name === name)?.tokens;
		// A section is a blank line and its text, each line costing its tokens and its newline.
		expect(part("Gulls")).toBe(countTokens("Agnes Thorne hates gulls.") + 2);
		const messageCost = (text: string) => countTokens(text) + MESSAGE_OVERHEAD_TOKENS;
		expect(part("history")).toBe(history.slice(3).reduce((t, e) => t + messageCost(e.content), 0));
		expect(part("post_history")).toBe(countTokens("Stay as Agnes Thorne.") + MESSAGE_OVERHEAD_TOKENS);
	});

	it("should match the token count of the messages it builds, line by line", () => {
		const { messages, tokens } = cut();
		const lineCost = (text: string) => text.split("\n").reduce((t, line) => t + countTokens(line) + 1, 0);
		const [system, ...rest] = messages;
		const others = rest.reduce((t, m) => t + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
		expect(tokens).toBe(lineCost(system.content) + MESSAGE_OVERHEAD_TOKENS + others);
	});

	it("should name the instruction of a continue or an impersonation as a part of its own", () => {
		for (const assembled of [
			continuePrompt(card, entries(2), "Ada", opts),
			impersonationPrompt(card, entries(2), "Ada", opts),
		]) {
			expect(assembled.parts.at(-1)?.part).toBe("instruction");
			expect(sum(assembled.parts)).toBe(assembled.tokens);
		}
	});

	it("should build the same prompt as before without persona, lore or pins", () => {
		const { parts } = assemblePrompt(card, entries(2), "Ada");
		expect(parts.map((p) => p.part)).toEqual(["system", "examples", "history", "post_history"]);
	});
});

describe("foldSummary", () => {
	it("should append one line per turn and drop the oldest lines to stay under the limit", () => {
		const names = { char: "Agnes", user: "ada" };
		const first = foldSummary(null, [entry(1, "user"), entry(2, "ai")], names, 100);
		expect(first).toBe("ada: message 1\nAgnes: message 2");
		const turns = Array.from({ length: 40 }, (_, i) => entry(i + 3));
		const folded = foldSummary(first, turns, names, 50);
		expect(countTokens(folded)).toBeLessThanOrEqual(50);
		expect(folded.endsWith(": message 42")).toBe(true);
		expect(folded).not.toContain("message 1\n");
	});

	it("should phrase a summarization request with the previous summary and the new lines", () => {
		const [system, user] = summaryPrompt("Earlier stuff.", [entry(1, "user")], { char: "Agnes", user: "ada" }, 300);
		expect(system.role).toBe("system");
		expect(user.content).toContain("Earlier stuff.");
		expect(user.content).toContain("ada: message 1");
	});
});
