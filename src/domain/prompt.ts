/**
 * What the model sees: a system message from the character's card, then the conversation, oldest first, ending with
 * the user message being answered. The system message opens with two fixed lines (name, greeting) that
 * `personaOf` reads back, so a model without an LLM behind it (the offline model) can still answer in character.
 */
import type { ChatMessage } from "../adapters/llm.js";
import type { HistoryEntry } from "../adapters/history-cache.js";
import type { Usage } from "./chat-wire.js";

export interface PromptCharacter {
	name: string;
	system_prompt: string;
	greeting: string;
	description: string;
}

/** The character as a model can read it back from a prompt built here. */
export interface Persona {
	name: string;
	greeting: string;
}

const NAME_LINE = /^You are (.+)\.$/;
const GREETING_PREFIX = "You greeted the user with: ";
const UNKNOWN_NAME = "The character";

export function buildPrompt(character: PromptCharacter, history: HistoryEntry[], username: string): ChatMessage[] {
	const lines = [`You are ${oneLine(character.name)}.`];
	const greeting = oneLine(character.greeting);
	if (greeting) lines.push(`${GREETING_PREFIX}${greeting}`);
	const systemPrompt = character.system_prompt.trim();
	if (systemPrompt) lines.push("", systemPrompt);
	const description = character.description.trim();
	if (description) lines.push("", `About you: ${description}`);
	lines.push("", `The user is called ${username}.`);
	return [
		{ role: "system", content: lines.join("\n") },
		...history.map((e): ChatMessage => ({ role: e.role === "user" ? "user" : "assistant", content: e.content })),
	];
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
export function historyUpTo(entries: HistoryEntry[], messageId: string, current: HistoryEntry, window: number): HistoryEntry[] {
	const at = entries.findIndex((e) => e.id === messageId);
	const upTo = at >= 0 ? entries.slice(0, at + 1) : [...entries, current];
	return upTo.slice(-window);
}

/** Words as a stand-in for tokens until a provider reports real counts. */
export function estimateUsage(prompt: ChatMessage[], reply: string): Usage {
	return { input_tokens: prompt.reduce((sum, m) => sum + countWords(m.content), 0), output_tokens: countWords(reply) };
}

function countWords(text: string): number {
	return text.match(/\S+/g)?.length ?? 0;
}

function oneLine(text: string): string {
	return text.replace(/\s+/g, " ").trim();
}
