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
import { Generations, type Generated } from "../src/adapters/generations.js";
import { createChatModel } from "../src/adapters/llm/factory.js";
import { LlmUnavailableError, type ChatModel } from "../src/domain/chat-model.js";
import { overridesOf } from "../src/domain/model-settings.js";
import { LlmStatus } from "../src/adapters/llm/status.js";
import { LRUCache } from "lru-cache";
import { CharacterEvent, canView, type CharacterView, type Viewer } from "../src/domain/characters.js";
import {
	Chan,
	ChatEvent,
	ConsumerGroup,
	failurePayload,
	replyPayload,
	UNAVAILABLE_MESSAGE,
	type StopRequestedPayload,
	type UserMsgPayload,
} from "../src/domain/chat-wire.js";
import { assemblePrompt, type AssembledPrompt } from "../src/domain/prompt.js";
import type { HistoryEntry } from "../src/domain/history.js";
import type { SessionRow } from "../src/adapters/chat-store.js";

/** A chat's user as the visibility rules and `{{user}}` need them. */
type ChatUser = Viewer & { name: string };

/** Whom a message speaks to, and what the character calls its sender. */
export interface Speakers {
	character: CharacterView;
	userName: string;
}

/** The prompt made for a message, and what the rolling summary needs once the reply is out. */
export interface Prompted {
	session: SessionRow | null;
	history: HistoryEntry[];
	prompt: AssembledPrompt;
}

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
	/** The replies being streamed, so a stop request can abort them. */
	generations: Generations;
	isWellFormed(payload: UserMsgPayload): boolean;
	lookUp(payload: UserMsgPayload): Promise<Speakers | null>;
	userName(payload: UserMsgPayload, character: CharacterView): Promise<string | null>;
	assemble(payload: UserMsgPayload, speakers: Speakers): Promise<Prompted>;
	meter(reply: Generated): void;
	publishReply(payload: UserMsgPayload, reply: Generated): Promise<void>;
	foldSummary(payload: UserMsgPayload, speakers: Speakers, prompted: Prompted): Promise<void>;
	reportFailure(payload: UserMsgPayload, err: unknown, raw: unknown): Promise<void>;
	reportUnavailable(payload: UserMsgPayload, err: LlmUnavailableError): Promise<void>;
	giveUpOrPause(payload: UserMsgPayload, err: unknown, raw: unknown): Promise<void>;
}

const CACHED_CHARACTERS = 10_000;
const CHARACTER_TTL_MS = 60_000;
const CACHED_USERS = 10_000;
const USER_TTL_MS = 60_000;
const MISCONFIGURED_MESSAGE =
	"The AI model is not set up correctly (its key or model name is refused), so retrying will not help: " +
	"the operator must fix the model configuration.";
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

