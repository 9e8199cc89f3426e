/**
 * How the ai-consumer reports a reply it could not make (README, "How a message travels"): a provider failure at once,
 * since the model adapter already retried what was worth it, as a `failure` the dispatcher turns into an error frame;
 * anything else at the message's last attempt, after which it is dead-lettered (cluster). A user's own provider
 * failing is their business: the user is told to fix their key, and /readyz does not hear of it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LoggerInstance } from "moleculer";
import { LlmUnavailableError } from "../domain/chat-model.js";
import { Chan, failurePayload, UNAVAILABLE_MESSAGE, type Publish, type UserMsgPayload } from "../domain/chat-wire.js";
import { isLastAttempt } from "./amqp-channel-adapter.js";
import type { ChatMetrics } from "./chat-metrics.js";
import type { LlmStatus } from "./llm/status.js";

const MISCONFIGURED_MESSAGE =
	"The AI model is not set up correctly (its key or model name is refused), so retrying will not help: " +
	"the operator must fix the model configuration.";
const OWN_KEY_REFUSED_MESSAGE =
	"Your own AI provider refused the request (its key, model or address), so retrying will not help: " +
	"check it under Account → Your own AI provider.";
/**
 * Pause before a failed message goes back to the queue, which redelivers it at once: its attempts then span an outage
 * of a few seconds (Redis, the transporter) instead of all failing within it.
 */
const RETRY_PAUSE_MS = 2000;

/** What the user is told when the model could not answer: whose configuration to fix, if retrying cannot help. */
export function unavailableMessage(err: LlmUnavailableError, own: boolean): string {
	if (err.reason !== "misconfigured") return UNAVAILABLE_MESSAGE;
	return own ? OWN_KEY_REFUSED_MESSAGE : MISCONFIGURED_MESSAGE;
}

export interface ReplyFailuresDeps {
	publish: Publish;
	metrics: ChatMetrics;
	/** The operator's model's state, for /readyz. */
	llmStatus: LlmStatus;
	logger: LoggerInstance;
	/** CHANNEL_MAX_RETRIES: the attempt after which a message is given up on. */
	maxRetries: number;
}

export class ReplyFailures {
	constructor(private readonly deps: ReplyFailuresDeps) {}

	/**
	 * Reports a failed reply: a provider failure at once, and acks it; others at the last attempt, rethrown so the
	 * message goes back to the queue. `own`: the reply was to come from the user's own provider.
	 */
	async report(payload: UserMsgPayload, err: unknown, raw: unknown, own: boolean): Promise<void> {
		if (err instanceof LlmUnavailableError) return this.reportUnavailable(payload, err, own);
		await this.giveUpOrPause(payload, err, raw);
		throw err;
	}

	private async reportUnavailable(payload: UserMsgPayload, err: LlmUnavailableError, own: boolean): Promise<void> {
		const { metrics, llmStatus, logger, publish } = this.deps;
		metrics.llmError(err);
		if (!own) llmStatus.failed(err);
		const misconfigured = err.reason === "misconfigured";
		const ids = { session_id: payload.session_id, message_id: payload.message_id, own_key: own };
		logger[misconfigured && !own ? "error" : "warn"](ids, `No reply: ${err.message}`);
		const code = misconfigured ? "ai_misconfigured" : "ai_unavailable";
		await publish(Chan.AiMsg, failurePayload(payload, code, unavailableMessage(err, own)));
	}

	/** The user hears about it once, at the last attempt; the message itself is dead-lettered (cluster). */
	private async giveUpOrPause(payload: UserMsgPayload, err: unknown, raw: unknown): Promise<void> {
		const { logger, publish } = this.deps;
		const ids = { session_id: payload.session_id, message_id: payload.message_id };
		const last = isLastAttempt(raw, this.deps.maxRetries);
		logger.warn(ids, `Reply failed, ${last ? "giving up" : "will retry"}: ${(err as Error).message}`);
		if (!last) return void (await sleep(RETRY_PAUSE_MS));
		// The outbox sweep reports it later if this fails; the original error is the one worth rethrowing.
		await publish(Chan.AiMsg, failurePayload(payload, "ai_unavailable", UNAVAILABLE_MESSAGE)).catch(
			(publishErr: Error) => logger.error(ids, `Could not report the failed reply: ${publishErr.message}`),
		);
	}
}
