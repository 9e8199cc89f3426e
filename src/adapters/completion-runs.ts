/**
 * The completions service's generations (/v1 API): the model's reply to a prompt as text, stop sequences cut; the
 * runs in progress by completion id, so an abandoned one is aborted wherever the abandonment is heard, even when it
 * arrives before the run began; and the answer, whole or as server-sent events.
 */
import { Readable } from "node:stream";
import { LRUCache } from "lru-cache";
import type { ChatModel } from "../domain/chat-model.js";
import type { Usage } from "../domain/chat-wire.js";
import { StopCutter } from "../domain/completions.js";
import type { ModelOverrides } from "../domain/model-settings.js";
import type { AssembledPrompt } from "../domain/prompt.js";
import {
	SSE_DONE,
	chatCompletion,
	completionChunk,
	openAiErrorOf,
	sseEvent,
	usageChunk,
	type CompletionHead,
} from "../domain/openai-wire.js";
import { usageOf } from "./llm/factory.js";

export interface CompletionRun {
	model: ChatModel;
	prompt: Pick<AssembledPrompt, "messages" | "tokens">;
	overrides: ModelOverrides;
	stop: readonly string[];
	signal: AbortSignal;
}

/** What a run cost: the model that answered and its tokens. */
export interface Spent {
	model: string;
	usage: Usage;
}

/**
 * The reply's text in pieces, cut at the first stop sequence (the provider's request then ends). `onSpent` is called
 * once it ends, however it ends: what was written so far counts too.
 */
export async function* completionText(run: CompletionRun, onSpent: (spent: Spent) => void): AsyncGenerator<string> {
	const stream = run.model.stream(run.prompt.messages, { overrides: run.overrides, signal: run.signal });
	const cutter = new StopCutter(run.stop);
	let content = "";
	try {
		for await (const chunk of stream) {
			const text = cutter.push(chunk);
			content += text;
			if (text) yield text;
			// Leaving the loop ends the provider's stream, and its HTTP request with it.
			if (cutter.stopped) break;
		}
		const rest = cutter.flush();
		content += rest;
		if (rest) yield rest;
	} finally {
		onSpent({ model: stream.model ?? run.model.name, usage: usageOf(run.prompt.tokens, content, stream.usage) });
	}
}

/** Abandonments heard before their run began, kept this long: a run starts within a request's lifetime. */
const EARLY_ABANDONMENTS = { max: 10_000, ttl: 5 * 60_000 } as const;

export class CompletionRuns {
	private readonly running = new Map<string, AbortController>();
	private readonly abandonedEarly = new LRUCache<string, true>(EARLY_ABANDONMENTS);

	/** A run's abort signal; aborted at once if it was abandoned already. `end` it when the run is over. */
	begin(id: string): AbortController {
		const controller = new AbortController();
		if (this.abandonedEarly.has(id)) controller.abort();
		else this.running.set(id, controller);
		return controller;
	}

	end(id: string): void {
		this.running.delete(id);
	}

	/** The client went away: abort its run on this node, or remember it in case the run is yet to begin here. */
	abandon(id: string): void {
		const controller = this.running.get(id);
		if (controller) controller.abort();
		else this.abandonedEarly.set(id, true);
	}
}

/** How one completion is answered: its request's shape, what to call it, and where its text comes from. */
export interface Answering {
	stream: boolean;
	includeUsage: boolean;
	head: CompletionHead;
	/** The reply's text in pieces. */
	text: AsyncGenerator<string>;
	/** What it cost so far (read once the text has ended). */
	usage(): Usage;
	/** Aborted when the client goes away. */
	controller: AbortController;
	/** The error to answer with for one the text failed with (a provider's becomes a 503). */
	refusalOf(err: unknown): unknown;
	/** Called once the answer is over, however it ended. */
	onEnd(): void;
}

/**
 * A `chat.completion` once the text has ended, or a stream of `chat.completion.chunk` events once its first piece is
 * there: a text that cannot even start (the provider refuses) is an error status, not a stream that breaks at once.
 * A failure mid-stream is sent as OpenAI sends one, an `error` event, then the stream ends.
 */
export async function answerCompletion(a: Answering): Promise<Readable | ReturnType<typeof chatCompletion>> {
	if (!a.stream) {
		try {
			let content = "";
			for await (const piece of a.text) content += piece;
			return chatCompletion(a.head, content, a.usage());
		} catch (err) {
			throw a.refusalOf(err);
		} finally {
			a.onEnd();
		}
	}
	const first = await a.text.next().catch((err: unknown) => {
		a.onEnd();
		throw a.refusalOf(err);
	});
	const chunk = (delta: { role?: "assistant"; content?: string }, finish: "stop" | null) =>
		sseEvent(completionChunk(a.head, delta, finish, a.includeUsage));
	let ended = false;
	async function* events(): AsyncGenerator<string> {
		try {
			yield chunk({ role: "assistant", content: "" }, null);
			for (let next = first; !next.done; next = await a.text.next()) yield chunk({ content: next.value }, null);
			yield chunk({}, "stop");
			if (a.includeUsage) yield sseEvent(usageChunk(a.head, a.usage()));
			yield SSE_DONE;
		} catch (err) {
			// Gone: nobody to tell.
			if (!a.controller.signal.aborted) yield sseEvent(openAiErrorOf(a.refusalOf(err)).body);
		} finally {
			ended = true;
			a.onEnd();
		}
	}
	const stream = Readable.from(events(), { objectMode: false });
	// In-process, a client that goes away destroys the stream: abort at once rather than at the next piece.
	stream.once("close", () => {
		if (!ended) a.controller.abort();
	});
	return stream;
}
