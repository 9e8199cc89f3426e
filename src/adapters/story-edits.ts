/**
 * Steering the story, the same over WebSocket (chat-ws) and REST (the story service): edit a message, rewind the
 * session to before one, choose which variant of a reply the story continues from. Each change is stored, the hot
 * history of the session dropped (the next prompt reads PostgreSQL), the rolling summary marked stale when it covers
 * a changed turn (rebuilt before the next prompt), and the news delivered to every socket of the session, on any node.
 * The session is the caller's to change (the socket's own, or checked by the REST action).
 */
import type { ServiceBroker } from "moleculer";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { Config } from "../config.js";
import {
	ChatEvent,
	errorFrame,
	replyId,
	type ErrorFrame,
	type ServerFrame,
	type StopRequestedPayload,
} from "../domain/chat-wire.js";
import type { VariantSelectedFrame } from "../domain/chat-frames.js";
import { MESSAGE_COLUMNS, type ChatStore, type MessageRow } from "./chat-store.js";
import type { ChatRuntime } from "./chat-runtime.js";
import type { Database } from "./database.js";
import type { Delivery } from "./delivery.js";
import type { HistoryCache } from "./history-cache.js";

export interface StoryDeps {
	sequelize: Sequelize;
	store: ChatStore;
	history: HistoryCache;
	delivery: Delivery;
	/** Stops the reply being written for the session, wherever it is generated. */
	stop(sessionId: string): void;
	/** A continuation marked longer ago than this was lost, not running (CHAT_REPLY_TIMEOUT). */
	replyTimeoutSeconds: number;
	logger: { warn(...args: unknown[]): void };
}

/**
 * The session's revision counts one more change, and a summary covering the turn from seq `$cut` on is cleared: one
 * UPDATE of the session row (two in one statement would not see each other).
 */
function sessionChanged(cut: string): string {
	const stale = `summary_upto_seq >= ${cut}`;
	return `revision = revision + 1,
		summary = CASE WHEN ${stale} THEN NULL ELSE summary END,
		summary_upto_seq = CASE WHEN ${stale} THEN NULL ELSE summary_upto_seq END`;
}

/**
 * The new text, unless the message is a reply a continuation is still extending, with the session's new revision.
 * Last write wins: `edited_at` grows with every edit of a message (a millisecond at least, so each edit has its own
 * de-duplication key and clients keep the latest one). A summary covering the message is cleared.
 */
const EDIT = `WITH edited AS (
		UPDATE messages SET content = $3,
			edited_at = GREATEST(date_trunc('milliseconds', clock_timestamp()), edited_at + interval '1 millisecond')
		WHERE id = $1 AND session_id = $2
		  AND (role = 'user' OR generating_since IS NULL OR generating_since < now() - make_interval(secs => $4))
		RETURNING ${MESSAGE_COLUMNS}),
	 session AS (
		UPDATE chat_sessions SET ${sessionChanged("(SELECT seq FROM edited)")}
		WHERE id = $2 AND EXISTS (SELECT 1 FROM edited) RETURNING revision)
	SELECT edited.*, session.revision FROM edited, session`;

/**
 * Where a rewind cuts: at the message, or for a reply at the first of its variants (they all go; in a room, those of
 * its character: the others' replies to the same message before it stay).
 */
const REWIND_CUT = `SELECT CASE WHEN m.reply_to IS NULL THEN m.seq
		ELSE (SELECT min(v.seq) FROM messages v WHERE v.reply_to = m.reply_to AND v.character_id = m.character_id) END AS cut
	FROM messages m WHERE m.id = $1 AND m.session_id = $2`;

/**
 * Variant `$1` of the reply to `$2` becomes the active one among its character's (not if it was rewound meanwhile:
 * one stays active); the session's new revision, or no row.
 */
const SELECT_VARIANT = `WITH variants AS (
		UPDATE messages SET active = (id = $1)
		WHERE reply_to = $2 AND character_id = (SELECT character_id FROM messages WHERE id = $1)
		RETURNING id, seq)
	UPDATE chat_sessions SET ${sessionChanged("(SELECT min(seq) FROM variants)")}
	WHERE id = $3 AND EXISTS (SELECT 1 FROM variants WHERE id = $1) RETURNING revision`;

/** The story edits of a chat service (ChatMixin's `db`, `store` and `runtime`); a stop reaches every ai-consumer. */
export function storyEdits(
	service: { db: Database; store: ChatStore; runtime: ChatRuntime; broker: ServiceBroker; logger: StoryDeps["logger"] },
	config: Config,
): StoryEdits {
	const { db, store, runtime, broker, logger } = service;
	return new StoryEdits({
		sequelize: db.sequelize,
		store,
		history: runtime.history,
		delivery: runtime.delivery,
		stop: (session_id) =>
			void broker.broadcast(ChatEvent.StopRequested, { session_id, discard: true } satisfies StopRequestedPayload),
		replyTimeoutSeconds: config.chat.replyTimeoutSeconds,
		logger,
	});
}

