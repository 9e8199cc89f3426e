/**
 * The AI side of a chat: answers each `chat.user.msg` with a reply on `chat.ai.msg` (DESIGN.md, message flow 3 and 6).
 * It loads the character (cached action) and the recent history (Redis, else PostgreSQL), streams the model, and
 * publishes the finished reply before returning, so the user message is acked only once its reply is on its way.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Validators, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatStore, type SessionRow } from "../src/adapters/chat-store.js";
import { historyEntry, type HistoryEntry } from "../src/adapters/history-cache.js";
import { createChatRuntime, type ChatRuntime } from "../src/adapters/chat-runtime.js";
import { chatMetrics, type ChatMetrics } from "../src/adapters/chat-metrics.js";
import { createChatModel, LlmUnavailableError, usageOf, type ChatMessage, type ChatModel, type ModelOverrides } from "../src/adapters/llm.js";
import { LRUCache } from "lru-cache";
import { CharacterEvent, type CharacterView } from "../src/domain/characters.js";
import {
	Chan,
	ChatEvent,
	ConsumerGroup,
	replyId,
	type AiDeltaFrame,
	type AiMsgPayload,
	type ErrorFrameCode,
	type StopRequestedPayload,
	type Usage,
	type UserMsgPayload,
} from "../src/domain/chat-wire.js";
import { assemblePrompt, foldSummary, historyUpTo, summaryPrompt } from "../src/domain/prompt.js";

export interface AiConsumerThis extends Service, DbThis {
	store: ChatStore;
	runtime: ChatRuntime;
	model: ChatModel;
	metrics: ChatMetrics;
	/**
	 * Characters as `characters.resolve` answered, kept here: the broker's cacher sits with the action, so every
	 * message was a round trip to the node running `characters`. Forgotten when any character changes.
	 */
	characters: LRUCache<string, { view: CharacterView | null }>;
	/** Generations in flight per session, so a stop request can abort them. */
	inflight: Map<string, Set<AbortController>>;
	history(payload: UserMsgPayload): Promise<HistoryEntry[]>;
	foldSummary(session: SessionRow, history: HistoryEntry[], dropped: HistoryEntry[], names: { char: string; user: string }): Promise<void>;
	generate(
		sessionId: string,
		prompt: ChatMessage[],
		/** The prompt's tokens as counted when it was assembled: the usage unless the provider reports its own. */
		promptTokens: number,
		overrides: ModelOverrides,
		/** `performance.now()` when the user message was picked up, for the time to first delta. */
		pickedUpAt: number,
		toDelta: (delta: string) => AiDeltaFrame,
	): Promise<{ content: string; stopped: boolean; model: string; usage: Usage }>;
	publish(message: AiMsgPayload): Promise<void>;
}

const SUMMARY_BATCH_TURNS = 4;
const CACHED_CHARACTERS = 10_000;
const CHARACTER_TTL_MS = 60_000;
const UNAVAILABLE_MESSAGE = "The character could not answer right now. Try again in a moment.";
const CHARACTER_GONE_MESSAGE = "This character is no longer available.";
/**
 * Pause before a failed message goes back to the queue, which redelivers it at once: its attempts then span an outage
 * of a few seconds (Redis, the transporter) instead of all failing within it.
 */
const RETRY_PAUSE_MS = 2000;

const checkPayload = new Validators.Fastest().compile({
	message_id: "uuid",
	session_id: "uuid",
	username: "string|min:1",
	character_id: "uuid",
	content: "string|min:1",
	variant: { type: "number", integer: true, min: 0, optional: true },
}) as (value: unknown) => true | unknown[];

/**
 * Whether a failure now is final. AMQP: the adapter counts redeliveries in a header and dead-letters the message
 * once the count reaches maxRetries. The in-process adapter never redelivers, so every attempt is the last.
 */
export function isLastAttempt(raw: unknown, maxRetries: number): boolean {
	const properties = (raw as { properties?: { headers?: Record<string, unknown> } } | undefined)?.properties;
	if (!properties) return true;
	return (Number(properties.headers?.["x-redelivered-count"]) || 0) + 1 >= maxRetries;
}

function failure(payload: UserMsgPayload, code: ErrorFrameCode, message: string): AiMsgPayload {
	const { message_id, session_id, username, character_id } = payload;
	return { kind: "failure", reply_to: message_id, variant: payload.variant ?? 0, session_id, username, character_id, code, message };
}

