/**
 * The /v1 API's generations (issue 18): OpenAI's Chat Completions, where the model is a cameo character the caller
 * may see. Stateless: the client sends the conversation, cameo builds the character's prompt around it (card,
 * lorebooks, the user's default persona; src/domain/completions.ts) and answers it as a whole or as server-sent
 * events, nothing stored. With `session_id` the last message goes into one of the caller's chats instead, answered
 * there by the normal pipeline (src/adapters/session-completions.ts). The same per-user message limit and daily token
 * quota as the WebSocket hold, and the tokens count against them and in the metrics as replies' do. Runs in the
 * ai-consumer role; the gateway's route is src/adapters/openai-route.ts.
 */
import { randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import { ConversationMemory } from "../src/adapters/conversation-memory.js";
import { chatPrompts, type ChatPrompts } from "../src/adapters/speakers.js";
import { createChatQuotas, defaultLimits, type ChatQuotas } from "../src/adapters/quotas.js";
import { UserLimits } from "../src/adapters/user-limits.js";
import { answerCompletion, completionText, CompletionRuns, type Spent } from "../src/adapters/completion-runs.js";
import { createChatModel } from "../src/adapters/llm/factory.js";
import { LlmUnavailableError, type ChatModel } from "../src/domain/chat-model.js";
import { AdminEvent, type LimitsChangedPayload } from "../src/domain/admin.js";
import { CharacterEvent, type CharacterSummary } from "../src/domain/characters.js";
import { PersonaEvent, type PersonaChangedPayload } from "../src/domain/personas.js";
import { LorebookEvent } from "../src/domain/lorebook.js";
import { isUuid } from "../src/domain/uuid.js";
import {
	characterIdOf,
	completionOverrides,
	completionPrompt,
	conversationOf,
	modelEntries,
} from "../src/domain/completions.js";
import { ChatEvent, type Publish } from "../src/domain/chat-wire.js";
import { answerInSession, type SessionCompletionDeps } from "../src/adapters/session-completions.js";
import { OwnModels, OWN_KEY_METRIC_LABEL } from "../src/adapters/llm/own-models.js";
import { OwnProviderStore } from "../src/adapters/own-provider-store.js";
import { OwnProviderEvent, type OwnProviderChangedPayload } from "../src/domain/own-provider.js";
import {
	CompletionEvent,
	MAX_MESSAGES,
	MAX_MODEL_CHARS,
	MAX_STOP_SEQUENCES,
	completionHead,
	modelList,
	type CompletionAbandonedPayload,
	type CompletionMeta,
	type CompletionRequest,
	type ModelEntry,
} from "../src/domain/openai-wire.js";
import { ModelNotFound, ProviderUnavailable, RateLimited, TokenQuotaExceeded, Unauthorized } from "../src/errors.js";

export interface CompletionsThis extends Service, ChatThis {
	model: ChatModel;
	prompts: ChatPrompts;
	quotas: ChatQuotas;
	userLimits: UserLimits;
	runs: CompletionRuns;
	/** What the stored-session mode needs: posting a message as chat-ws would, and reading its reply back. */
	sessions: SessionCompletionDeps;
	/** Each user's model: their own provider's (issue 17) or the operator's. */
	models: OwnModels;
	visibleCharacters(ctx: Context<unknown, CompletionMeta>): Promise<CharacterSummary[]>;
	admit(username: string): Promise<void>;
	complete(ctx: Context<CompletionRequest, CompletionMeta>): ReturnType<typeof answerCompletion>;
	spend(username: string, spent: Spent, own: boolean): void;
	refusalOf(err: unknown, own: boolean): unknown;
}

/** The most characters GET /v1/models lists (and a slug can name), in pages of characters.list. */
const MAX_LISTED_MODELS = 1000;
const LIST_PAGE = 100;

const MISCONFIGURED = "The AI model is not set up correctly: the operator must fix the model configuration";
const UNAVAILABLE = "The AI model is unavailable right now; try again shortly";
const OWN_KEY_REFUSED =
	"Your own AI provider refused the request (its key, model or address): check it on your account";

function callerOf(meta: CompletionMeta): NonNullable<CompletionMeta["user"]> {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

export default function completionsService(config: Config): ServiceSchema<ServiceSettingSchema, CompletionsThis> {
	return {
		name: "completions",

		/** `this.db` (users, personas, lorebooks), the chat store and runtime the prompts read through, the metrics. */
		mixins: [ChatMixin(config)],

		/** Characters come from `characters.list` and `characters.resolve`. */
		dependencies: ["characters"],

		actions: {
			/** GET /v1/models: the characters the caller can see, as models. */
			models: {
				description: "The characters you can chat with, as OpenAI models (the id is the slug, or the UUID)",
				params: {},
				async handler(this: CompletionsThis, ctx: Context<unknown, CompletionMeta>) {
					const caller = callerOf(ctx.meta);
					return modelList(modelEntries(await this.visibleCharacters(ctx), caller.id));
				},
			},

			/** GET /v1/models/{model}: one of them. */
			model: {
				description: "One character as an OpenAI model",
				params: { model: { type: "string", min: 1, max: MAX_MODEL_CHARS } },
				async handler(this: CompletionsThis, ctx: Context<{ model: string }, CompletionMeta>): Promise<ModelEntry> {
					const caller = callerOf(ctx.meta);
					const characters = await this.visibleCharacters(ctx);
					const id = characterIdOf(ctx.params.model, characters, caller.id);
					const entry = modelEntries(characters, caller.id)[characters.findIndex((c) => c.id === id)];
					if (!entry) throw ModelNotFound(ctx.params.model);
					return entry;
				},
			},

			/**
			 * POST /v1/chat/completions, its body checked by the route (parseCompletionRequest): a `chat.completion`, or
			 * a stream of `chat.completion.chunk` events once the model has started writing.
			 */
			create: {
				description:
					"Chat with a character through OpenAI's Chat Completions API: stateless, or in one of your chats (session_id)",
				// A provider's outage answers 503s, which must not close this action's endpoints to the gateway: its
				// clients would be told 404 "not available" instead, and for a while after the provider is back.
				circuitBreaker: { enabled: false },
				params: {
					model: { type: "string", min: 1, max: MAX_MODEL_CHARS },
					messages: {
						type: "array",
						min: 1,
						max: MAX_MESSAGES,
						items: {
							type: "object",
							strict: "remove",
							props: { role: { type: "enum", values: ["system", "user", "assistant"] }, content: "string" },
						},
					},
					stream: "boolean",
					include_usage: "boolean",
					temperature: { type: "number", min: 0, max: 2, optional: true },
					top_p: { type: "number", min: 0, max: 1, optional: true },
					max_tokens: { type: "number", integer: true, min: 1, optional: true },
					stop: { type: "array", items: "string", max: MAX_STOP_SEQUENCES },
					user: { type: "string", optional: true },
					session_id: { type: "uuid", optional: true },
				},
				handler(this: CompletionsThis, ctx: Context<CompletionRequest, CompletionMeta>) {
					return this.complete(ctx);
				},
			},
		},

		/** What a prompt is made of changed, a user's limits changed, or a client went away: every node hears it. */
		events: {
			[CharacterEvent.Changed](this: CompletionsThis) {
				this.prompts.forgetCharacters();
			},
			[PersonaEvent.Changed](this: CompletionsThis, ctx: Context<PersonaChangedPayload>) {
				this.prompts.forgetPersonas(ctx.params.user_id);
			},
			[LorebookEvent.Changed](this: CompletionsThis) {
				this.prompts.forgetLorebooks();
			},
			[AdminEvent.LimitsChanged](this: CompletionsThis, ctx: Context<LimitsChangedPayload>) {
				this.userLimits.drop(ctx.params.username);
			},
			[OwnProviderEvent.Changed](this: CompletionsThis, ctx: Context<OwnProviderChangedPayload>) {
				this.models.forget(ctx.params.username);
			},
			[CompletionEvent.Abandoned](this: CompletionsThis, ctx: Context<CompletionAbandonedPayload>) {
				this.runs.abandon(ctx.params.id);
			},
		},

		methods: {
			/** What GET /characters would list for the caller, every page (up to MAX_LISTED_MODELS). */
			async visibleCharacters(this: CompletionsThis, ctx: Context<unknown, CompletionMeta>) {
				const characters: CharacterSummary[] = [];
				for (let offset = 0; offset < MAX_LISTED_MODELS; offset += LIST_PAGE) {
					const page = await ctx.call<CharacterSummary[], object>("characters.list", { limit: LIST_PAGE, offset });
					characters.push(...page);
					if (page.length < LIST_PAGE) break;
				}
				return characters;
			},

			/** The WebSocket's per-user limits: one message per completion, none once the day's tokens are spent. */
			async admit(this: CompletionsThis, username: string) {
				const refused = await this.quotas.admitMessage(username);
				if (!refused) return;
				const retryAfter = refused.retry_after ?? 60;
				if (refused.code === "quota_exceeded") throw TokenQuotaExceeded(retryAfter, refused.message);
				throw RateLimited(retryAfter, refused.message);
			},

			/** The model named, the caller's limits, then the character's prompt around the client's messages, answered. */
			async complete(this: CompletionsThis, ctx: Context<CompletionRequest, CompletionMeta>) {
				const request = ctx.params;
				const caller = callerOf(ctx.meta);
				const { id: userId, username } = caller;
				const characterId = isUuid(request.model)
					? request.model.toLowerCase()
					: characterIdOf(request.model, await this.visibleCharacters(ctx), userId);
				const speakers = characterId && (await this.prompts.lookUp({ character_id: characterId, username }));
				if (!speakers) throw ModelNotFound(request.model);
				const id = ctx.meta.completion_id ?? randomUUID();
				if (request.session_id) return answerInSession(this.sessions, request, caller, speakers.character.id, id);
				await this.admit(username);

				const { model, own } = await this.models.for(username);
				const { names, options } = await this.prompts.detached(speakers, conversationOf(request.messages), model);
				const prompt = completionPrompt(speakers.character, request.messages, names.user, options);
				const overrides = completionOverrides(speakers.character, request);
				const controller = this.runs.begin(id);
				let spent: Spent | undefined;
				const text = completionText(
					{ model, prompt, overrides, stop: request.stop, signal: controller.signal },
					(s) => {
						spent = s;
						this.spend(username, s, own);
					},
				);
				return answerCompletion({
					stream: request.stream,
					includeUsage: request.include_usage,
					head: completionHead(id, request.model),
					text,
					usage: () => spent?.usage ?? { input_tokens: prompt.tokens, output_tokens: 0 },
					controller,
					refusalOf: (err) => this.refusalOf(err, own),
					onEnd: () => this.runs.end(id),
				});
			},

			/**
			 * What a completion cost counts in the metrics and against the user's daily tokens, as a reply's does; with
			 * their own key, in the metrics only (labelled own-key).
			 */
			spend(this: CompletionsThis, username: string, spent: Spent, own: boolean) {
				this.metrics.tokens(own ? OWN_KEY_METRIC_LABEL : spent.model, spent.usage);
				if (own) return;
				const tokens = spent.usage.input_tokens + spent.usage.output_tokens;
				this.quotas.addTokens(username, tokens).catch((err) => this.logger.warn("Token quota update failed:", err));
			},

			/** A provider that could not answer is a 503 in the client's terms; anything else stays as it is. */
			refusalOf(this: CompletionsThis, err: unknown, own: boolean): unknown {
				if (!(err instanceof LlmUnavailableError)) return err;
				this.metrics.llmError(err);
				this.logger.warn(`Completion failed: ${err.message}`);
				if (err.reason !== "misconfigured") return ProviderUnavailable(UNAVAILABLE);
				return ProviderUnavailable(own ? OWN_KEY_REFUSED : MISCONFIGURED);
			},
		},

		/** After the mixin's `started` (database, store, runtime, metrics). */
		async started(this: CompletionsThis) {
			const { sequelize } = this.db;
			const memory = new ConversationMemory(this.store, this.runtime.history, config.chat);
			this.prompts = chatPrompts({ broker: this.broker, sequelize, store: this.store, memory, config });
			this.userLimits = new UserLimits(sequelize, defaultLimits(config));
			this.quotas = createChatQuotas(config, this.userLimits);
			this.runs = new CompletionRuns();
			const publish: Publish = (channel, payload) => this.publish(channel, payload);
			const { history, delivery } = this.runtime;
			this.sessions = {
				posts: { store: this.store, history, delivery, metrics: this.metrics, publish, logger: this.logger },
				runs: this.runs,
				timeoutMs: config.chat.replyTimeoutSeconds * 1000,
				maxContentChars: config.chat.maxContentChars,
				admit: (username) => this.admit(username),
				stop: (session_id) => void this.broker.broadcast(ChatEvent.StopRequested, { session_id }),
				promptTokens: async (id, message_id, user) => {
					const params = { id, message_id };
					const prompt = await this.broker
						.call<{ total_tokens: number }, object>("memory.prompt", params, { meta: { user } })
						.catch(() => null);
					return prompt?.total_tokens ?? 0;
				},
			};
			this.model = createChatModel(config);
			this.models = new OwnModels(new OwnProviderStore(sequelize), config, () => this.model);
		},

		async stopped(this: CompletionsThis) {
			await this.quotas?.close();
		},
	};
}
