/**
 * The AI side of a chat: answers each `chat.user.msg` with a reply on `chat.ai.msg` (README, "How a message
 * travels", steps 3 and 5).
 * It loads the character (cached action), checks that the user may still view it, loads the recent history (Redis,
 * else PostgreSQL), streams the model, and publishes the finished reply before returning, so the user message is
 * acked only once its reply is on its way. A failure goes out as a `failure` the dispatcher turns into an error frame.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Validators, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import { ConversationMemory } from "../src/adapters/conversation-memory.js";
import { createChatModel, usageOf } from "../src/adapters/llm/factory.js";
import { LlmUnavailableError, type ChatMessage, type ChatModel, type StreamOptions } from "../src/domain/chat-model.js";
import { overridesOf } from "../src/domain/model-settings.js";
import { LlmStatus } from "../src/adapters/llm/status.js";
import { LRUCache } from "lru-cache";
import { CharacterEvent, canView, type CharacterView, type Viewer } from "../src/domain/characters.js";
import {
	Chan,
	ChatEvent,
	ConsumerGroup,
	replyId,
	type AiDeltaFrame,
	type AiMsgPayload,
	type ErrorFrameCode,
	UNAVAILABLE_MESSAGE,
	type StopRequestedPayload,
	type Usage,
	type UserMsgPayload,
} from "../src/domain/chat-wire.js";
import { assemblePrompt } from "../src/domain/prompt.js";

/** A chat's user as the visibility rules and `{{user}}` need them. */
type ChatUser = Viewer & { name: string };

export interface AiConsumerThis extends Service, ChatThis {
	memory: ConversationMemory;
	model: ChatModel;
	/** The model's configuration as last seen (startup check, replies), for /readyz. */
	llmStatus: LlmStatus;
	/**
	 * Characters as `characters.resolve` answered, kept here: the broker's cacher sits with the action, so every
	 * message was a round trip to the node running `characters`. Forgotten when any character changes.
	 */
	characters: LRUCache<string, { view: CharacterView | null }>;
	/** Users by username (id, role, display name), for private characters and messages without `user_name`. */
	users: LRUCache<string, { user: ChatUser | null }>;
	/** Generations in flight per session, so a stop request can abort them. */
	inflight: Map<string, Set<AbortController>>;
	userName(payload: UserMsgPayload, character: CharacterView): Promise<string | null>;
	reportFailure(payload: UserMsgPayload, err: unknown, raw: unknown): Promise<void>;
	generate(
		sessionId: string,
		prompt: ChatMessage[],
		/** The prompt's tokens as counted when it was assembled: the usage unless the provider reports its own. */
		promptTokens: number,
		opts: Pick<StreamOptions, "overrides" | "variant">,
		/** `performance.now()` when the user message was picked up, for the time to first delta. */
		pickedUpAt: number,
		toDelta: (delta: string) => AiDeltaFrame,
	): Promise<{ content: string; stopped: boolean; model: string; usage: Usage }>;
}

