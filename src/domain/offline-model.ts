/**
 * The model used when no LLM is configured: a deterministic stand-in that answers in the character's name and says
 * plainly what it is, so the whole pipeline (streaming, replies, history) runs without an API key.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChatMessage, ChatModel } from "../adapters/llm.js";
import { personaOf } from "./prompt.js";

export const OFFLINE_NOTICE = "(offline model — set GOOGLE_API_KEY for real replies)";

const OPENER_CHARS = 120;
const QUOTE_CHARS = 80;

// Picked by a hash of the prompt: replies vary with the conversation yet stay reproducible.
const REMARKS = ["considers that for a moment.", "leans in, wanting to hear more.", "nods slowly.", "smiles and waits for you to go on."];

export interface OfflineModelOptions {
	/** Pause before each chunk, to make streaming visible (demos, tests). */
	chunkDelayMs?: number;
}

export class OfflineModel implements ChatModel {
	readonly name = "offline";
	private readonly chunkDelayMs: number;

	constructor(opts: OfflineModelOptions = {}) {
		this.chunkDelayMs = opts.chunkDelayMs ?? 0;
	}

	async *stream(messages: ChatMessage[], opts: { signal?: AbortSignal } = {}): AsyncIterable<string> {
		const { signal } = opts;
		// Word by word, each word with the spaces after it, so the chunks concatenate to the reply.
		for (const chunk of offlineReply(messages).match(/\S+\s*/g) ?? []) {
			signal?.throwIfAborted();
			if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs, undefined, { signal });
			yield chunk;
		}
	}
}

/** The whole reply: the greeting's opening sentence, a quote of the user's last message, a remark, the notice. */
export function offlineReply(messages: ChatMessage[]): string {
	const { name, greeting } = personaOf(messages);
	const said = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
	const opener = clip(firstSentence(greeting), OPENER_CHARS) || `${name} here.`;
	// The last message and the conversation's length pick the remark: hashing the whole prompt cost more than the rest.
	const remark = `${name} ${REMARKS[fnv1a(`${messages.length}:${said}`) % REMARKS.length]}`;
	const parts = [opener, said.trim() ? `You said "${clip(said, QUOTE_CHARS)}", and ${remark}` : remark, OFFLINE_NOTICE];
	return parts.join(" ");
}

function firstSentence(text: string): string {
	return /^.*?[.!?](?=\s|$)/.exec(text.trim())?.[0] ?? text;
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
