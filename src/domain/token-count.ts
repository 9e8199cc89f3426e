/**
 * Token counting with js-tiktoken's cl100k_base encoding (bundled with the package: no download at run time).
 * Providers tokenize differently, so this is an estimate, but one a few percent off for English rather than the 25%
 * or more of a characters/4 rule; budgets and usage do not depend on which provider answers.
 */
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";
import { LRUCache } from "lru-cache";

let encoder: Tiktoken | undefined;

// The same texts (system prompt, summary, the history window) are counted again for every message of a chat, and
// encoding is the costliest step of building a prompt (~0.5 ms for a system prompt): counts are remembered, the
// least recently used forgotten first. The budget (~16 MB) holds the windows of about a thousand active chats.
const MEMO_MAX_CHARS = 8 * 1024 * 1024;
const MEMO_MAX_LENGTH = 32_768;
const memo = new LRUCache<string, number>({ maxSize: MEMO_MAX_CHARS, sizeCalculation: (_count, text) => text.length + 32 });

export function countTokens(text: string): number {
	if (!text) return 0;
	if (text.length > MEMO_MAX_LENGTH) return encode(text);
	const known = memo.get(text);
	if (known !== undefined) return known;
	const count = encode(text);
	memo.set(text, count);
	return count;
}

function encode(text: string): number {
	encoder ??= new Tiktoken(cl100kBase);
	// No special tokens: "<|endoftext|>" typed by a user is text like any other (the default would throw).
	return encoder.encode(text, [], []).length;
}

/** Each chat message costs a few tokens of framing (OpenAI's cookbook). */
export const MESSAGE_OVERHEAD_TOKENS = 3;
