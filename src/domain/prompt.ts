/**
 * What the model sees, within a token budget, in SillyTavern's default order:
 *   1. a system message: the character's name and greeting, the card's system prompt, the lore entries placed before
 *      the character, the card's description, personality and scenario, the lore placed after it, the user's name and
 *      persona, the rolling summary of older turns, pinned messages no longer in the history, and example dialogue
 *      while it fits;
 *   2. the conversation, newest first while it fits, ending with the user message being answered;
 *   3. the character's post-history instructions, last.
 * `{{char}}`/`{{user}}` (and the legacy `<BOT>`/`<USER>`) are replaced everywhere, lore and persona included. The
 * system message opens with two fixed lines (name, greeting) that `personaOf` reads back, so the offline model can
 * still answer in character. Lore and pinned messages always go in (selectLore sized the lore); the history takes
 * what is left, and the examples what is left after it.
 */
import type { ChatMessage } from "./chat-model.js";
import type { HistoryEntry } from "./history.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "./token-count.js";
import { applyMacros } from "./macros.js";
import type { LoreSelection } from "./lore-matching.js";
import { linesCost, pinnedSection, PromptLedger, type PromptPart } from "./prompt-sections.js";

export type { PromptPart, PromptPartKind } from "./prompt-sections.js";

export interface PromptCharacter {
	name: string;
	system_prompt: string;
	greeting: string;
	description: string;
	personality?: string;
	scenario?: string;
	/** Example dialogue: blocks separated by `<START>`. */
	mes_example?: string;
	/** Instructions placed after the history (closest to the reply, so they weigh most). */
	post_history_instructions?: string;
}

export interface PromptOptions {
	/** Tokens the prompt may use: the context window minus the room kept for the reply. */
	budgetTokens?: number;
	/** The rolling summary of turns that no longer fit. */
	summary?: string | null;
	/** The user's persona: what the character knows about them. */
	personaDescription?: string;
	/** The lorebook entries of this turn (selectLore). */
	lore?: LoreSelection;
	/** Pinned messages, oldest first: those not in the history that fits go into the system message. */
	pinned?: HistoryEntry[];
	/** In a room: who else is there and whose turn it is (rooms.ts `roomSection`), after the user's persona. */
	room?: string;
}

export interface AssembledPrompt {
	messages: ChatMessage[];
	/** History entries that did not fit (oldest first): candidates for the rolling summary. */
	dropped: HistoryEntry[];
	tokens: number;
	/** What each part of the prompt costs, in prompt order; they add up to `tokens`. */
	parts: PromptPart[];
}

/** The character as a model can read it back from a prompt built here. */
export interface Persona {
	name: string;
	greeting: string;
}

const NAME_LINE = /^You are (.+)\.$/;
const GREETING_PREFIX = "You greeted the user with: ";
const UNKNOWN_NAME = "The character";

export function buildPrompt(
	character: PromptCharacter,
	history: HistoryEntry[],
	userName: string,
	opts: PromptOptions = {},
): ChatMessage[] {
	return assemblePrompt(character, history, userName, opts).messages;
}

/**
 * `userName`: what the character calls the user, `{{user}}` included: the persona's name (or the display name),
 * never their login.
 */