const CACHED_CHARACTERS = 10_000;
const CHARACTER_TTL_MS = 60_000;
const CACHED_USERS = 10_000;
const USER_TTL_MS = 60_000;
const MISCONFIGURED_MESSAGE = "The AI model is not set up correctly (its key or model name is refused), so retrying will not help: the operator must fix the model configuration.";
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
	user_name: { type: "string", optional: true },
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

		/** `this.db` (PostgreSQL, for history the cache does not hold), the chat store, runtime and metrics, `publish`. */
		mixins: [ChatMixin(config)],

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
						// A character turned private or inactive answers only those who may still see it: its prompt
						// must not reach the model on anyone else's behalf.
						const userName = character && (await this.userName(payload, character));
						if (!character || !userName) {
							await this.publish(Chan.AiMsg, failure(payload, "character_unavailable", CHARACTER_GONE_MESSAGE));
							return;
						}
						const { message_id, session_id, username, character_id } = payload;
						const session = await this.store.getSession(session_id);
						const history = await this.memory.history(payload);
						const assembled = assemblePrompt(character, history, userName, { budgetTokens: config.chat.promptTokens, summary: session?.summary });
						const variant = payload.variant ?? 0;
						const id = replyId(message_id, variant);
						const toDelta = (delta: string): AiDeltaFrame => ({ type: "ai.delta", id, reply_to: message_id, variant, delta });
						const { content, stopped, model, usage } = await this.generate(session_id, assembled.messages, assembled.tokens, { overrides: overridesOf(character), variant }, pickedUpAt, toDelta);
						// Spent even if the publish below fails and the message is answered again.
						this.metrics.tokens(model, usage);
						this.llmStatus.replied();
						const reply = { id, variant, reply_to: message_id, session_id, username, character_id, content, model, usage };
						await this.publish(Chan.AiMsg, { kind: "reply", ...reply, ...(stopped ? { stopped } : {}) });
						this.logger.debug({ session_id, message_id, variant }, stopped ? "Stopped reply published" : "Reply published");
						if (session) {
							await this.memory.foldSummary(this.model, session, history, assembled.dropped, { char: character.name, user: userName }).catch((err: Error) =>
								this.logger.warn({ session_id }, `Summary update failed: ${err.message}`),
							);
						}
					} catch (err) {
						await this.reportFailure(payload, err, raw);
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
			 * What the character calls the user (`{{user}}`: the display name), or null if they may not view the
			 * character (any more). Public characters need no lookup when chat-ws named the user; private and
			 * inactive ones are checked against the user's id and role.
			 */
			async userName(this: AiConsumerThis, payload: UserMsgPayload, character: CharacterView): Promise<string | null> {
				const open = canView(character, null);
				if (open && payload.user_name) return payload.user_name;
				const user = (await this.users.fetch(payload.username))?.user ?? null;
				if (!open && !canView(character, user)) return null;
				return payload.user_name ?? user?.name ?? payload.username;
			},

			/** Reports a failed reply: a provider failure at once (the adapter retried what was worth it), others at the last attempt. */
			async reportFailure(this: AiConsumerThis, payload: UserMsgPayload, err: unknown, raw: unknown) {
				const ids = { session_id: payload.session_id, message_id: payload.message_id };
				if (err instanceof LlmUnavailableError) {
					this.metrics.llmError(err);
					this.llmStatus.failed(err);
					const misconfigured = err.reason === "misconfigured";
					this.logger[misconfigured ? "error" : "warn"](ids, `No reply: ${err.message}`);
					await this.publish(Chan.AiMsg, misconfigured ? failure(payload, "ai_misconfigured", MISCONFIGURED_MESSAGE) : failure(payload, "ai_unavailable", UNAVAILABLE_MESSAGE));
					return;
				}
				const last = isLastAttempt(raw, config.chat.maxRetries);
				this.logger.warn(ids, `Reply failed${last ? ", giving up" : ", will retry"}: ${(err as Error).message}`);
				// The user hears about it once; the message itself goes to the dead-letter queue (cluster).
				if (last) {
					await this.publish(Chan.AiMsg, failure(payload, "ai_unavailable", UNAVAILABLE_MESSAGE)).catch((publishErr: Error) =>
						// The outbox sweep reports it later; the original error is the one worth rethrowing.
						this.logger.error(ids, `Could not report the failed reply: ${publishErr.message}`),
					);
				} else await sleep(RETRY_PAUSE_MS);
				throw err;
			},

			/**
			 * Streams the model, pushing each chunk to the session's sockets as a delta (best effort). A stop request
			 * ends it early: the partial reply is returned, marked stopped.
			 */
			async generate(this: AiConsumerThis, sessionId: string, prompt: ChatMessage[], promptTokens: number, opts: Pick<StreamOptions, "overrides" | "variant">, pickedUpAt: number, toDelta: (delta: string) => AiDeltaFrame) {
				const controller = new AbortController();
				const running = this.inflight.get(sessionId) ?? new Set<AbortController>();
				this.inflight.set(sessionId, running.add(controller));
				const deltas = await this.runtime.delivery.openDeltaStream(sessionId);
				let content = "";
				const stream = this.model.stream(prompt, { ...opts, signal: controller.signal });
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
		},

		/** After the mixin's `started` (database, store, runtime, metrics). */
		async started(this: AiConsumerThis) {
			this.inflight = new Map();
			const { User } = this.db.models;
			this.users = new LRUCache({
				max: CACHED_USERS,
				ttl: USER_TTL_MS,
				fetchMethod: async (username) => ({ user: (await User.findOne({ where: { username }, attributes: ["id", "role", "name"], raw: true })) as ChatUser | null }),
			});
			this.characters = new LRUCache({
				max: CACHED_CHARACTERS,
				// A safety net for a change whose broadcast was lost (a node reconnecting to the transporter).
				ttl: CHARACTER_TTL_MS,
				fetchMethod: async (id) => ({ view: await this.broker.call<CharacterView | null, { id: string }>("characters.resolve", { id }) }),
			});
			this.memory = new ConversationMemory(this.store, this.runtime.history, config.chat);
			this.model = createChatModel(config, {
				onRefusedModel: (name) => this.logger.warn(`A character asks for model "${name}", which LLM_ALLOWED_MODELS does not list: answering with ${this.model.name}`),
			});
			this.logger.info(`Answering with the "${this.model.name}" model`);
			this.llmStatus = new LlmStatus(this.model, this.logger);
			this.llmStatus.checkAtStart();
		},
	};
}
