/**
 * PostgreSQL for `continue`: the AI message being extended carries `generating_since` from the moment chat-ws asks
 * until the dispatcher stores the longer text (or the failure), so a second continue, or an edit, is refused
 * meanwhile. A mark older than the reply timeout is taken for lost (its continuation never came back) and ignored.
 * Every write is conditional on the mark: a redelivered continuation, or one for a reply rewound meanwhile, changes
 * nothing.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import { errorFrame, type ErrorFrame, type Usage } from "../domain/chat-wire.js";

/** The AI message a continue extends, as it was when it was marked. */
export interface ContinuedReply {
	id: string;
	session_id: string;
	username: string;
	/** Who wrote it (in a room, one of its cast). */
	character_id: string;
	reply_to: string | null;
	variant: number;
	content: string;
}

/** What the dispatcher needs to deliver a continued reply. */
export interface StoredContinuation extends ContinuedReply {
	created_at: Date;
	stopped: boolean;
	edited_at: Date | null;
	/** The session's revision after this change (bigint, as text): the longer text is a change in place. */
	revision: string;
}

const REPLY_COLUMNS = "id, session_id, username, character_id, reply_to, variant, content";

/** Of user message `u`: another reply to it is being written (a regeneration, marked until it is stored). */
const REGENERATING = "u.generating_since >= now() - make_interval(secs => $2)";

/** The session's last message as the story shows it: replaced reply variants are not part of it. */
const LAST_MESSAGE = `SELECT id FROM messages WHERE session_id = $1 AND (role = 'user' OR active) ORDER BY seq DESC LIMIT 1`;

export class ContinuationStore {
	constructor(
		private readonly sequelize: Sequelize,
		/** How long a mark holds (CHAT_REPLY_TIMEOUT): a continue lost on the way must not block the reply forever. */
		private readonly staleSeconds: number,
	) {}

	/**
	 * Marks the session's last message as being continued and returns it; null if it is not an AI message or is
	 * already being continued. Two continues at once: the second waits for the first's row lock, then sees the mark.
	 */
	async mark(sessionId: string): Promise<ContinuedReply | null> {
		const [row] = await this.select<ContinuedReply>(
			`UPDATE messages SET generating_since = now()
			 WHERE id = (${LAST_MESSAGE}) AND role = 'ai'
			   AND (generating_since IS NULL OR generating_since < now() - make_interval(secs => $2))
			   AND NOT EXISTS (SELECT 1 FROM messages u WHERE u.id = messages.reply_to AND ${REGENERATING})
			 RETURNING ${REPLY_COLUMNS}`,
			[sessionId, this.staleSeconds],
		);
		return row ?? null;
	}

	/** Why `mark` found nothing to continue in the session: the error frame to answer with. */
	async refusal(sessionId: string): Promise<ErrorFrame> {
		const [last] = await this.select<{
			role: "user" | "ai";
			reply_status: string;
			continuing: boolean;
			regenerating: boolean;
		}>(
			`SELECT role, reply_status,
			        generating_since IS NOT NULL AND generating_since >= now() - make_interval(secs => $2) AS continuing,
			        EXISTS (SELECT 1 FROM messages u WHERE u.id = m.reply_to AND ${REGENERATING}) AS regenerating
			 FROM messages m WHERE id = (${LAST_MESSAGE})`,
			[sessionId, this.staleSeconds],
		);
		if ((last?.role === "user" && last.reply_status === "pending") || last?.regenerating) {
			return errorFrame("reply_in_progress", "The reply to your last message is still being written");
		}
		if (last?.continuing) return errorFrame("cannot_continue", "The last reply is already being continued");
		return errorFrame("cannot_continue", "Only a reply that is the chat's last message can be continued");
	}

	/**
	 * Stores the continued reply's whole new text and adds the continuation's tokens to the reply's, if it is still
	 * marked, counting one more revision of its session; null if not (already stored: a redelivery; or rewound
	 * meanwhile).
	 */
	async store(id: string, content: string, usage: Usage | undefined): Promise<StoredContinuation | null> {
		const [row] = await this.select<StoredContinuation>(
			`WITH stored AS (
				UPDATE messages SET content = $2, generating_since = NULL,
				        input_tokens = COALESCE(input_tokens, 0) + $3, output_tokens = COALESCE(output_tokens, 0) + $4
				WHERE id = $1 AND generating_since IS NOT NULL
				RETURNING ${REPLY_COLUMNS}, created_at, stopped, edited_at),
			 session AS (
				UPDATE chat_sessions s SET revision = s.revision + 1 FROM stored WHERE s.id = stored.session_id
				RETURNING s.revision)
			 SELECT stored.*, session.revision FROM stored, session`,
			[id, content, usage?.input_tokens ?? 0, usage?.output_tokens ?? 0],
		);
		return row ?? null;
	}

	/** A continue that failed: the reply stands as it was. False if it was not marked (any more). */
	async release(id: string): Promise<boolean> {
		const rows = await this.select<{ id: string }>(
			`UPDATE messages SET generating_since = NULL WHERE id = $1 AND generating_since IS NOT NULL RETURNING id`,
			[id],
		);
		return rows.length > 0;
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}
}