export function assemblePrompt(
	character: PromptCharacter,
	history: HistoryEntry[],
	userName: string,
	opts: PromptOptions = {},
): AssembledPrompt {
	const fill = (text: string | undefined) => applyMacros(text ?? "", character.name, userName).trim();
	const ledger = new PromptLedger();
	const greeting = oneLine(fill(character.greeting));
	ledger.write("system", [
		`You are ${oneLine(character.name)}.`,
		...(greeting ? [`${GREETING_PREFIX}${greeting}`] : []),
	]);
	ledger.section("system", fill(character.system_prompt));
	for (const lore of opts.lore?.before ?? []) ledger.section("lore", fill(lore.content), "", lore.name);
	ledger.section("system", fill(character.description), "About you");
	ledger.section("system", fill(character.personality), "Personality");
	ledger.section("system", fill(character.scenario), "Scenario");
	for (const lore of opts.lore?.after ?? []) ledger.section("lore", fill(lore.content), "", lore.name);
	ledger.write("system", ["", `The user is called ${userName}.`]);
	ledger.section("persona", fill(opts.personaDescription), `About ${userName}`);
	ledger.section("system", opts.room ?? "");
	ledger.section("summary", opts.summary?.trim() ?? "", "Summary of the conversation so far");

	const names = { char: character.name, user: userName };
	const pinned = opts.pinned ?? [];
	const post = fill(character.post_history_instructions);
	const budget = opts.budgetTokens ?? Number.POSITIVE_INFINITY;
	// Every pinned message is counted as if outside the history: which are inside is known only once it is cut.
	let used = ledger.tokens + linesCost(pinnedSection(pinned, names)) + (post ? cost(post) : 0);

	// Newest first; the message being answered is always kept, whatever its size.
	let keptFrom = history.length;
	let historyCost = 0;
	for (let i = history.length - 1; i >= 0; i--) {
		const entryCost = (history[i].tokens ?? countTokens(history[i].content)) + MESSAGE_OVERHEAD_TOKENS;
		if (keptFrom < history.length && used + entryCost > budget) break;
		used += entryCost;
		historyCost += entryCost;
		keptFrom = i;
	}
	const kept = history.slice(keptFrom);
	const keptIds = new Set(kept.map((e) => e.id));
	const pinnedOutside = pinned.filter((p) => !keptIds.has(p.id));
	ledger.write("pinned", pinnedSection(pinnedOutside, names));
	if (kept.length > 0) ledger.charge("history", historyCost);
	if (post) ledger.charge("post_history", cost(post));

	used = ledger.tokens;
	const examples: string[] = [];
	for (const block of exampleBlocks(fill(character.mes_example))) {
		const lines = [...(examples.length === 0 ? ["", "Examples of how you speak:"] : []), "<START>", block];
		const blockCost = linesCost(lines);
		if (used + blockCost > budget) break;
		used += blockCost;
		examples.push(...lines);
	}
	if (examples.length > 0) ledger.write("examples", examples);

	const messages: ChatMessage[] = [
		{ role: "system", content: ledger.system },
		...kept.map((e): ChatMessage => ({ role: e.role === "user" ? "user" : "assistant", content: e.content })),
	];
	if (post) messages.push({ role: "system", content: post });
	return { messages, dropped: history.slice(0, keptFrom), tokens: ledger.tokens, parts: ledger.parts };
}

/**
 * The instruction after the history that makes the model extend its last message rather than answer it (like
 * SillyTavern's "continue nudge"); the text it writes is appended to the stored reply.
 */
export const CONTINUE_INSTRUCTION =
	"Continue your last message from exactly where it stops, without repeating any of it: what you write is appended " +
	"to it as it is. If it stops mid-sentence, finish the sentence; then go on in the same voice and style.";

const IMPERSONATION_OPENING = "Write the user's next message in this chat";

/**
 * For a `continue`: the prompt of `history`, which ends with the AI message to extend (kept whatever its size), then
 * the continue instruction.
 */
export function continuePrompt(
	character: PromptCharacter,
	history: HistoryEntry[],
	userName: string,
	opts: PromptOptions = {},
): AssembledPrompt {
	return withInstruction(character, history, userName, opts, CONTINUE_INSTRUCTION);
}

/**
 * For an `impersonate`: the prompt of `history`, then an instruction to write the user's next line in their own voice
 * (`userName`: the display name, or the persona's once there are personas), never the character's.
 */
export function impersonationPrompt(
	character: PromptCharacter,
	history: HistoryEntry[],
	userName: string,
	opts: PromptOptions = {},
): AssembledPrompt {
	const user = oneLine(userName);
	const char = oneLine(character.name);
	const instruction =
		`${IMPERSONATION_OPENING}, as ${user} would write it: first person, in ${user}'s own voice and style as the ` +
		`conversation shows it, about as long as ${user}'s earlier messages. Do not speak or act for ${char}. ` +
		`Reply with ${user}'s message only, without a name in front.`;
	return withInstruction(character, history, userName, opts, instruction);
}

/** What a prompt made here asks for: a reply, the continuation of the last one, or the user's next line. */
export function promptPurpose(messages: ChatMessage[]): "reply" | "continue" | "impersonate" {
	const last = messages.at(-1);
	if (last?.role !== "system") return "reply";
	if (last.content === CONTINUE_INSTRUCTION) return "continue";
	return last.content.startsWith(IMPERSONATION_OPENING) ? "impersonate" : "reply";
}

