/**
 * The replies ai-consumer is streaming: each chunk goes to the session's sockets as a delta (best effort), and a stop
 * request for the session aborts its generations, which then return the partial reply, marked stopped (or discarded,
 * when a rewind stopped them: the story they belonged to is gone). A `continue`
 * streams the same way, its deltas carrying the id of the reply it extends.
 */
import type { ChatModel, StreamOptions } from "../domain/chat-model.js";
import { replyIdOf, type Usage, type UserMsgPayload } from "../domain/chat-wire.js";
import { continuationSeparator, type AssembledPrompt } from "../domain/prompt.js";
import type { ContinuedReply } from "./continuations.js";
import type { ChatMetrics } from "./chat-metrics.js";
import type { Delivery } from "./delivery.js";
import { usageOf } from "./llm/factory.js";

/** One streaming call of the model for a user message. */
export interface Generation {
	/** The model as the service holds it now (tests and operators may swap it). */
	model: ChatModel;
	message: UserMsgPayload;
	/** Its `tokens`, as counted when it was assembled, are the usage unless the provider reports its own. */
	prompt: Pick<AssembledPrompt, "messages" | "tokens">;
	overrides: StreamOptions["overrides"];
	/** `performance.now()` when the user message was picked up, for the time to first delta. */
	pickedUpAt: number;
	/**
	 * A `continue`: the reply it extends. Deltas carry its id and `continued: true`, the first one led by the space
	 * the join needs, if any; `content` is then what to append (that space included).
	 */
	continuing?: Omit<ContinuedReply, "session_id">;
}

export interface Generated {
	content: string;
	stopped: boolean;
	/** Stopped by a rewind: publish nothing (the tokens were spent all the same). */
	discarded?: boolean;
	model: string;
	usage: Usage;
}

/** The abort reason of a generation stopped by a rewind. */
const REWOUND = "rewound";

export class Generations {
	/** Per session, so a stop request can abort them. */
	private readonly inflight = new Map<string, Set<AbortController>>();

	constructor(private readonly deps: { delivery: Delivery; metrics: ChatMetrics }) {}

	/** Streams the model for one message; a stop request ends it early with what was written so far. */
	async generate({ model, message, prompt, overrides, pickedUpAt, continuing }: Generation): Promise<Generated> {
		const sessionId = message.session_id;
		const variant = continuing?.variant ?? message.variant ?? 0;
		const replyTo = continuing ? continuing.reply_to : message.message_id;
		const id = continuing?.id ?? replyIdOf(message);
		const continued = continuing ? ({ continued: true } as const) : {};
		// In a room, who is speaking; a one-character chat's deltas stay as small as they were.
		const speaker = message.room ? { character_id: message.character_id } : {};
		const controller = new AbortController();
		const running = this.inflight.get(sessionId) ?? new Set<AbortController>();
		this.inflight.set(sessionId, running.add(controller));
		const deltas = await this.deps.delivery.openDeltaStream(sessionId);
		let content = "";
		const stream = model.stream(prompt.messages, { overrides, variant, signal: controller.signal });
		const modelName = () => stream.model ?? model.name;
		const result = (stopped: boolean): Generated => ({
			content,
			stopped,
			model: modelName(),
			usage: usageOf(prompt.tokens, content, stream.usage),
		});
		let first = true;
		try {
			for await (const chunk of stream) {
				if (first) {
					first = false;
					this.deps.metrics.firstDelta(modelName(), (performance.now() - pickedUpAt) / 1000);
				}
				const delta = continuing && !content ? continuationSeparator(continuing.content, chunk) + chunk : chunk;
				content += delta;
				deltas.push({ type: "ai.delta", id, reply_to: replyTo, variant, delta, ...speaker, ...continued });
			}
			return result(false);
		} catch (err) {
			if (controller.signal.aborted) {
				return controller.signal.reason === REWOUND ? { ...result(true), discarded: true } : result(true);
			}
			throw err;
		} finally {
			running.delete(controller);
			if (running.size === 0) this.inflight.delete(sessionId);
		}
	}

	/**
	 * Aborts the session's generations on this node (none: another node is generating, or nothing is); `discard`: a
	 * rewind asked, so they end discarded rather than stopped.
	 */
	stop(sessionId: string, discard = false): void {
		for (const controller of this.inflight.get(sessionId) ?? []) controller.abort(discard ? REWOUND : undefined);
	}
}
