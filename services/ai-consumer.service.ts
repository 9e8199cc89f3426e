/**
 * The AI side of a chat: answers each `chat.user.msg` with a reply on `chat.ai.msg` (README, "How a message
 * travels", steps 3 and 5).
 * It loads the character (cached action), checks that the user may still view it, loads the recent history (Redis,
 * else PostgreSQL), streams the model, and publishes the finished reply before returning, so the user message is
 * acked only once its reply is on its way. A failure goes out as a `failure` the dispatcher turns into an error frame.
 * A `continue` (`continue_id`) is answered the same way with the reply's longer text (a `continuation`); an
 * `impersonate` is an action whose answer, the user's suggested next line, is a stream to chat-ws only.
 */
import type { Readable } from "node:stream";
import { type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import PromptInspectorMixin, { type PromptInspectorThis } from "../mixins/prompt-inspector.mixin.js";
import { ConversationMemory } from "../src/adapters/conversation-memory.js";
import { Generations, type Generated } from "../src/adapters/generations.js";
import { createChatModel } from "../src/adapters/llm/factory.js";
import { OwnModels, OWN_KEY_METRIC_LABEL, type ChosenModel } from "../src/adapters/llm/own-models.js";
import { OwnProviderStore } from "../src/adapters/own-provider-store.js";
import { LlmUnavailableError, type ChatModel } from "../src/domain/chat-model.js";
import { overridesOf } from "../src/domain/model-settings.js";
import { LlmStatus } from "../src/adapters/llm/status.js";
import { chatPrompts, type ChatPrompts, type Speakers } from "../src/adapters/speakers.js";
import { cannotImpersonate, impersonationStream } from "../src/adapters/impersonations.js";
import { createChatQuotas, type ChatQuotas } from "../src/adapters/quotas.js";
import { ReplyFailures, unavailableMessage } from "../src/adapters/reply-failures.js";
import { CharacterEvent } from "../src/domain/characters.js";
import { PersonaEvent, type PersonaChangedPayload } from "../src/domain/personas.js";
import { OwnProviderEvent, type OwnProviderChangedPayload } from "../src/domain/own-provider.js";
import { LorebookEvent } from "../src/domain/lorebook.js";
import type { AssembledPrompt } from "../src/domain/prompt.js";
import {
	Chan,
	ChatEvent,
	ConsumerGroup,
	continuationPayload,
	failurePayload,
	isUserMsgPayload,
	replyIdOf,
	replyPayload,
	type ImpersonateParams,
	type StopRequestedPayload,
	type UserMsgPayload,
} from "../src/domain/chat-wire.js";

export interface AiConsumerThis extends Service, ChatThis, PromptInspectorThis {
	memory: ConversationMemory;
	/** The operator's model. */
	model: ChatModel;
	/** Each user's: their own provider's (issue 17) or the operator's. */
	models: OwnModels;
	/** The model's configuration as last seen (startup check, replies), for /readyz. */
	llmStatus: LlmStatus;
	/** Who speaks in a chat and what they know (cached lookups), and the prompts made for it. */
	prompts: ChatPrompts;
	/** Reports what could not be answered. */
	failures: ReplyFailures;
	/** The replies being streamed, so a stop request can abort them. */
	generations: Generations;
	/** An impersonation's tokens count against the user's daily quota here (replies' in the dispatcher). */
	quotas: ChatQuotas;
	isWellFormed(payload: UserMsgPayload): boolean;
	continueReply(payload: UserMsgPayload, speakers: Speakers, chosen: ChosenModel, pickedUpAt: number): Promise<void>;
	impersonate(params: ImpersonateParams): Promise<Readable>;
	meter(reply: Pick<Generated, "model" | "usage">, chosen: ChosenModel): void;
	publishReply(payload: UserMsgPayload, reply: Generated, prompt: AssembledPrompt, own: boolean): Promise<void>;
}

const CHARACTER_GONE_MESSAGE = "This character is no longer available.";

export default function aiConsumerService(config: Config): ServiceSchema<ServiceSettingSchema, AiConsumerThis> {
	return {
		name: "ai-consumer",

		/** `this.db` (history the cache does not hold), the chat store, runtime and metrics, `publish`. */
		/** The prompts of the latest replies of each session, for the prompt inspector: `this.records`. */
		mixins: [ChatMixin(config), PromptInspectorMixin(config)],

		/** Characters come from `characters.resolve`: no consuming before it can answer. */
		dependencies: ["characters"],

		actions: {
			/**
			 * The user's next line as the model would write it in their voice: a stream of text for chat-ws, which
			 * shows it to the asking socket only. Never stored. `cannot_impersonate` when no suggestion can be made.
			 */
			impersonate: {
				visibility: "public",
				params: {
					session_id: "uuid",
					username: "string|min:1",
					character_id: "uuid",
					user_name: { type: "string", optional: true },
				},
				handler(this: AiConsumerThis, ctx: Context<ImpersonateParams>): Promise<Readable> {
					return this.impersonate(ctx.params);
				},
			},
		},

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
					let own = false;
					try {
						const speakers = await this.prompts.lookUp(payload);
						if (!speakers) {
							const gone = failurePayload(payload, "character_unavailable", CHARACTER_GONE_MESSAGE);
							return await this.publish(Chan.AiMsg, gone);
						}
						const chosen = await this.models.for(payload.username);
						own = chosen.own;
						if (payload.continue_id) return await this.continueReply(payload, speakers, chosen, pickedUpAt);
						const prompted = await this.prompts.assemble(payload, speakers, chosen.model);
						const reply = await this.generations.generate({
							model: chosen.model,
							message: payload,
							prompt: prompted.prompt,
							overrides: overridesOf(speakers.character, prompted.session?.preset),
							pickedUpAt,
						});
						this.meter(reply, chosen);
						// A rewind stopped it: the message it answered, or the variant it replaced, is gone.
						if (reply.discarded) return;
						await this.publishReply(payload, reply, prompted.prompt, own);
						// Turns that no longer fit the prompt go into the rolling summary; a failure only leaves it stale.
						await this.memory
							.foldSummary(chosen.model, prompted)
							.catch((err: Error) =>
								this.logger.warn({ session_id: payload.session_id }, `Summary update failed: ${err.message}`),
							);
					} catch (err) {
						await this.failures.report(payload, err, raw, own);
					}
				},
			},
		},

		/** Changes to what a prompt is made of, and stop requests, are broadcast: every node hears them. */
		events: {
			[CharacterEvent.Changed]: {
				handler(this: AiConsumerThis) {
					this.prompts.forgetCharacters();
				},
			},

			[PersonaEvent.Changed]: {
				handler(this: AiConsumerThis, ctx: Context<PersonaChangedPayload>) {
					this.prompts.forgetPersonas(ctx.params.user_id);
				},
			},

			[LorebookEvent.Changed]: {
				handler(this: AiConsumerThis) {
					this.prompts.forgetLorebooks();
				},
			},

			[OwnProviderEvent.Changed]: {
				handler(this: AiConsumerThis, ctx: Context<OwnProviderChangedPayload>) {
					this.models.forget(ctx.params.username);
				},
			},

			[ChatEvent.StopRequested]: {
				handler(this: AiConsumerThis, ctx: Context<StopRequestedPayload>) {
					this.generations.stop(ctx.params.session_id, ctx.params.discard);
				},
			},
		},

		methods: {
			/** Retrying cannot fix a malformed message: it is logged (no contents) and acked. */
			isWellFormed(this: AiConsumerThis, payload: UserMsgPayload): boolean {
				if (isUserMsgPayload(payload)) return true;
				this.logger.error("Dropping a malformed chat.user.msg payload", { fields: Object.keys(payload ?? {}) });
				return false;
			},

			/** Extends the reply by what the model adds; nothing if the reply was rewound meanwhile. */
			async continueReply(
				this: AiConsumerThis,
				payload: UserMsgPayload,
				speakers: Speakers,
				chosen: ChosenModel,
				pickedUpAt: number,
			) {
				const continued = await this.prompts.continuation(payload, speakers, chosen.model);
				const ids = { session_id: payload.session_id, message_id: payload.continue_id };
				if (!continued) return void this.logger.debug(ids, "Nothing to continue: the reply is gone");
				const { reply, prompt, session } = continued;
				const overrides = overridesOf(speakers.character, session?.preset);
				const more = await this.generations.generate({
					...{ model: chosen.model, message: payload, prompt, overrides, pickedUpAt, continuing: reply },
				});
				this.meter(more, chosen);
				if (more.discarded) return;
				const whole = { ...more, content: reply.content + more.content, own_key: chosen.own };
				await this.publish(Chan.AiMsg, continuationPayload(payload, reply, whole));
				this.records.record(reply.id, payload.session_id, prompt, more.model);
				this.logger.debug(ids, more.stopped ? "Stopped continuation published" : "Continuation published");
			},

			/** The suggestion's stream, once the model has started writing it; its tokens are counted when it ends. */
			async impersonate(this: AiConsumerThis, params: ImpersonateParams): Promise<Readable> {
				const speakers = await this.prompts.lookUp(params);
				if (!speakers) throw cannotImpersonate(CHARACTER_GONE_MESSAGE);
				const chosen = await this.models.for(params.username);
				const { prompt, session } = await this.prompts.impersonation(params, speakers, chosen.model);
				const onDone = (spent: Pick<Generated, "model" | "usage">) => {
					this.meter(spent, chosen);
					if (chosen.own) return;
					const tokens = spent.usage.input_tokens + spent.usage.output_tokens;
					this.quotas
						.addTokens(params.username, tokens)
						.catch((err) => this.logger.warn("Token quota update failed:", err));
				};
				const overrides = overridesOf(speakers.character, session?.preset);
				return impersonationStream({ model: chosen.model, prompt, overrides, onDone }).catch((err: unknown) => {
					if (!(err instanceof LlmUnavailableError)) throw err;
					this.metrics.llmError(err);
					if (!chosen.own) this.llmStatus.failed(err);
					throw cannotImpersonate(unavailableMessage(err, chosen.own));
				});
			},

			/**
			 * Counts what the reply cost: spent even if the publish fails and the message is answered again. A user's own
			 * provider says nothing about the operator's (/readyz).
			 */
			meter(this: AiConsumerThis, reply: Pick<Generated, "model" | "usage">, chosen: ChosenModel) {
				this.metrics.tokens(chosen.own ? OWN_KEY_METRIC_LABEL : reply.model, reply.usage);
				if (!chosen.own) this.llmStatus.replied();
			},

			async publishReply(
				this: AiConsumerThis,
				payload: UserMsgPayload,
				reply: Generated,
				prompt: AssembledPrompt,
				own: boolean,
			) {
				await this.publish(Chan.AiMsg, replyPayload(payload, { ...reply, own_key: own }));
				this.records.record(replyIdOf(payload), payload.session_id, prompt, reply.model);
				const { session_id, message_id, variant = 0 } = payload;
				const what = reply.stopped ? "Stopped reply published" : "Reply published";
				this.logger.debug({ session_id, message_id, variant }, what);
			},
		},

		/** After the mixin's `started` (database, store, runtime, metrics). */
		async started(this: AiConsumerThis) {
			const { sequelize } = this.db;
			this.memory = new ConversationMemory(this.store, this.runtime.history, config.chat);
			this.prompts = chatPrompts({ broker: this.broker, sequelize, store: this.store, memory: this.memory, config });
			this.generations = new Generations({ delivery: this.runtime.delivery, metrics: this.metrics });
			this.quotas = createChatQuotas(config);
			this.model = createChatModel(config, {
				onRefusedModel: (name) =>
					this.logger.warn(
						`A character or chat preset asks for model "${name}", which LLM_ALLOWED_MODELS no longer lists: ` +
							`answering with ${this.model.name}`,
					),
			});
			this.models = new OwnModels(new OwnProviderStore(sequelize), config, () => this.model);
			this.logger.info(`Answering with the "${this.model.name}" model`);
			this.llmStatus = new LlmStatus(this.model, this.logger);
			this.llmStatus.checkAtStart();
			const { publish, metrics, logger, llmStatus } = this;
			this.failures = new ReplyFailures({ publish, metrics, logger, llmStatus, maxRetries: config.chat.maxRetries });
		},

		async stopped(this: AiConsumerThis) {
			await this.quotas?.close();
		},
	};
}
