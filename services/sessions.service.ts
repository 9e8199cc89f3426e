/**
 * Chat history over REST: a user's sessions (newest first, with the character and the last message), a session's
 * messages page by page, and deleting a session. Owner only; someone else's session is indistinguishable from none.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatStore, type SessionRow } from "../src/adapters/chat-store.js";
import { toMessageView } from "../src/domain/message-view.js";
import { SessionNotFound, Unauthorized } from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

interface SessionsMeta {
	user?: AuthUser;
	$statusCode?: number;
}
interface ListParams {
	limit: number;
	offset: number;
}
interface MessagesParams {
	id: string;
	before?: string;
	limit: number;
}
interface IdParams {
	id: string;
}

type SessionsThis = Service &
	DbThis & {
		store: ChatStore;
		ownSession(ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow>;
	};

export default function sessionsService(config: Config): ServiceSchema<ServiceSettingSchema, SessionsThis> {
	return {
		name: "sessions",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/**
			 * My sessions in which I said something (a character opened and left is not one), most recently active first;
			 * not those with a character I may no longer see (made private or inactive since: its name is not mine to read).
			 */
			list: {
				description: "Your chat sessions in which you have sent a message, most recently active first",
				params: {
					limit: { type: "number", integer: true, min: 1, max: 100, default: 20, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 10_000, default: 0, convert: true },
				},
				async handler(this: SessionsThis, ctx: Context<ListParams, SessionsMeta>) {
					const user = requireUser(ctx.meta);
					const viewer = { username: user.username, id: user.id, isAdmin: user.role === "admin" };
					const sessions = await this.store.listSessions(viewer, ctx.params.limit, ctx.params.offset);
					return sessions.map((s) => ({
						id: s.id,
						character_id: s.character_id,
						character_name: s.character_name,
						status: s.status,
						title: s.title,
						created_at: s.created_at,
						last_message_at: s.last_message_at,
						last_message: s.last_message,
					}));
				},
			},

			/** One page of a session's messages in chronological order; `before` pages back from a message id. */
			messages: {
				description: "A page of a session's messages, oldest first; `before` pages back",
				params: {
					id: "uuid",
					before: { type: "uuid", optional: true },
					limit: { type: "number", integer: true, min: 1, max: 200, default: 50, convert: true },
				},
				async handler(this: SessionsThis, ctx: Context<MessagesParams, SessionsMeta>) {
					const session = await this.ownSession(ctx);
					// One extra row tells whether an older page exists.
					const rows = await this.store.pageMessages(session.id, ctx.params.before, ctx.params.limit + 1);
					const hasMore = rows.length > ctx.params.limit;
					return {
						session_id: session.id,
						character_id: session.character_id,
						has_more: hasMore,
						messages: rows.slice(0, ctx.params.limit).reverse().map(toMessageView),
					};
				},
			},

			/** Deletes a session and all its messages. */
			remove: {
				description: "Delete a session and its messages",
				params: { id: "uuid" },
				async handler(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>) {
					const session = await this.ownSession(ctx);
					await this.store.deleteSession(session.id);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		methods: {
			async ownSession(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow> {
				const user = requireUser(ctx.meta);
				const session = await this.store.getSession(ctx.params.id);
				if (!session || session.username !== user.username) throw SessionNotFound(ctx.params.id);
				return session;
			},
		},

		started(this: SessionsThis) {
			this.store = new ChatStore(this.db.sequelize);
		},
	};
}

function requireUser(meta: SessionsMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}
