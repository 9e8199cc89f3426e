/**
 * PostgreSQL access for a session's visible memory (GET/PATCH /sessions/:id/memory): the summary, as the user wrote
 * it (`summary_base`) with what was folded in on top of it since (`summary`), how far it covers the story, and the
 * pinned messages (`messages.pinned_at`). The prompt reads both with the session row (chat-store.ts).
 */
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { fullSummary } from "../domain/session-summary.js";

/** What the memory panel shows. */
export interface SessionMemoryView {
	/** The user's summary, then the folded text, joined by a newline; null when neither is set. */
	summary: string | null;
	summary_updated_at: Date | null;
	/** The newest message the summary covers, and when it was sent; null when it covers none. */
	covered_until: string | null;
	covered_until_at: Date | null;
	/** The pinned active messages, oldest first. */
	pinned: string[];
}

export interface MemoryChange {
	/** Undefined: unchanged; null: cleared. */
	summary?: string | null;
	/** The full set of pinned message ids; undefined: unchanged. */
	pinned?: string[];
}

/** Active messages: user messages, and the reply variant shown. */
const ACTIVE = "(m.role = 'user' OR m.active)";

const READ = `SELECT s.summary_base, s.summary, s.summary_updated_at, c.id AS covered_until, c.created_at AS covered_until_at,
		ARRAY(SELECT m.id::text FROM messages m WHERE m.session_id = s.id AND m.pinned_at IS NOT NULL AND ${ACTIVE} ORDER BY m.seq) AS pinned
	FROM chat_sessions s
	LEFT JOIN messages c ON c.session_id = s.id AND c.seq = s.summary_upto_seq
	WHERE s.id = $1`;

interface MemoryRow {
	summary_base: string | null;
	summary: string | null;
	summary_updated_at: Date | null;
	covered_until: string | null;
	covered_until_at: Date | null;
	pinned: string[];
}

export class SessionMemory {
	constructor(private readonly sequelize: Sequelize) {}

	/** The session's memory; null if the session is gone. */
	async read(sessionId: string, transaction?: Transaction): Promise<SessionMemoryView | null> {
		const [row] = await this.query<MemoryRow>(READ, [sessionId], transaction);
		if (!row) return null;
		const { summary_updated_at, covered_until, covered_until_at, pinned } = row;
		return { summary: fullSummary(row), summary_updated_at, covered_until, covered_until_at, pinned };
	}

	/**
	 * Applies the change in one transaction and answers the memory as it then is. A summary becomes the user's base and
	 * clears the folded text; what the summary covers stays covered (`summary_upto_seq` is kept), so later turns are
	 * folded in on top of the user's words. Pins: the full set; the ids of `pinned` that are not active messages of the
	 * session come back in `unknown` (then nothing is changed). Null if the session is gone.
	 */
	async update(
		sessionId: string,
		change: MemoryChange,
	): Promise<{ memory: SessionMemoryView; unknown: string[] } | null> {
		return this.sequelize.transaction(async (transaction) => {
			// Locks the session row: two updates of one memory take turns.
			const [session] = await this.query<{ id: string }>(
				`SELECT id FROM chat_sessions WHERE id = $1 FOR UPDATE`,
				[sessionId],
				transaction,
			);
			if (!session) return null;
			if (change.pinned) {
				const wanted = [...new Set(change.pinned.map((id) => id.toLowerCase()))];
				const found = await this.query<{ id: string }>(
					`SELECT m.id FROM messages m WHERE m.id = ANY($2::uuid[]) AND m.session_id = $1 AND ${ACTIVE}`,
					[sessionId, wanted],
					transaction,
				);
				const known = new Set(found.map((m) => m.id));
				const unknown = wanted.filter((id) => !known.has(id));
				if (unknown.length > 0) return { memory: (await this.read(sessionId, transaction))!, unknown };
				await this.query(
					`UPDATE messages SET pinned_at = CASE WHEN id = ANY($2::uuid[]) THEN COALESCE(pinned_at, now()) END
					 WHERE session_id = $1 AND (pinned_at IS NOT NULL OR id = ANY($2::uuid[]))`,
					[sessionId, wanted],
					transaction,
				);
			}
			if (change.summary !== undefined) {
				const base = change.summary?.trim() ? change.summary : null;
				await this.query(
					`UPDATE chat_sessions SET summary_base = $2, summary = NULL, summary_updated_at = now() WHERE id = $1`,
					[sessionId, base],
					transaction,
				);
			}
			return { memory: (await this.read(sessionId, transaction))!, unknown: [] };
		});
	}

	private query<T extends object>(sql: string, bind: unknown[], transaction?: Transaction): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}