export default function aiConsumerService(config: Config): ServiceSchema<ServiceSettingSchema, AiConsumerThis> {
	return {
		name: "ai-consumer",

		/** `this.db` (PostgreSQL, for history the cache does not hold). */
		mixins: [DbMixin(config)],

		/** Characters come from `characters.resolve`: no consuming before it can answer. */
		dependencies: ["characters"],

		/** One reply per user message; a bounded number at once per process. */
		channels: {
			[Chan.UserMsg]: {
				group: ConsumerGroup.AiConsumer,
				maxInFlight: config.chat.maxInFlight,
				maxRetries: config.chat.maxRetries,
				deadLettering: { enabled: config.mode === "cluster", queueName: "chat.user.msg.dead" },
				async handler(this: AiConsumerThis, payload: UserMsgPayload, raw: unknown) {
					if (checkPayload(payload) !== true) {
						// Retrying cannot fix a malformed message: log (no contents) and ack it.
						this.logger.error("Dropping a malformed chat.user.msg payload", { fields: Object.keys(payload ?? {}) });
						return;
					}
					const pickedUpAt = performance.now();
					try {
						const character = (await this.characters.fetch(payload.character_id))?.view;
						if (!character) {
							await this.publish(failure(payload, "character_unavailable", CHARACTER_GONE_MESSAGE));
							return;
						}
						const { message_id, session_id, username, character_id } = payload;
						const session = await this.store.getSession(session_id);
						const history = await this.history(payload);
						const assembled = assemblePrompt(character, history, username, { budgetTokens: config.chat.promptTokens, summary: session?.summary });
						const prompt = assembled.messages;
						const variant = payload.variant ?? 0;
						const id = replyId(message_id, variant);
						const overrides = {
							model: character.llm_model ?? undefined,
							temperature: character.temperature ?? undefined,
							maxOutputTokens: character.max_output_tokens ?? undefined,
						};
						const { content, stopped, model, usage } = await this.generate(session_id, prompt, assembled.tokens, overrides, pickedUpAt, (delta) => ({
							type: "ai.delta",
							id,
							reply_to: message_id,
							variant,
							delta,
						}));
						// Spent even if the publish below fails and the message is answered again.
						this.metrics.tokens(model, usage);
						await this.publish({
							kind: "reply",
							id,
							variant,
							reply_to: message_id,
							session_id,
							username,
							character_id,
							content,
							model,
							usage,
							...(stopped ? { stopped } : {}),
						});
						this.logger.debug({ session_id, message_id, variant }, stopped ? "Stopped reply published" : "Reply published");
						if (session) {
							await this.foldSummary(session, history, assembled.dropped, { char: character.name, user: username }).catch((err: Error) =>
								this.logger.warn({ session_id }, `Summary update failed: ${err.message}`),
							);
						}
					} catch (err) {
						// The provider adapter already retried what was worth retrying: report it now and ack.
						if (err instanceof LlmUnavailableError) {
							this.metrics.llmError(err);
							this.logger.warn({ session_id: payload.session_id, message_id: payload.message_id }, `No reply: ${err.message}`);
							await this.publish(failure(payload, "ai_unavailable", UNAVAILABLE_MESSAGE));
							return;
						}
						const last = isLastAttempt(raw, config.chat.maxRetries);
						this.logger.warn({ session_id: payload.session_id, message_id: payload.message_id }, `Reply failed${last ? ", giving up" : ", will retry"}: ${(err as Error).message}`);
						// The user hears about it once; the message itself goes to the dead-letter queue (cluster).
						if (last) {
							await this.publish(failure(payload, "ai_unavailable", UNAVAILABLE_MESSAGE)).catch((publishErr: Error) =>
								// The outbox sweep reports it later; the original error is the one worth rethrowing.
								this.logger.error({ session_id: payload.session_id, message_id: payload.message_id }, `Could not report the failed reply: ${publishErr.message}`),
							);
						} else await sleep(RETRY_PAUSE_MS);
						throw err;
					}
				},
			},
		},

		/** Stop requests are broadcast: the node generating for the session aborts it. */
		events: {
			[CharacterEvent.Changed]: {
				handler(this: AiConsumerThis) {
					this.characters.clear();
				},
			},

			[ChatEvent.StopRequested]: {
				handler(this: AiConsumerThis, ctx: Context<StopRequestedPayload>) {
					for (const controller of this.inflight.get(ctx.params.session_id) ?? []) controller.abort();
				},
			},
		},

		methods: {
			/**
			 * Streams the model, pushing each chunk to the session's sockets as a delta (best effort). A stop request
			 * ends it early: the partial reply is returned, marked stopped.
			 */
			async generate(this: AiConsumerThis, sessionId: string, prompt: ChatMessage[], promptTokens: number, overrides: ModelOverrides, pickedUpAt: number, toDelta: (delta: string) => AiDeltaFrame) {
				const controller = new AbortController();
				const running = this.inflight.get(sessionId) ?? new Set<AbortController>();
				this.inflight.set(sessionId, running.add(controller));
				const deltas = await this.runtime.delivery.openDeltaStream(sessionId);
				let content = "";
				const stream = this.model.stream(prompt, { signal: controller.signal, overrides });
				const result = (stopped: boolean) => ({ content, stopped, model: stream.model ?? this.model.name, usage: usageOf(promptTokens, content, stream.usage) });
				let first = true;
				try {
					for await (const chunk of stream) {
						if (first) {
							first = false;
							this.metrics.firstDelta(stream.model ?? this.model.name, (performance.now() - pickedUpAt) / 1000);
						}
						content += chunk;
						deltas.push(toDelta(chunk));
					}
					return result(false);
				} catch (err) {
					if (controller.signal.aborted) return result(true);
					throw err;
				} finally {
					running.delete(controller);
					if (running.size === 0) this.inflight.delete(sessionId);
				}
			},

			/**
			 * Keeps the rolling summary up to date: turns that no longer fit the prompt, and any that fell out of the
			 * history window unseen, are folded in (by the model when there is one, else extractively).
			 */
			async foldSummary(this: AiConsumerThis, session: SessionRow, history: HistoryEntry[], dropped: HistoryEntry[], names: { char: string; user: string }) {
				const upto = session.summary_upto_seq ? BigInt(session.summary_upto_seq) : 0n;
				const oldestSeen = history.find((e) => e.seq)?.seq;
				// A window that is not full holds the session from its start. (seq counts across sessions: its gaps
				// say nothing.)
				const unseen =
					history.length >= config.chat.historyWindow && oldestSeen && BigInt(oldestSeen) > upto + 1n
						? (await this.store.activeMessagesBetween({ session_id: session.id, after_seq: session.summary_upto_seq, before_seq: oldestSeen, limit: 200 })).map(
								historyEntry,
							)
						: [];
				const turns = [...unseen, ...dropped.filter((e) => e.seq && BigInt(e.seq) > upto)];
				// Folded a few turns at a time: a summary write (and with a model, a summary call) per message is waste.
				if (turns.length < SUMMARY_BATCH_TURNS) return;
				const max = config.chat.summaryTokens;
				let summary = foldSummary(session.summary, turns, names, max);
				if (this.model.name !== "offline") {
					let written = "";
					for await (const chunk of this.model.stream(summaryPrompt(session.summary, turns, names, max))) written += chunk;
					if (written.trim()) summary = written.trim();
				}
				await this.store.updateSummary(session.id, summary, turns.at(-1)!.seq!);
			},

			/** The conversation up to this message, from the hot cache or (filling it) from PostgreSQL. */
			async history(this: AiConsumerThis, payload: UserMsgPayload): Promise<HistoryEntry[]> {
				let entries = await this.runtime.history.read(payload.session_id);
				if (!entries) {
					const rows = await this.store.latestMessages(payload.session_id, config.chat.historyWindow, undefined, true);
					entries = rows.map(historyEntry);
					await this.runtime.history.fill(payload.session_id, entries);
				}
				const current: HistoryEntry = { id: payload.message_id, role: "user", content: payload.content };
				return historyUpTo(entries, payload.message_id, current, config.chat.historyWindow);
			},

			async publish(this: AiConsumerThis, message: AiMsgPayload): Promise<void> {
				await this.broker.sendToChannel(Chan.AiMsg, message, { persistent: true });
			},
		},

		/** After the mixin's `started` has opened the database. */
		async started(this: AiConsumerThis) {
			this.store = new ChatStore(this.db.sequelize);
			this.inflight = new Map();
			this.characters = new LRUCache({
				max: CACHED_CHARACTERS,
				// A safety net for a change whose broadcast was lost (a node reconnecting to the transporter).
				ttl: CHARACTER_TTL_MS,
				fetchMethod: async (id) => ({ view: await this.broker.call<CharacterView | null, { id: string }>("characters.resolve", { id }) }),
			});
			this.runtime = createChatRuntime(config, this.broker, this.logger);
			this.model = createChatModel(config);
			this.metrics = chatMetrics(this.broker);
			this.logger.info(`Answering with the "${this.model.name}" model`);
		},

		async stopped(this: AiConsumerThis) {
			await this.runtime?.close();
		},
	};
}
