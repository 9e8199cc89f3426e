/**
 * The last leg of a reply: consumes `chat.ai.msg`, stores the reply once (its id is derived from the user message,
 * so a redelivery inserts nothing), appends it to the hot history and pushes it to the sockets of its session.
 * It also runs the outbox sweep: a user message still without a reply after CHAT_REPLY_TIMEOUT is published
 * again (a publish lost in a RabbitMQ restart is thus recovered), and given up after CHAT_REPLY_MAX_ATTEMPTS with an
 * `ai_unavailable` error to the user. Operators (REPL) post messages into a chat (`say`) and read traffic (`stats`).
 * A continued reply is stored in place (continued-replies.ts).
 */
import { randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import type { ChatStats, MessageRow } from "../src/adapters/chat-store.js";
import { SessionNotFound } from "../src/errors.js";
import {
	Chan,
	ConsumerGroup,
	messageFrame,
	UNAVAILABLE_MESSAGE,
	userMsgPayload,
	type AiMsgPayload,
	type ErrorFrame,
	type Publish,
} from "../src/domain/chat-wire.js";
import { RoomTurns } from "../src/adapters/room-turns.js";
import { historyEntry } from "../src/domain/history.js";
import { createChatQuotas, type ChatQuotas } from "../src/adapters/quotas.js";
import { ContinuationStore } from "../src/adapters/continuations.js";
import { ContinuedReplies } from "../src/adapters/continued-replies.js";

type DispatcherThis = Service &
	ChatThis & {
		quotas: ChatQuotas;
		continued: ContinuedReplies;
		stopQueueSampling?: () => void;
		sweepTimer?: NodeJS.Timeout;
		sweeping: boolean;
		storeReply(payload: Extract<AiMsgPayload, { kind: "reply" }>): Promise<void>;
		reportFailure(
			userMessageId: string,
			sessionId: string,
			code: ErrorFrame["code"],
			message: string,
			variant?: number,
		): Promise<void>;
		sweepOutbox(): Promise<void>;
		roomTurns: RoomTurns;
		failTurn(turnId: string, failure: { session_id: string; reply_to: string } & ErrorBody): Promise<void>;
	};

type ErrorBody = Pick<ErrorFrame, "code" | "message">;

/** What `say` returns: the stored message's id and how many sockets it reached (0: the user sees it on resume). */
export interface OperatorMessage {
	id: string;
	session_id: string;
	delivered: number;
}

export default function dispatcherService(config: Config): ServiceSchema<ServiceSettingSchema, DispatcherThis> {
	return {
		name: "dispatcher",

		/** `this.db` (PostgreSQL), the chat store, runtime and metrics, `publish`. */
		mixins: [ChatMixin(config)],

		/** For operators (the REPL); `visibility: "public"` keeps them off the gateway. */
		actions: {
			/** Stores a message from an operator in a chat and delivers it like a reply. */
			say: {
				visibility: "public",
				params: {
					session_id: "uuid",
					content: { type: "string", trim: true, min: 1, max: config.chat.maxContentChars },
				},
				async handler(
					this: DispatcherThis,
					ctx: Context<{ session_id: string; content: string }>,
				): Promise<OperatorMessage> {
					const session = await this.store.getSession(ctx.params.session_id);
					if (!session) throw SessionNotFound(ctx.params.session_id);
					const { row } = (await this.store.insertAiMessage({
						id: randomUUID(),
						reply_to: null,
						session_id: session.id,
						username: session.username,
						character_id: session.character_id,
						content: ctx.params.content,
						model: "operator",
					}))!; // Answers no message: always stored.
					// Stored is what counts: a failure past this point must not invite the operator to send it twice.
					await this.runtime.history
						.append(row.session_id, historyEntry(row))
						.catch((err) =>
							this.logger.warn({ session_id: row.session_id, message_id: row.id }, "History append failed:", err),
						);
					const delivered = await this.runtime.delivery.send(row.session_id, [messageFrame(row)]).catch((err) => {
						this.logger.warn({ session_id: row.session_id, message_id: row.id }, "Delivery failed:", err);
						return 0;
					});
					return { id: row.id, session_id: row.session_id, delivered };
				},
			},

			/** Chat traffic of the last `minutes`, from PostgreSQL. */
			stats: {
				visibility: "public",
				params: { minutes: { type: "number", integer: true, min: 1, max: 7 * 24 * 60, default: 5, convert: true } },
				handler(this: DispatcherThis, ctx: Context<{ minutes: number }>): Promise<ChatStats> {
					return this.store.chatStats(ctx.params.minutes);
				},
			},
		},

		channels: {
			[Chan.AiMsg]: {
				group: ConsumerGroup.Dispatcher,
				maxInFlight: config.chat.maxInFlight,
				maxRetries: config.chat.maxRetries,
				deadLettering: { enabled: config.mode === "cluster", queueName: "chat.ai.msg.dead" },
				async handler(this: DispatcherThis, payload: AiMsgPayload) {
					if (payload?.kind === "reply") return this.storeReply(payload);
					if (payload?.kind === "continuation") return this.continued.store(payload);
					if (payload?.kind === "failure" && payload.continued) return this.continued.fail(payload);
					if (payload?.kind === "failure" && payload.turn_id) return this.failTurn(payload.turn_id, payload);
					if (payload?.kind === "failure") {
						return this.reportFailure(
							payload.reply_to,
							payload.session_id,
							payload.code,
							payload.message,
							payload.variant ?? 0,
						);
					}
					// Retrying cannot fix a malformed message: log and ack it.
					this.logger.error("Dropping a malformed chat.ai.msg payload", {
						kind: (payload as { kind?: unknown })?.kind,
					});
				},
			},
		},

		methods: {
			async storeReply(this: DispatcherThis, payload: Extract<AiMsgPayload, { kind: "reply" }>) {
				const stored = await this.store.insertAiMessage({
					id: payload.id,
					reply_to: payload.reply_to,
					session_id: payload.session_id,
					username: payload.username,
					character_id: payload.character_id,
					content: payload.content,
					model: payload.model,
					variant: payload.variant,
					stopped: payload.stopped,
					input_tokens: payload.usage?.input_tokens,
					output_tokens: payload.usage?.output_tokens,
					own_key: payload.own_key,
				});
				if (!stored) {
					// The user rewound the story past the message answered: the reply is acked, not stored, counted or shown.
					this.logger.debug(
						{ session_id: payload.session_id, message_id: payload.reply_to },
						"Reply to a rewound message dropped",
					);
					if (payload.turn_id) await this.roomTurns.finish(payload.turn_id, payload.session_id);
					return;
				}
				const { row, inserted, answeredCreatedAt } = stored;
				// A stopped reply ends when the user says so, not when the pipeline is done: like chatStats, leave it out.
				if (answeredCreatedAt && !row.stopped)
					this.metrics.replyLatency((row.created_at.getTime() - answeredCreatedAt.getTime()) / 1000);
				this.logger.debug(
					{ session_id: row.session_id, message_id: payload.reply_to },
					inserted ? "Reply stored" : "Reply already stored",
				);
				if (inserted) {
					// Counted once (a redelivery inserts nothing) and before delivery, so the user's next message sees it;
					// the user's own key's are theirs to pay.
					const tokens = payload.own_key ? 0 : (payload.usage?.input_tokens ?? 0) + (payload.usage?.output_tokens ?? 0);
					await this.quotas
						.addTokens(payload.username, tokens)
						.catch((err) => this.logger.warn("Token quota update failed:", err));
					// A new variant replaces the old one in what the model sees: let the cache refill from PostgreSQL.
					if (row.variant > 0) await this.runtime.history.drop(row.session_id);
					else await this.runtime.history.append(row.session_id, historyEntry(row));
				}
				// Delivered on redelivery too (the first delivery may not have happened); sockets drop ids they have shown.
				await this.runtime.delivery
					.send(row.session_id, [messageFrame(row)])
					.catch((err) =>
						this.logger.warn({ session_id: row.session_id, message_id: row.id }, "Delivery failed:", err),
					);
				// A room's next reply is asked for once this one is out.
				if (payload.turn_id) await this.roomTurns.finish(payload.turn_id, payload.session_id);
			},

			/** A room's turn that could not be answered: the room hears it once, and its next turn starts. */
			async failTurn(
				this: DispatcherThis,
				turnId: string,
				failure: { session_id: string; reply_to: string } & ErrorBody,
			) {
				if (!(await this.roomTurns.finish(turnId, failure.session_id, "failed"))) return;
				this.metrics.errorFrame(failure.code);
				const frame: ErrorFrame = {
					type: "error",
					code: failure.code,
					message: failure.message,
					reply_to: failure.reply_to,
				};
				await this.runtime.delivery
					.send(failure.session_id, [frame])
					.catch((err) => this.logger.warn({ session_id: failure.session_id }, "Delivery failed:", err));
			},

			async reportFailure(
				this: DispatcherThis,
				userMessageId: string,
				sessionId: string,
				code: ErrorFrame["code"],
				message: string,
				variant = 0,
			) {
				// A failed regeneration leaves the earlier replies standing; a failed first reply fails the message. Asking
				// again after a failed first reply is variant 0 once more (nothing was stored): the message is already
				// failed, and this failure must reach the user too. A message answered or rewound meanwhile drops the report.
				const dropped =
					variant === 0
						? !(await this.store.markReplyFailed(userMessageId)) &&
							(await this.store.getMessage(userMessageId))?.reply_status !== "failed"
						: !(await this.store.endRegeneration(userMessageId));
				if (dropped) return;
				this.metrics.errorFrame(code);
				const frame: ErrorFrame = { type: "error", code, message, reply_to: userMessageId };
				await this.runtime.delivery
					.send(sessionId, [frame])
					.catch((err) =>
						this.logger.warn({ session_id: sessionId, message_id: userMessageId }, "Delivery failed:", err),
					);
			},

			async sweepOutbox(this: DispatcherThis) {
				if (this.sweeping) return;
				this.sweeping = true;
				try {
					const stale: MessageRow[] = await this.store.claimStaleUserMessages(config.chat.replyTimeoutSeconds, 100);
					for (const m of stale) {
						if (m.publish_attempts > config.chat.replyMaxAttempts) {
							this.logger.warn(
								{ session_id: m.session_id, message_id: m.id },
								`No reply after ${m.publish_attempts - 1} attempts; giving up`,
							);
							await this.reportFailure(m.id, m.session_id, "ai_unavailable", UNAVAILABLE_MESSAGE);
							continue;
						}
						this.logger.info(
							{ session_id: m.session_id, message_id: m.id },
							`Re-publishing a message without a reply (attempt ${m.publish_attempts})`,
						);
						await this.publish(Chan.UserMsg, userMsgPayload(m)).catch((err: Error) =>
							this.logger.warn(
								{ session_id: m.session_id, message_id: m.id },
								`Re-publish failed, next sweep retries: ${err.message}`,
							),
						);
					}
					for (const turn of await this.roomTurns.sweep()) {
						this.logger.warn(
							{ session_id: turn.session_id, turn_id: turn.id },
							"No reply for a room's turn; giving up",
						);
						await this.failTurn(turn.id, { ...turn, code: "ai_unavailable", message: UNAVAILABLE_MESSAGE });
					}
				} catch (err) {
					this.logger.warn("Outbox sweep failed:", err);
				} finally {
					this.sweeping = false;
				}
			},
		},

		/** After the mixin's `started` (store, runtime, metrics). */
		async started(this: DispatcherThis) {
			this.quotas = createChatQuotas(config);
			const publish: Publish = (channel, payload) => this.publish(channel, payload);
			this.roomTurns = new RoomTurns(this.db.sequelize, publish, this.logger, config.chat);
			const continuations = new ContinuationStore(this.db.sequelize, config.chat.replyTimeoutSeconds);
			const { runtime, quotas, metrics, logger } = this;
			this.continued = new ContinuedReplies({ continuations, runtime, quotas, metrics, logger });
			this.stopQueueSampling = this.metrics.sampleQueueDepths(config, this.logger);
			this.sweeping = false;
			// Sweep a few times per timeout so a lost message waits at most ~1.3 timeouts.
			const everyMs = Math.max(1000, (config.chat.replyTimeoutSeconds * 1000) / 3);
			this.sweepTimer = setInterval(() => void this.sweepOutbox(), everyMs);
		},

		async stopped(this: DispatcherThis) {
			clearInterval(this.sweepTimer);
			this.stopQueueSampling?.();
			await this.quotas?.close();
		},
	};
}
