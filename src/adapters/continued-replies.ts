/**
 * The dispatcher's side of `continue`: the longer reply is stored in place, once (only while the reply is marked as
 * being continued: a redelivery, or a reply rewound meanwhile, changes and delivers nothing), its tokens counted, the
 * hot history dropped (a reply changed in the middle of it), and an `ai` frame with the same id, the longer content
 * and `continued: true` sent to every socket of the session. A failed continue leaves the reply as it was and tells
 * the user, `reply_to` naming the reply.
 */
import { messageFrame, type AiFrame, type AiMsgPayload, type ErrorFrame } from "../domain/chat-wire.js";
import type { ChatMetrics } from "./chat-metrics.js";
import type { ChatRuntime } from "./chat-runtime.js";
import type { ContinuationStore } from "./continuations.js";
import type { ChatQuotas } from "./quotas.js";

export interface ContinuedRepliesDeps {
	continuations: ContinuationStore;
	runtime: Pick<ChatRuntime, "history" | "delivery">;
	quotas: ChatQuotas;
	metrics: ChatMetrics;
	logger: { warn(...a: unknown[]): void; debug(...a: unknown[]): void };
}

export class ContinuedReplies {
	constructor(private readonly deps: ContinuedRepliesDeps) {}

	async store(payload: Extract<AiMsgPayload, { kind: "continuation" }>): Promise<void> {
		const { continuations, runtime, quotas, logger } = this.deps;
		const ids = { session_id: payload.session_id, message_id: payload.id };
		const row = await continuations.store(payload.id, payload.content, payload.usage);
		if (!row) return void logger.debug(ids, "Continuation already stored, or its reply rewound: dropped");
		// The user's own key's are theirs to pay.
		const tokens = payload.own_key ? 0 : (payload.usage?.input_tokens ?? 0) + (payload.usage?.output_tokens ?? 0);
		await quotas.addTokens(payload.username, tokens).catch((err) => logger.warn("Token quota update failed:", err));
		await runtime.history.drop(row.session_id).catch((err) => logger.warn(ids, "History drop failed:", err));
		const revision = Number(row.revision);
		const frame: AiFrame = { ...(messageFrame({ ...row, role: "ai" }) as AiFrame), continued: true, revision };
		await runtime.delivery.send(row.session_id, [frame]).catch((err) => logger.warn(ids, "Delivery failed:", err));
	}

	async fail(payload: Extract<AiMsgPayload, { kind: "failure" }>): Promise<void> {
		const { continuations, runtime, metrics, logger } = this.deps;
		const ids = { session_id: payload.session_id, message_id: payload.reply_to };
		// Reported once: a redelivered failure, or one for a reply rewound meanwhile, finds nothing to release.
		if (!(await continuations.release(payload.reply_to))) return;
		metrics.errorFrame(payload.code);
		const frame: ErrorFrame = {
			type: "error",
			code: payload.code,
			message: payload.message,
			reply_to: payload.reply_to,
		};
		await runtime.delivery.send(payload.session_id, [frame]).catch((err) => logger.warn(ids, "Delivery failed:", err));
	}
}
