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
const memo = new LRUCache<string, number>({
	maxSize: MEMO_MAX_CHARS,
	sizeCalculation: (_count, text) => text.length + 32,
});

// js-tiktoken's byte-pair merge is quadratic in the length of one pre-tokenizer piece (a run of letters, punctuation
// or spaces), and slow on multi-byte text: a 4,000-character CJK message, one piece, blocked the event loop 4.4 s.
// Pieces longer than this are encoded in chunks of at most this many UTF-8 bytes, which keeps the cost linear. Merges
// across a cut are lost, so such runs may count a little high; English words and Chinese or Japanese phrases (between
// punctuation) are shorter and count exactly. 24 was measured: it halves the cost of CJK text, and shorter chunks
// cut English words.
const MAX_PIECE_BYTES = 24;
// Even linear, CJK costs ~2-4 µs a character: a 20,000-character field ~80 ms. Longer texts are counted exactly up
// to this many UTF-8 bytes (4,000 CJK characters, the longest message, stay exact) and the rest at the tokens per
// byte of that part: a long text is mostly of one kind, and the estimate is a few percent off (README.md: 1.4%).
const EXACT_BYTES = 12 * 1024;
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
	const totalBytes = Buffer.byteLength(text);
	const limit = totalBytes > EXACT_BYTES ? EXACT_BYTES : Number.POSITIVE_INFINITY;
	let count = 0; // tokens of the text before `from`, and of the chunks of the piece being cut
	let from = 0; // the text before this offset is counted
	let bytes = 0; // bytes counted, or about to be (the pieces after `from`)
	const extrapolated = () => count + Math.round(((totalBytes - bytes) * count) / bytes);
	for (const match of text.matchAll(PIECE)) {
		const piece = match[0];
		// A UTF-16 unit is at most 3 UTF-8 bytes: under no limit, most pieces need no byte count.
		const size =
			piece.length * 3 <= MAX_PIECE_BYTES && limit === Number.POSITIVE_INFINITY ? 0 : Buffer.byteLength(piece);
		if (size <= MAX_PIECE_BYTES) {
			if (bytes + size > limit) {
				count += encodeWhole(text.slice(from, match.index));
				return extrapolated();
			}
			bytes += size;
			continue;
		}
		count += encodeWhole(text.slice(from, match.index));
		from = match.index + piece.length;
		for (const chunk of chunks(piece)) {
			const chunkBytes = Buffer.byteLength(chunk);
			if (bytes + chunkBytes > limit) return extrapolated();
			bytes += chunkBytes;
			count += encodeWhole(chunk);
		}
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
