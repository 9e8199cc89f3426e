/**
 * What the model remembers of a session, shown and steered by its owner: the summary (the user's own text, with what
 * was folded in on top of it since) and the pinned messages, which are in every prompt; and the prompt inspector,
 * the exact messages a recent reply was generated from. Owner only: another user's session is a 404 like a missing one.
 * ai-consumer reads the summary and pins with the session row for every message, so nothing here needs a cache dropped.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatStore, type SessionRow } from "../src/adapters/chat-store.js";
import { SessionMemory } from "../src/adapters/session-memory.js";
import type { PromptView } from "../src/adapters/prompt-records.js";
import { callEveryNode } from "../src/adapters/every-node.js";
import { MessageNotFound, PromptNotFound, SessionNotFound, Unauthorized, ValidationFailed } from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

/** The longest summary a user may write (characters). */
export const SUMMARY_MAX_CHARS = 8000;
/** The most messages pinned in one session. */
export const MAX_PINNED = 50;

interface MemoryMeta {
	user?: AuthUser;
}
interface IdParams {
	id: string;
}
type UpdateParams = IdParams & { summary?: string | null; pinned?: string[] | null };
interface PromptParams extends IdParams {
	message_id: string;
}

type MemoryThis = Service &
	DbThis & {
		store: ChatStore;
		memory: SessionMemory;
		/** The kept prompt of a reply, from whichever ai-consumer node made it. */
		keptPrompt(sessionId: string, replyId: string): Promise<PromptView | null>;
		ownSession(ctx: Context<IdParams, MemoryMeta>): Promise<SessionRow>;
	};

export default function memoryService(config: Config): ServiceSchema<ServiceSettingSchema, MemoryThis> {
	return {
		name: "memory",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** GET /sessions/:id/memory */
			get: {
				description:
					"What the model remembers of your session: the summary (yours, then what was folded in since), the " +
					"newest message it covers, and the pinned messages, which are in every prompt",
				params: { id: "uuid" },
				async handler(this: MemoryThis, ctx: Context<IdParams, MemoryMeta>) {
					const session = await this.ownSession(ctx);
					const memory = await this.memory.read(session.id);
					if (!memory) throw SessionNotFound(session.id);
					return memory;
				},
			},

			/** PATCH /sessions/:id/memory */
			update: {
				description:
					`Write the summary (at most ${SUMMARY_MAX_CHARS} characters; null clears it): later turns are folded in ` +
					`on top of it, never over it. \`pinned\`: the full set of pinned messages (at most ${MAX_PINNED} active ` +
					"messages of the session)",
				params: {
					id: "uuid",
					summary: { type: "string", max: SUMMARY_MAX_CHARS, nullable: true, optional: true },
					pinned: { type: "array", items: "uuid", max: MAX_PINNED, optional: true },
				},
				async handler(this: MemoryThis, ctx: Context<UpdateParams, MemoryMeta>) {
					const { summary, pinned } = ctx.params;
					// The validator lets an optional field be null: a list is the only way to say which are pinned.
					if (pinned === null) {
						const message = "The 'pinned' field must be a list of message ids ([] unpins them all)";
						throw ValidationFailed(message, [{ type: "array", field: "pinned", message }]);
					}
					if (summary === undefined && pinned === undefined) {
						const message = "Send summary, pinned or both";
						throw ValidationFailed(message, [{ type: "required", field: "summary", message }]);
					}
					const session = await this.ownSession(ctx);
					const updated = await this.memory.update(session.id, { summary, pinned });
					if (!updated) throw SessionNotFound(session.id);
					if (updated.unknown.length > 0) throw MessageNotFound(updated.unknown[0]);
					return updated.memory;
				},
			},

			/** GET /sessions/:id/messages/:message_id/prompt */
			prompt: {
				description:
					"The exact messages a reply of your session was generated from, with token counts per message and per " +
					`part (system, persona, each lore entry, summary, pinned, history...); kept for the last ` +
					`${config.chat.inspectorReplies} replies of a session`,
				params: { id: "uuid", message_id: "uuid" },
				async handler(this: MemoryThis, ctx: Context<PromptParams, MemoryMeta>) {
					const session = await this.ownSession(ctx);
					// A reply rewound since is gone, whatever a consumer still holds of it.
					const reply = await this.store.getMessage(ctx.params.message_id);
					const prompt = reply?.session_id === session.id && (await this.keptPrompt(session.id, ctx.params.message_id));
					if (!prompt) throw PromptNotFound(ctx.params.message_id);
					return prompt;
				},
			},
		},

		methods: {
			/** Records live in the memory of the ai-consumer that made the prompt: every available one is asked. */
			async keptPrompt(this: MemoryThis, sessionId: string, replyId: string) {
				const params = { session_id: sessionId, reply_id: replyId };
				const { results } = await callEveryNode<PromptView | null>(this.broker, "ai-consumer", "prompt", params);
				return results.find((r) => r.value)?.value ?? null;
			},

			async ownSession(this: MemoryThis, ctx: Context<IdParams, MemoryMeta>): Promise<SessionRow> {
				if (!ctx.meta.user) throw Unauthorized();
				const session = await this.store.getSession(ctx.params.id);
				if (!session || session.username !== ctx.meta.user.username) throw SessionNotFound(ctx.params.id);
				return session;
			},
		},

		started(this: MemoryThis) {
			const { sequelize } = this.db;
			this.store = new ChatStore(sequelize);
			this.memory = new SessionMemory(sequelize);
		},
	};
}
