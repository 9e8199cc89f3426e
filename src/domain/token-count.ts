/**
 * Token counting with js-tiktoken's cl100k_base encoding (bundled with the package: no download at run time).
 * Providers tokenize differently, so this is an estimate, but one a few percent off for English rather than the 25%
 * or more of a characters/4 rule; budgets and usage do not depend on which provider answers.
 */
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";

let encoder: Tiktoken | undefined;

export function countTokens(text: string): number {
	if (!text) return 0;
	encoder ??= new Tiktoken(cl100kBase);
	// No special tokens: "<|endoftext|>" typed by a user is text like any other (the default would throw).
	return encoder.encode(text, [], []).length;
}

/** Each chat message costs a few tokens of framing, and the reply is primed with a few more (OpenAI's cookbook). */
export const MESSAGE_OVERHEAD_TOKENS = 3;
const REPLY_PRIMING_TOKENS = 3;

/** Tokens a prompt takes, framing included. */
export function countPromptTokens(messages: { content: string }[]): number {
	return messages.reduce((sum, m) => sum + MESSAGE_OVERHEAD_TOKENS + countTokens(m.content), REPLY_PRIMING_TOKENS);
}