export default function aiConsumerService(config: Config): ServiceSchema<ServiceSettingSchema, AiConsumerThis> {
	return {
		name: "ai-consumer",

		/** `this.db` (history the cache does not hold), the chat store, runtime and metrics, `publish`. */
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
					if (!this.isWellFormed(payload)) return;
					const pickedUpAt = performance.now();
					try {
						const speakers = await this.lookUp(payload);
						if (!speakers) {
							const gone = failurePayload(payload, "character_unavailable", CHARACTER_GONE_MESSAGE);
							return await this.publish(Chan.AiMsg, gone);
						}
						const prompted = await this.assemble(payload, speakers);
						const reply = await this.generations.generate({
							model: this.model,
							message: payload,
							prompt: prompted.prompt,
							overrides: overridesOf(speakers.character),
							pickedUpAt,
						});
						this.meter(reply);
						await this.publishReply(payload, reply);
						await this.foldSummary(payload, speakers, prompted);
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
					this.generations.stop(ctx.params.session_id);
				},
			},
		},

		methods: {
			/** Retrying cannot fix a malformed message: it is logged (no contents) and acked. */
			isWellFormed(this: AiConsumerThis, payload: UserMsgPayload): boolean {
				if (checkPayload(payload) === true) return true;
				this.logger.error("Dropping a malformed chat.user.msg payload", { fields: Object.keys(payload ?? {}) });
				return false;
			},

			/**
			 * The character and what it calls the user, or null if it is gone or the user may no longer see it: a
			 * character turned private or inactive must not reach the model on anyone else's behalf.
			 */
			async lookUp(this: AiConsumerThis, payload: UserMsgPayload): Promise<Speakers | null> {
				const character = (await this.characters.fetch(payload.character_id))?.view;
				const userName = character && (await this.userName(payload, character));
				return character && userName ? { character, userName } : null;
			},

			/**
			 * What the character calls the user (`{{user}}`: the display name), or null if they may not view the
			 * character (any more). Public characters need no lookup when chat-ws named the user; private and
			 * inactive ones are checked against the user's id and role.
			 */
			async userName(this: AiConsumerThis, payload: UserMsgPayload, character: CharacterView) {
				const open = canView(character, null);
				if (open && payload.user_name) return payload.user_name;
				const user = (await this.users.fetch(payload.username))?.user ?? null;
				if (!open && !canView(character, user)) return null;
				return payload.user_name ?? user?.name ?? payload.username;
			},

			/** The prompt: the character, the session's summary and as much recent history as the budget holds. */
			async assemble(this: AiConsumerThis, payload: UserMsgPayload, { character, userName }: Speakers) {
				const session = await this.store.getSession(payload.session_id);
				const history = await this.memory.history(payload);
				const budget = { budgetTokens: config.chat.promptTokens, summary: session?.summary };
				return { session, history, prompt: assemblePrompt(character, history, userName, budget) };
			},

			/** Counts what the reply cost: spent even if the publish fails and the message is answered again. */
			meter(this: AiConsumerThis, reply: Generated) {
				this.metrics.tokens(reply.model, reply.usage);
				this.llmStatus.replied();
			},

			async publishReply(this: AiConsumerThis, payload: UserMsgPayload, reply: Generated) {
				await this.publish(Chan.AiMsg, replyPayload(payload, reply));
				const { session_id, message_id, variant = 0 } = payload;
				const what = reply.stopped ? "Stopped reply published" : "Reply published";
				this.logger.debug({ session_id, message_id, variant }, what);
			},

			/** Turns that no longer fit the prompt go into the rolling summary; a failure only leaves it stale. */
			async foldSummary(this: AiConsumerThis, payload: UserMsgPayload, speakers: Speakers, prompted: Prompted) {
				const { session, history, prompt } = prompted;
				const session_id = payload.session_id;
				if (!session) return;
				const names = { char: speakers.character.name, user: speakers.userName };
				await this.memory
					.foldSummary(this.model, session, history, prompt.dropped, names)
					.catch((err: Error) => this.logger.warn({ session_id }, `Summary update failed: ${err.message}`));
			},

			/**
			 * Reports a failed reply: a provider failure at once (the adapter retried what was worth it) and acks it,
			 * others at the last attempt, rethrown so the message goes back to the queue.
			 */
			async reportFailure(this: AiConsumerThis, payload: UserMsgPayload, err: unknown, raw: unknown) {
				if (err instanceof LlmUnavailableError) return this.reportUnavailable(payload, err);
				await this.giveUpOrPause(payload, err, raw);
				throw err;
			},

			async reportUnavailable(this: AiConsumerThis, payload: UserMsgPayload, err: LlmUnavailableError) {
				this.metrics.llmError(err);
				this.llmStatus.failed(err);
				const misconfigured = err.reason === "misconfigured";
				const ids = { session_id: payload.session_id, message_id: payload.message_id };
				this.logger[misconfigured ? "error" : "warn"](ids, `No reply: ${err.message}`);
				const failure = misconfigured
					? failurePayload(payload, "ai_misconfigured", MISCONFIGURED_MESSAGE)
					: failurePayload(payload, "ai_unavailable", UNAVAILABLE_MESSAGE);
				await this.publish(Chan.AiMsg, failure);
			},

			/** The user hears about it once, at the last attempt; the message itself is dead-lettered (cluster). */
			async giveUpOrPause(this: AiConsumerThis, payload: UserMsgPayload, err: unknown, raw: unknown) {
				const ids = { session_id: payload.session_id, message_id: payload.message_id };
				const last = isLastAttempt(raw, config.chat.maxRetries);
				this.logger.warn(ids, `Reply failed, ${last ? "giving up" : "will retry"}: ${(err as Error).message}`);
				if (!last) return void (await sleep(RETRY_PAUSE_MS));
				// The outbox sweep reports it later if this fails; the original error is the one worth rethrowing.
				await this.publish(Chan.AiMsg, failurePayload(payload, "ai_unavailable", UNAVAILABLE_MESSAGE)).catch(
					(publishErr: Error) => this.logger.error(ids, `Could not report the failed reply: ${publishErr.message}`),
				);
			},
		},

		/** After the mixin's `started` (database, store, runtime, metrics). */
		async started(this: AiConsumerThis) {
			const { User } = this.db.models;
			this.users = new LRUCache({
				max: CACHED_USERS,
				ttl: USER_TTL_MS,
				fetchMethod: async (username) => {
					const user = await User.findOne({ where: { username }, attributes: ["id", "role", "name"], raw: true });
					return { user: user as ChatUser | null };
				},
			});
			this.characters = new LRUCache({
				max: CACHED_CHARACTERS,
				// A safety net for a change whose broadcast was lost (a node reconnecting to the transporter).
				ttl: CHARACTER_TTL_MS,
				fetchMethod: async (id) => ({
					view: await this.broker.call<CharacterView | null, { id: string }>("characters.resolve", { id }),
				}),
			});
			this.memory = new ConversationMemory(this.store, this.runtime.history, config.chat);
			this.generations = new Generations({ delivery: this.runtime.delivery, metrics: this.metrics });
			this.model = createChatModel(config, {
				onRefusedModel: (name) =>
					this.logger.warn(
						`A character asks for model "${name}", which LLM_ALLOWED_MODELS does not list: ` +
							`answering with ${this.model.name}`,
					),
			});
			this.logger.info(`Answering with the "${this.model.name}" model`);
			this.llmStatus = new LlmStatus(this.model, this.logger);
			this.llmStatus.checkAtStart();
		},
	};
}
