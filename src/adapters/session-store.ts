/**
 * PostgreSQL access for chat sessions as the sessions REST service shows and changes them: the list (with the
 * character's name, the last message, what the default title is made of, its persona and lorebooks), one session,
 * its title and persona, and branches.
 */
import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { replyId } from "../domain/chat-wire.js";
import type { ListedSession } from "../domain/session-view.js";
import type { PresetChange } from "../domain/chat-presets.js";

/** Whom the listing is for: sessions with a character they may no longer see are left out (`canView`'s rule). */
export interface SessionViewer {
	username: string;
	id?: string;
	isAdmin?: boolean;
	/** Opted in to NSFW characters. */
	showNsfw?: boolean;
}

export interface ListFilter {
	limit: number;
	offset: number;
	/** Only the chats with this character. */
	characterId?: string;
}

/** More than a default title shows of the first user message, however its lines fall. */
const FIRST_MESSAGE_CHARS = 400;

/**
 * The listing query; `$1` the username, `$2` the viewer's id (whose personas: the session's, else the default), `$3` whether they are an admin, `$4` one session's id or
 * null, `$5` one character's id or null, `$6`/`$7` limit and offset, `$8` whether they opted in to NSFW characters. A list shows the chats in which the user said
 * something (a character opened and left is not one), branches, and rooms (theirs, and those they are a member of);
 * one session asked for by id is shown as it is. Branches sort by when they were made: their copied messages keep the
 * time they were first said. A member sees a room whatever its characters' visibility (the owner chose the cast), as
 * the persona they play there (else their default).
 */
const LIST_SESSIONS = `SELECT s.id, s.character_id, c.name AS character_name, s.status, s.title, s.created_at,
		s.username AS owner, s.reply_mode, s.preset,
		s.branched_from_session_id, s.branched_from_message_id, s.revision, fu.content AS first_user_message,
		lm.id AS lm_id, lm.role AS lm_role, lm.content AS lm_content, lm.created_at AS lm_created_at,
		COALESCE(sp.id, dp.id) AS persona_id, COALESCE(sp.name, dp.name) AS persona_name,
		ARRAY(SELECT sl.lorebook_id::text FROM session_lorebooks sl WHERE sl.session_id = s.id ORDER BY sl.position)
			AS lorebook_ids
	FROM chat_sessions s
	JOIN ai_characters c ON c.id = s.character_id
	LEFT JOIN session_members sm ON sm.session_id = s.id AND sm.username = $1 AND sm.removed_at IS NULL
		AND s.reply_mode IS NOT NULL AND s.username <> $1
	LEFT JOIN personas sp ON sp.id = COALESCE(sm.persona_id, CASE WHEN s.username = $1 THEN s.persona_id END)
		AND sp.user_id = $2::uuid
	LEFT JOIN personas dp ON dp.user_id = $2::uuid AND dp.is_default AND sp.id IS NULL
	LEFT JOIN LATERAL (
		SELECT left(content, ${FIRST_MESSAGE_CHARS}) AS content FROM messages f
		WHERE f.session_id = s.id AND f.role = 'user' ORDER BY seq LIMIT 1) fu ON true
	LEFT JOIN LATERAL (
		SELECT id, role, content, created_at FROM messages m WHERE m.session_id = s.id ORDER BY seq DESC LIMIT 1) lm ON true
	WHERE s.id IN (SELECT o.id FROM chat_sessions o WHERE o.username = $1
			UNION ALL SELECT m.session_id FROM session_members m WHERE m.username = $1 AND m.removed_at IS NULL)
	  AND (s.username = $1 OR sm.username IS NOT NULL)
	  AND ((c.is_public AND c.is_active AND NOT c.hidden AND (NOT c.nsfw OR $8::boolean))
		OR c.created_by = $2::uuid OR $3::boolean OR sm.username IS NOT NULL)
	  AND ($4::uuid IS NULL OR s.id = $4)
	  AND ($5::uuid IS NULL OR s.character_id = $5)
	  AND ($4::uuid IS NOT NULL OR fu.content IS NOT NULL OR s.branched_from_message_id IS NOT NULL
		OR s.reply_mode IS NOT NULL)
	ORDER BY GREATEST(lm.created_at, s.created_at) DESC, s.id
	LIMIT $6 OFFSET $7`;