/** A row with the session's revision after the change (bigint, as text). */
type Revised<T> = T & { revision: string };

export function isRefusal(result: unknown): result is ErrorFrame {
	return (result as ErrorFrame | null)?.type === "error";
}

export class StoryEdits {
	constructor(private readonly deps: StoryDeps) {}

	/** Replaces the text of a message of the session (the user's, a reply, the greeting). */
	async edit(sessionId: string, messageId: string, content: string): Promise<MessageRow | ErrorFrame> {
		const { replyTimeoutSeconds } = this.deps;
		const [edited] = await this.query<Revised<MessageRow>>(EDIT, [messageId, sessionId, content, replyTimeoutSeconds]);
		if (!edited) return (await this.beingWritten(sessionId, messageId)) ? inProgress() : notFound();
		const { revision, ...row } = edited;
		const frame = { type: "message.edited" as const, id: row.id, content: row.content };
		await this.changed(sessionId, { ...frame, edited_at: row.edited_at!.toISOString(), revision: Number(revision) });
		return row;
	}

	/**
	 * Deletes a message of the session and every later one (for a reply: all its variants and what follows them);
	 * answers the ids deleted, oldest first. Replies being written are stopped, and one that arrives anyway for a
	 * deleted message is not stored (chat-store's reply INSERT).
	 */
	async rewind(sessionId: string, messageId: string): Promise<string[] | ErrorFrame> {
		const rewound = await this.deps.sequelize.transaction(async (transaction) => {
			const [target] = await this.query<{ cut: string }>(REWIND_CUT, [messageId, sessionId], transaction);
			if (!target) return null;
			const later = [sessionId, target.cut];
			// Locked first, deleted by a second statement: its fresh snapshot also holds a reply committed meanwhile.
			await this.query(`SELECT id FROM messages WHERE session_id = $1 AND seq >= $2 FOR UPDATE`, later, transaction);
			const deleted = await this.query<{ id: string; seq: string }>(
				`DELETE FROM messages WHERE session_id = $1 AND seq >= $2 RETURNING id, seq`,
				later,
				transaction,
			);
			if (deleted.length === 0) return null;
			const [{ revision }] = await this.query<{ revision: string }>(
				`UPDATE chat_sessions SET ${sessionChanged("$2")} WHERE id = $1 RETURNING revision`,
				later,
				transaction,
			);
			const ids = deleted.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1)).map((m) => m.id);
			return { ids, revision: Number(revision) };
		});
		if (!rewound) return notFound();
		this.deps.stop(sessionId);
		await this.changed(sessionId, { type: "messages.deleted", ...rewound });
		return rewound.ids;
	}

	/** Makes reply variant `id` the one the history shows and the next prompt continues from. */
	async select(sessionId: string, id: string): Promise<VariantSelectedFrame | ErrorFrame> {
		const reply = await this.deps.store.getMessage(id);
		if (reply?.session_id !== sessionId) return notFound();
		if (reply.role !== "ai" || !reply.reply_to) {
			return errorFrame("cannot_select", "Only a reply to one of your messages has variants to choose from");
		}
		const [chosen] = await this.query<{ revision: string }>(SELECT_VARIANT, [id, reply.reply_to, sessionId]);
		if (!chosen) return notFound();
		const frame: VariantSelectedFrame = {
			type: "variant.selected",
			reply_to: reply.reply_to,
			id,
			variant: reply.variant,
			revision: Number(chosen.revision),
		};
		await this.changed(sessionId, frame);
		return frame;
	}

	/**
	 * Whether `id` names a reply not stored yet of the session's last user message: its first reply or a regeneration
	 * being written (or a continuation marked on a stored one, which `EDIT` skipped).
	 */
	private async beingWritten(sessionId: string, id: string): Promise<boolean> {
		const { store } = this.deps;
		const stored = await store.getMessage(id);
		if (stored) return stored.session_id === sessionId;
		const last = await store.lastUserMessageId(sessionId);
		if (!last) return false;
		const next = await store.nextVariant(last);
		for (let variant = 0; variant <= next; variant++) if (replyId(last, variant) === id) return true;
		return false;
	}

	/** What every change ends with: the prompt history re-read from PostgreSQL, the news on every socket. */
	private async changed(sessionId: string, frame: ServerFrame): Promise<void> {
		const { history, delivery, logger } = this.deps;
		await history.drop(sessionId).catch((err) => logger.warn({ session_id: sessionId }, "History drop failed:", err));
		await delivery
			.send(sessionId, [frame])
			.catch((err) => logger.warn({ session_id: sessionId }, `Delivery of ${frame.type} failed:`, err));
	}

	private query<T extends object>(sql: string, bind: unknown[], transaction?: Transaction): Promise<T[]> {
		return this.deps.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}

function notFound(): ErrorFrame {
	return errorFrame("message_not_found", "No such message in this chat");
}

function inProgress(): ErrorFrame {
	return errorFrame("reply_in_progress", "This reply is still being written; try again once it is done");
}
