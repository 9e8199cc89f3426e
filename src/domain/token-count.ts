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

// js-tiktoken's byte-pair merge is quadratic in the length of one pre-tokenizer piece (a run of letters, punctuation
// or spaces): a 4,000-character CJK message, one piece, blocked the event loop 4.4 s. Pieces longer than this are
// encoded in chunks of at most this many UTF-8 bytes, which keeps the cost linear (~4 µs a CJK character). Merges
// across a cut are lost, so such runs may count a little high; words and code (pieces this long are rare there)
// count exactly. 32 was measured: shorter chunks cost as much, longer ones more (64: twice as much).
const MAX_PIECE_BYTES = 32;
// The encoding's own pre-tokenizer: pieces are the units BPE never merges across.
const PIECE = new RegExp(cl100kBase.pat_str, "gu");

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
	let count = 0;
	let from = 0; // the text before this offset is counted
	for (const match of text.matchAll(PIECE)) {
		const piece = match[0];
		// A UTF-16 unit is at most 3 UTF-8 bytes: the first test spares the byte count of nearly every piece.
		if (piece.length * 3 <= MAX_PIECE_BYTES || Buffer.byteLength(piece) <= MAX_PIECE_BYTES) continue;
		count += encodeWhole(text.slice(from, match.index));
		for (const chunk of chunks(piece)) count += encodeWhole(chunk);
		from = match.index + piece.length;
	}
	return count + encodeWhole(text.slice(from));
}

function encodeWhole(text: string): number {
	if (!text) return 0;
	encoder ??= new Tiktoken(cl100kBase);
	// No special tokens: "<|endoftext|>" typed by a user is text like any other (the default would throw).
	return encoder.encode(text, [], []).length;
}

/** `piece` cut into runs of at most MAX_PIECE_BYTES UTF-8 bytes, never inside a surrogate pair. */
function* chunks(piece: string): Generator<string> {
	let start = 0;
	let bytes = 0;
	for (let i = 0; i < piece.length; i++) {
		const unit = piece.charCodeAt(i);
		const isSurrogate = unit >= 0xd800 && unit <= 0xdfff; // a pair is 4 bytes, 2 for each half
		const width = unit < 0x80 ? 1 : unit < 0x800 || isSurrogate ? 2 : 3;
		if (bytes + width > MAX_PIECE_BYTES && !(unit >= 0xdc00 && unit <= 0xdfff)) {
			yield piece.slice(start, i);
			start = i;
			bytes = 0;
		}
		bytes += width;
	}
	yield piece.slice(start);
}

/** Each chat message costs a few tokens of framing (OpenAI's cookbook). */
export const MESSAGE_OVERHEAD_TOKENS = 3;