/** What PATCH /sessions/:id changes; a field left out stays as it is. */
export interface SessionChanges {
	title?: string | null;
	personaId?: string | null;
	/** The preset's fields given: null clears one. */
	preset?: PresetChange;
}

/** A message a branch copies, as its copy is made. */
interface CopiedMessage {
	id: string;
	role: "user" | "ai";
	reply_to: string | null;
}

export class SessionStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** The viewer's sessions, the one with the newest message (or the newest branch) first. */
	async list(viewer: SessionViewer, filter: ListFilter): Promise<ListedSession[]> {
		return this.listing(viewer, null, filter);
	}

	/** One of the viewer's sessions, or null (unknown, someone else's, or with a character they may no longer see). */
	async find(viewer: SessionViewer, sessionId: string): Promise<ListedSession | null> {
		const [session] = await this.listing(viewer, sessionId, { limit: 1, offset: 0 });
		return session ?? null;
	}

	/**
	 * Changes what is given of the session's title (null goes back to the default), persona (null: the user's
	 * default) and preset (merged into it, a null dropping that setting); answers with the title as stored, which
	 * PostgreSQL's UTF-8 may have changed (a lone surrogate becomes U+FFFD), or null when the session is gone. The
	 * caller has checked the persona is the user's.
	 */
	async update(sessionId: string, changes: SessionChanges): Promise<{ title: string | null } | null> {
		const [row] = await this.sequelize.query<{ title: string | null }>(
			`UPDATE chat_sessions SET
				title = CASE WHEN $2::boolean THEN $3 ELSE title END,
				persona_id = CASE WHEN $4::boolean THEN $5::uuid ELSE persona_id END,
				preset = jsonb_strip_nulls(preset || $6::jsonb),
				updated_at = now()
			 WHERE id = $1 RETURNING title`,
			{
				bind: [
					sessionId,
					changes.title !== undefined,
					changes.title ?? null,
					changes.personaId !== undefined,
					changes.personaId ?? null,
					JSON.stringify(changes.preset ?? {}),
				],
				type: QueryTypes.SELECT,
			},
		);
		return row ?? null;
	}

	/**
	 * A new session of the same user and character holding copies of `sessionId`'s messages up to and including
	 * `messageId`: user messages and the reply each shows (the branch point itself when it is a reply: a swipe the
	 * user is looking at), under new ids, replies answering the copies. A copied reply is the first and shown variant
	 * of its message (its id `replyId(copy, 0)`, as a first reply's); a copied user message is replied, or failed when
	 * its reply is not copied: never pending, which would send it to the model behind the user's back. Edits, pins, the
	 * persona, the attached lorebooks and the summary the user wrote are kept, and a room's cast and reply mode (its
	 * members are not: a branch is its owner's); the folded summary is not (the new session's is made from its own
	 * turns). The branch point is locked so that a rewind deleting it waits for the copy,
	 * or wins first: null when it is not a message of that session.
	 */
	async branch(sessionId: string, messageId: string): Promise<string | null> {
		return this.sequelize.transaction(async (transaction) => {
			const [point] = await this.select<{ seq: string; role: string; reply_to: string | null; character_id: string }>(
				transaction,
				`SELECT seq, role, reply_to, character_id FROM messages WHERE id = $1 AND session_id = $2 FOR KEY SHARE`,
				[messageId, sessionId],
			);
			if (!point) return null;
			// Another variant of the branch point (its character's other replies to its message) is left out, even the
			// one shown; in a room, the other characters' replies to that message stay.
			const swipedTo = point.role === "ai" ? point.reply_to : null;
			const copied = await this.select<CopiedMessage>(
				transaction,
				`SELECT id, role, reply_to FROM messages
				 WHERE session_id = $1 AND seq <= $2
				   AND (role = 'user' OR id = $3 OR (active AND ($4::uuid IS NULL OR reply_to IS DISTINCT FROM $4
						OR character_id <> $5)))
				 ORDER BY seq`,
				[sessionId, point.seq, messageId, swipedTo, point.character_id],
			);
			const [branch] = await this.select<{ id: string }>(
				transaction,
				`INSERT INTO chat_sessions (username, character_id, character_ids, reply_mode, persona_id, preset, summary_base,
					summary_updated_at, branched_from_session_id, branched_from_message_id)
				 SELECT username, character_id, character_ids, reply_mode, persona_id, preset, summary_base,
					CASE WHEN summary_base IS NOT NULL THEN now() END, id, $2
				 FROM chat_sessions WHERE id = $1 RETURNING id`,
				[sessionId, messageId],
			);
			await this.select(
				transaction,
				`INSERT INTO session_lorebooks (session_id, lorebook_id, position)
				 SELECT $2, lorebook_id, position FROM session_lorebooks WHERE session_id = $1`,
				[sessionId, branch.id],
			);
			await this.copyMessages(transaction, branch.id, copied);
			return branch.id;
		});
	}

	private async copyMessages(transaction: Transaction, branchId: string, copied: CopiedMessage[]): Promise<void> {
		const copyOf = new Map<string, string>();
		// In a room several characters answer one message: the first copy takes the first reply's id, the others fresh ones.
		const taken = new Set<string>();
		for (const m of copied) {
			const first = m.reply_to ? replyId(copyOf.get(m.reply_to)!, 0) : undefined;
			copyOf.set(m.id, first && !taken.has(first) ? first : randomUUID());
			if (first) taken.add(first);
		}
		const answered = new Set(copied.flatMap((m) => (m.reply_to ? [m.reply_to] : [])));
		await this.select(
			transaction,
			`INSERT INTO messages (id, session_id, username, character_id, role, content, reply_to, model, reply_status,
				publish_attempts, variant, active, stopped, edited_at, pinned_at, created_at, speaker)
			 SELECT c.copy_id, $1, m.username, m.character_id, m.role, m.content, c.reply_to, m.model,
				CASE WHEN m.role <> 'user' THEN m.reply_status WHEN c.answered THEN 'replied' ELSE 'failed' END,
				m.publish_attempts, 0, true, m.stopped, m.edited_at, m.pinned_at, m.created_at, m.speaker
			 FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::boolean[]) WITH ORDINALITY AS c(id, copy_id, reply_to, answered, n)
			 JOIN messages m ON m.id = c.id
			 ORDER BY c.n`,
			[
				branchId,
				copied.map((m) => m.id),
				copied.map((m) => copyOf.get(m.id)),
				copied.map((m) => (m.reply_to ? copyOf.get(m.reply_to) : null)),
				copied.map((m) => answered.has(m.id)),
			],
		);
	}

	private async listing(viewer: SessionViewer, sessionId: string | null, filter: ListFilter) {
		const rows = await this.sequelize.query<
			Omit<ListedSession, "last_message_at" | "last_message"> & {
				lm_id: string | null;
				lm_role: "user" | "ai";
				lm_content: string;
				lm_created_at: Date | null;
			}
		>(LIST_SESSIONS, {
			type: QueryTypes.SELECT,
			bind: [
				viewer.username,
				viewer.id ?? null,
				viewer.isAdmin ?? false,
				sessionId,
				filter.characterId ?? null,
				filter.limit,
				filter.offset,
				viewer.showNsfw ?? false,
			],
		});
		return rows.map(({ lm_id, lm_role, lm_content, lm_created_at, ...session }) => ({
			...session,
			last_message_at: lm_created_at,
			last_message: lm_id ? { id: lm_id, role: lm_role, content: lm_content, created_at: lm_created_at! } : null,
		}));
	}

	private select<T extends object>(transaction: Transaction, sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}
