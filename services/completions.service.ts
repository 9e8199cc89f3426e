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
	sessionTurn,
} from "../src/domain/completions.js";
import { ChatEvent, type Publish } from "../src/domain/chat-wire.js";
import { awaitedReply, postToSession, type SessionPostDeps } from "../src/adapters/session-completions.js";
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
import {
	CompletionRefused,
	ModelNotFound,
	ProviderUnavailable,
	RateLimited,
	SessionNotFound,
	TokenQuotaExceeded,
	Unauthorized,
} from "../src/errors.js";

export interface CompletionsThis extends Service, ChatThis {
	model: ChatModel;
	prompts: ChatPrompts;
	quotas: ChatQuotas;
	userLimits: UserLimits;
	runs: CompletionRuns;
	/** What the stored-session mode posts a message with, as chat-ws would. */
	sessionPosts: SessionPostDeps;
	/** The model that answers this user's completions. */
	modelFor(username: string): ChatModel;
	visibleCharacters(ctx: Context<unknown, CompletionMeta>): Promise<CharacterSummary[]>;
	admit(username: string): Promise<void>;
	complete(ctx: Context<CompletionRequest, CompletionMeta>): ReturnType<typeof answerCompletion>;
	spend(username: string, spent: Spent): void;
	continueSession(
		ctx: Context<CompletionRequest, CompletionMeta>,
		characterId: string,
	): ReturnType<typeof answerCompletion>;
	promptTokens(ctx: Context<CompletionRequest, CompletionMeta>, replyId: string): Promise<number>;
	refusalOf(err: unknown): unknown;
}

/** The most characters GET /v1/models lists (and a slug can name), in pages of characters.list. */
const MAX_LISTED_MODELS = 1000;
const LIST_PAGE = 100;

const MISCONFIGURED = "The AI model is not set up correctly: the operator must fix the model configuration";
const UNAVAILABLE = "The AI model is unavailable right now; try again shortly";

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
			[CompletionEvent.Abandoned](this: CompletionsThis, ctx: Context<CompletionAbandonedPayload>) {
				this.runs.abandon(ctx.params.id);
			},
		},

		methods: {
			/** The one place the model of a user's completions is chosen: the configured one for now. */
			modelFor(this: CompletionsThis, _username: string): ChatModel {
				return this.model;
			},

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
				const { id: userId, username } = callerOf(ctx.meta);
				const characterId = isUuid(request.model)
					? request.model.toLowerCase()
					: characterIdOf(request.model, await this.visibleCharacters(ctx), userId);
				const speakers = characterId && (await this.prompts.lookUp({ character_id: characterId, username }));
				if (!speakers) throw ModelNotFound(request.model);
				if (request.session_id) return this.continueSession(ctx, speakers.character.id);
				await this.admit(username);

				const model = this.modelFor(username);
				const { names, options } = await this.prompts.detached(speakers, conversationOf(request.messages), model);
				const prompt = completionPrompt(speakers.character, request.messages, names.user, options);
				const overrides = completionOverrides(speakers.character, request);
				const id = ctx.meta.completion_id ?? randomUUID();
				const controller = this.runs.begin(id);
				let spent: Spent | undefined;
				const text = completionText(
					{ model, prompt, overrides, stop: request.stop, signal: controller.signal },
					(s) => {
						spent = s;
						this.spend(username, s);
					},
				);
				return answerCompletion({
					stream: request.stream,
					includeUsage: request.include_usage,
					head: completionHead(id, request.model),
					text,
					usage: () => spent?.usage ?? { input_tokens: prompt.tokens, output_tokens: 0 },
					controller,
					refusalOf: (err) => this.refusalOf(err),
					onEnd: () => this.runs.end(id),
				});
			},

			/**
			 * `session_id`: the client's last message, stored in that chat of the caller's and answered by the normal
			 * pipeline (the user's other devices see both, once); the stored reply is the answer.
			 */
			async continueSession(
				this: CompletionsThis,
				ctx: Context<CompletionRequest, CompletionMeta>,
				characterId: string,
			) {
				const { username, name } = callerOf(ctx.meta);
				const { messages, session_id: sessionId = "" } = ctx.params;
				const session = await this.store.getSession(sessionId);
				const content = sessionTurn(session, { username, characterId }, messages, config.chat.maxContentChars);
				if (content === null) throw SessionNotFound(sessionId);
				if (typeof content !== "string") throw CompletionRefused(content);
				await this.admit(username);
				const message = { session_id: sessionId, username, character_id: characterId, content };
				const row = await postToSession(this.sessionPosts, message, name ?? username);
				const id = ctx.meta.completion_id ?? randomUUID();
				const controller = this.runs.begin(id);
				const { text, usage } = awaitedReply({
					store: this.store,
					message: row,
					signal: controller.signal,
					timeoutMs: config.chat.replyTimeoutSeconds * 1000,
					stop: () => void this.broker.broadcast(ChatEvent.StopRequested, { session_id: sessionId }),
					promptTokens: (replyId) => this.promptTokens(ctx, replyId),
				});
				return answerCompletion({
					stream: ctx.params.stream,
					includeUsage: ctx.params.include_usage,
					head: completionHead(id, ctx.params.model),
					text,
					usage,
					controller,
					refusalOf: (err) => err,
					onEnd: () => this.runs.end(id),
				});
			},

			/** The prompt's tokens as the prompt inspector kept them (memory.prompt); 0 when it has none. */
			async promptTokens(this: CompletionsThis, ctx: Context<CompletionRequest, CompletionMeta>, replyId: string) {
				const params = { id: ctx.params.session_id, message_id: replyId };
				const prompt = await ctx.call<{ total_tokens: number }, object>("memory.prompt", params).catch(() => null);
				return prompt?.total_tokens ?? 0;
			},

			/** What a completion cost counts in the metrics and against the user's daily tokens, as a reply's does. */
			spend(this: CompletionsThis, username: string, spent: Spent) {
				this.metrics.tokens(spent.model, spent.usage);
				const tokens = spent.usage.input_tokens + spent.usage.output_tokens;
				this.quotas.addTokens(username, tokens).catch((err) => this.logger.warn("Token quota update failed:", err));
			},

			/** A provider that could not answer is a 503 in the client's terms; anything else stays as it is. */
			refusalOf(this: CompletionsThis, err: unknown): unknown {
				if (!(err instanceof LlmUnavailableError)) return err;
				this.metrics.llmError(err);
				this.logger.warn(`Completion failed: ${err.message}`);
				return ProviderUnavailable(err.reason === "misconfigured" ? MISCONFIGURED : UNAVAILABLE);
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
			this.sessionPosts = { store: this.store, history, delivery, metrics: this.metrics, publish, logger: this.logger };
			this.model = createChatModel(config);
		},

		async stopped(this: CompletionsThis) {
			await this.quotas?.close();
		},
	};
}