/**
 * What goes between a reply and the text a continue adds to it: a space only where neither brings one and the
 * addition does not start by closing what the reply said (punctuation, a closing bracket or quote).
 */
export function continuationSeparator(old: string, addition: string): string {
	if (!old || !addition || /\s$/.test(old) || /^\s/.test(addition)) return "";
	return /^[.,;:!?…)\]}”’—]/.test(addition) ? "" : " ";
}

function withInstruction(
	character: PromptCharacter,
	history: HistoryEntry[],
	userName: string,
	opts: PromptOptions,
	instruction: string,
): AssembledPrompt {
	const instructionCost = cost(instruction);
	const budgetTokens = (opts.budgetTokens ?? Number.POSITIVE_INFINITY) - instructionCost;
	const assembled = assemblePrompt(character, history, userName, { ...opts, budgetTokens });
	assembled.messages.push({ role: "system", content: instruction });
	return {
		...assembled,
		tokens: assembled.tokens + instructionCost,
		parts: [...assembled.parts, { part: "instruction", tokens: instructionCost }],
	};
}

/**
 * Name and greeting from the header of a prompt made by `buildPrompt`. Only the first two lines are read, so text
 * in the (user-written) system prompt cannot pose as them.
 */
export function personaOf(messages: ChatMessage[]): Persona {
	const system = messages[0]?.role === "system" ? messages[0].content : "";
	const [first = "", second = ""] = system.split("\n", 2);
	return {
		name: NAME_LINE.exec(first)?.[1] ?? UNKNOWN_NAME,
		greeting: second.startsWith(GREETING_PREFIX) ? second.slice(GREETING_PREFIX.length) : "",
	};
}

/**
 * The conversation as it stood when `messageId` was sent: `entries` (oldest first) up to and including it, without
 * anything sent after it. If it is missing (the history lags behind the queue), `current` is appended instead.
 * At most the latest `window` entries.
 */
export function historyUpTo(
	entries: HistoryEntry[],
	messageId: string,
	current: HistoryEntry,
	window: number,
): HistoryEntry[] {
	const at = entries.findIndex((e) => e.id === messageId);
	const upTo = at >= 0 ? entries.slice(0, at + 1) : [...entries, current];
	return upTo.slice(-window);
}

/** The `<START>`-separated blocks of a card's example dialogue, trimmed, empty ones dropped. */
export function exampleBlocks(mesExample: string): string[] {
	return mesExample
		.split(/<START>/i)
		.map((b) => b.trim())
		.filter(Boolean);
}

/**
 * Folds turns that no longer fit into the rolling summary without a model: one short line per turn, appended to the
 * previous summary, oldest lines dropped first so it stays under `maxTokens`.
 */
export function foldSummary(
	previous: string | null,
	turns: HistoryEntry[],
	names: { char: string; user: string },
	maxTokens: number,
): string {
	const lines = (previous?.trim() ? previous.trim().split("\n") : []).concat(
		turns.map((t) => `${t.role === "user" ? names.user : names.char}: ${clip(oneLine(t.content), 200)}`),
	);
	// Each line counted once (+1 for its newline), then the oldest dropped until the rest fits.
	const costs = lines.map((line) => countTokens(line) + 1);
	let total = costs.reduce((a, b) => a + b, 0);
	let first = 0;
	while (first < lines.length - 1 && total > maxTokens) total -= costs[first++];
	return lines.slice(first).join("\n");
}

/** A prompt asking a language model to fold `turns` into the running summary. */
export function summaryPrompt(
	previous: string | null,
	turns: HistoryEntry[],
	names: { char: string; user: string },
	maxTokens: number,
): ChatMessage[] {
	const transcript = turns.map((t) => `${t.role === "user" ? names.user : names.char}: ${t.content}`).join("\n");
	return [
		{
			role: "system",
			content:
				`You maintain a running summary of a role-play chat between ${names.user} and ${names.char}. ` +
				`Rewrite the summary to include the new lines: keep names, facts, promises, open threads and the mood; ` +
				`third person, past tense, at most about ${Math.round(maxTokens * 0.7)} words. Reply with the summary only.`,
		},
		{ role: "user", content: `Summary so far:\n${previous?.trim() || "(none)"}\n\nNew lines:\n${transcript}` },
	];
}

function cost(text: string): number {
	return countTokens(text) + MESSAGE_OVERHEAD_TOKENS;
}

function clip(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
	return text.replace(/\s+/g, " ").trim();
}
