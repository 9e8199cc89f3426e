/**
 * Steering the story over REST: edit a message, rewind a session to before a message, choose which variant of a reply
 * the story continues from. The same steps as the WebSocket frames `edit` and `select_variant` (story-edits.ts), so
 * every socket of the session, on any chat-ws node, is sent the change. Owner only: another user's session, or a
 * message that is not one of the session's, is indistinguishable from none (404).
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import type { SessionRow } from "../src/adapters/chat-store.js";
import { isRefusal, storyEdits, type StoryEdits } from "../src/adapters/story-edits.js";
import { CannotSelect, MessageNotFound, ReplyInProgress, SessionNotFound, Unauthorized } from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";
import type { ErrorFrame } from "../src/domain/chat-wire.js";
import { toMessageView } from "../src/domain/message-view.js";

interface StoryMeta {
	user?: AuthUser;
	$statusCode?: number;
}
interface MessageParams {
	/** The session. */
	id: string;
	message_id: string;
}
interface EditParams extends MessageParams {
	content: string;
}

type StoryThis = Service &
	ChatThis & {
		story: StoryEdits;
		ownSession(ctx: Context<MessageParams, StoryMeta>): Promise<SessionRow>;
		unlessRefused<T>(result: T | ErrorFrame, messageId: string): T;
	};

export default function storyService(config: Config): ServiceSchema<ServiceSettingSchema, StoryThis> {
	const ids = { id: "uuid", message_id: "uuid" } as const;
	return {
		name: "story",

		/** `this.db` (PostgreSQL), the chat store and runtime (history cache, delivery to the sockets). */
		mixins: [ChatMixin(config)],

		actions: {
			/** PATCH /sessions/:id/messages/:message_id */
			edit: {
				description:
					"Replace the text of a message of your session (yours, a reply or the greeting); later replies read the " +
					"new text, and every open socket of the session gets `message.edited`. 409 while the reply is being written",
				params: { ...ids, content: { type: "string", trim: true, min: 1, max: config.chat.maxContentChars } },
				async handler(this: StoryThis, ctx: Context<EditParams, StoryMeta>) {
					const session = await this.ownSession(ctx);
					const { message_id, content } = ctx.params;
					return toMessageView(this.unlessRefused(await this.story.edit(session.id, message_id, content), message_id));
				},
			},

			/** DELETE /sessions/:id/messages/:message_id */
			rewind: {
				description:
					"Delete a message of your session and every later one (for a reply: all its variants too); a reply being " +
					"written is stopped and never stored. Every open socket of the session gets `messages.deleted`",
				params: ids,
				async handler(this: StoryThis, ctx: Context<MessageParams, StoryMeta>) {
					const session = await this.ownSession(ctx);
					this.unlessRefused(await this.story.rewind(session.id, ctx.params.message_id), ctx.params.message_id);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** POST /sessions/:id/messages/:message_id/select */
			select: {
				description:
					"Make this variant of a reply the one the history shows and the next reply continues from; every open " +
					"socket of the session gets `variant.selected`",
				params: ids,
				async handler(this: StoryThis, ctx: Context<MessageParams, StoryMeta>) {
					const session = await this.ownSession(ctx);
					const { message_id } = ctx.params;
					const { reply_to, id, variant } = this.unlessRefused(
						await this.story.select(session.id, message_id),
						message_id,
					);
					return { reply_to, id, variant };
				},
			},
		},

		methods: {
			async ownSession(this: StoryThis, ctx: Context<MessageParams, StoryMeta>): Promise<SessionRow> {
				if (!ctx.meta.user) throw Unauthorized();
				const session = await this.store.getSession(ctx.params.id);
				if (!session || session.username !== ctx.meta.user.username) throw SessionNotFound(ctx.params.id);
				return session;
			},

			/** A refusal of story-edits.ts as the REST error it stands for. */
			unlessRefused<T>(this: StoryThis, result: T | ErrorFrame, messageId: string): T {
				if (!isRefusal(result)) return result;
				if (result.code === "reply_in_progress") throw ReplyInProgress(messageId);
				if (result.code === "cannot_select") throw CannotSelect(messageId);
				throw MessageNotFound(messageId);
			},
		},

		/** After the mixin's `started` (store, runtime). */
		started(this: StoryThis) {
			this.story = storyEdits(this, config);
		},
	};
}
