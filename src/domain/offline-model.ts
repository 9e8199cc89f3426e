/**
 * The model used when no LLM is configured: a deterministic stand-in that answers in the character's name and says
 * plainly what it is, so the whole pipeline (streaming, stop, regenerations, history) runs without an API key.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChatMessage, ChatModel, StreamOptions } from "./chat-model.js";
import { personaOf, promptPurpose } from "./prompt.js";

export const OFFLINE_NOTICE = "(offline model — set GOOGLE_API_KEY for real replies)";

const QUOTE_CHARS = 80;

// Picked by the turn and the user's words, then shifted by the variant: a conversation reads as one, a regenerated
// reply always reads differently (the opener changes with every variant up to OPENERS.length), and the same prompt
// still gets the same reply. Nothing repeats the greeting: the user has read it.
const OPENERS = [
	"looks up.",
	"pauses, thinking.",
	"turns toward you.",
	"takes a slow breath.",
	"brightens a little.",
	"tilts their head.",
	"sets down what they were holding.",
];

const REMARKS = [
	"That deserves a proper answer.",
	"There is more to that than it seems.",
	"Go on, then.",
	"Tell me more.",
	"A fair question.",
	"Hm. Let me think on that.",
];

// What the user might say next (an `impersonate`): plain lines in the user's voice, never the character's.
const USER_LINES = [
	"Tell me more.",
	"What happens next?",
	"I nod and wait for you to go on.",
	"Go on, I'm listening.",
	"Why do you say that?",
];

export interface OfflineModelOptions {
	/** Pause before each word (OFFLINE_MODEL_DELAY_MS), so a reply can be watched and stopped. */
	chunkDelayMs?: number;
}

export class OfflineModel implements ChatModel {
	readonly name = "offline";
	private readonly chunkDelayMs: number;

	constructor(opts: OfflineModelOptions = {}) {
		this.chunkDelayMs = opts.chunkDelayMs ?? 0;
	}

	async *stream(messages: ChatMessage[], opts: Pick<StreamOptions, "signal" | "variant"> = {}): AsyncIterable<string> {
		const { signal } = opts;
		// Word by word, each word with the spaces after it, so the chunks concatenate to the reply.
		for (const chunk of offlineReply(messages, opts.variant).match(/\S+\s*/g) ?? []) {
			signal?.throwIfAborted();
			if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs, undefined, { signal });
			yield chunk;
		}
	}
}

/**
 * The whole reply: the character doing something, the user's last message quoted, a remark, the offline notice. Asked
 * to continue, a remark and the notice; asked for the user's next line, a plain line and the notice.
 */
export function offlineReply(messages: ChatMessage[], variant = 0): string {
	const purpose = promptPurpose(messages);
	if (purpose !== "reply") {
		// Varied by what it goes on from: the reply being continued, or the last message before the user's turn.
		const lines = purpose === "continue" ? REMARKS : USER_LINES;
		const last = messages.findLast((m) => m.role !== "system")?.content ?? "";
		return `${lines[(fnv1a(last) + variant) % lines.length]} ${OFFLINE_NOTICE}`;
	}
	const { name } = personaOf(messages);
	const said = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
	const turn = messages.filter((m) => m.role === "user").length;
	// Hashing the whole prompt cost more than the rest; the turn and the last message are enough to vary.
	const seed = fnv1a(`${turn}:${said}`);
	const pick = <T>(list: readonly T[], salt: number) => list[(((seed >>> salt) % list.length) + variant) % list.length];
	const quote = clip(said, QUOTE_CHARS);
	// A quote that ends its own sentence ("…tonight?") takes no more punctuation.
	const quoted = quote ? `You said "${quote}"${/[.!?…]$/.test(quote) ? "" : "."}` : "";
	return [`${name} ${pick(OPENERS, 0)}`, quoted, pick(REMARKS, 16), OFFLINE_NOTICE].filter(Boolean).join(" ");
}

function clip(text: string, max: number): string {
	const flat = text.replace(/\s+/g, " ").trim();
	return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/** 32-bit FNV-1a: a stable, dependency-free hash (no randomness, so the same prompt gets the same reply). */
function fnv1a(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
	return hash >>> 0;
}
