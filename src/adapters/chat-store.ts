/**
 * PostgreSQL access for chat sessions and messages, shared by chat-ws, the dispatcher and the sessions REST service.
 * PostgreSQL is the source of truth and the outbox: a user message stays `pending` until its reply is stored.
 * What every chat message does (store it, read its session, store its reply) is batched across the messages of one
 * event-loop turn and runs as named statements, which each connection parses and plans once.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { QueryTypes, type Sequelize } from "sequelize";
import { batched } from "./batched.js";
import type { ChatPreset } from "../domain/model-settings.js";

export interface SessionRow {
	id: string;
	username: string;
	character_id: string;
	status: string;
	title: string | null;
	/** The rolling summary's folded part: what was folded in on top of `summary_base` (migration 0011). */
	summary: string | null;
	summary_upto_seq: string | null;
	/** The summary as the user wrote it, verbatim; folds never touch it. */
	summary_base: string | null;
	/** When the user or a fold last changed the summary. */
	summary_updated_at: Date | null;
	/** The persona the user plays here; null: their default. */
	persona_id: string | null;
	/** How many times the stored story was changed in place (bigint, as text): migration 0010. */
	revision: string;
	/** Set for a room (migration 0012); null: a one-character chat. */
	reply_mode: string | null;
	/** A room's cast in speaking order; null: a one-character chat (`character_id`). */
	character_ids: string[] | null;
	/** The model settings its owner chose for it (migration 0018); `{}`: the character's. */
	preset: ChatPreset;
	created_at: Date;
	updated_at: Date;
}

/** A pinned message as the prompt needs it. */
export interface PinnedMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	seq: string;
}

/**
 * A session as a chat message reads it: with its pinned messages (active ones, oldest first) and the lorebooks
 * attached to it (in order), both found through small indexes in the same statement, so a prompt needs no other query.
 */
export interface StoredSession extends SessionRow {
	pinned: PinnedMessage[];
	lorebook_ids: string[];
}

export interface MessageRow {
	id: string;
	seq: string;
	session_id: string;
	username: string;
	character_id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	model: string | null;
	reply_status: "none" | "pending" | "replied" | "failed";
	publish_attempts: number;
	variant: number;
	active: boolean;
	stopped: boolean;
	created_at: Date;
	/** When the user last edited it; null if never. */
	edited_at: Date | null;
	/** When the user pinned it (always in the prompt); null if not pinned. */
	pinned_at: Date | null;
	/** In a room, the persona name a user message was sent as; null otherwise. */
	speaker: string | null;
}

export interface MessageRange {
	session_id: string;
	/** Exclusive; null: from the session's start. */
	after_seq: string | null;
	/** Exclusive. */
	before_seq: string;
	limit: number;
}

export interface NewUserMessage {
	session_id: string;
	username: string;
	character_id: string;
	content: string;
	/** In a room: the persona name it is sent as. Its replies are the room's turns, so it awaits none itself. */
	speaker?: string;
}

export interface NewAiMessage {
	id: string;
	reply_to: string | null;
	variant?: number;
	stopped?: boolean;
	session_id: string;
	username: string;
	character_id: string;
	content: string;
	model: string;
	/** Token usage of a model's reply; absent for greetings and operator messages. */
	input_tokens?: number;
	output_tokens?: number;
	/** Written with the user's own provider key (migration 0019). */
	own_key?: boolean;
}

export interface StoredAiMessage {
	row: MessageRow;
	inserted: boolean;
	answeredCreatedAt: Date | null;
}

/** What `chatStats` reports; latencies are null when no reply was made in the window. */
export interface ChatStats {
	minutes: number;
	user_messages: number;
	replies: number;
	user_messages_per_minute: number;
	replies_per_minute: number;
	latency_p50_ms: number | null;
	latency_p99_ms: number | null;
	input_tokens: number;
	output_tokens: number;
	/** User messages of the window that got `ai_unavailable` (or another failure) instead of a reply. */
	failed_replies: number;
}

export const MESSAGE_COLUMNS =
	"id, seq, session_id, username, character_id, role, content, reply_to, model, reply_status, publish_attempts, variant, active, stopped, created_at, edited_at, pinned_at, speaker";

const SESSION_COLUMNS =
	"id, username, character_id, status, title, summary, summary_upto_seq, summary_base, summary_updated_at, persona_id, revision, reply_mode, character_ids::text[], preset, created_at, updated_at";

/** A statement that runs for every chat message: named, so each pooled connection prepares it once. */
interface HotStatement {
	name: string;
	text: string;
}

const INSERT_USER_MESSAGES: HotStatement = {
	name: "cameo_insert_user_messages",
	text: `INSERT INTO messages (id, session_id, username, character_id, role, content, speaker, reply_status, publish_attempts, last_published_at)
		SELECT id, session_id, username, character_id, 'user', content, speaker, CASE WHEN speaker IS NULL THEN 'pending' ELSE 'none' END,
			1, now()
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[])
			WITH ORDINALITY AS m(id, session_id, username, character_id, content, speaker, n)
		ORDER BY n
		RETURNING ${MESSAGE_COLUMNS}`,
};

/**
 * Inserts the replies not stored yet (a redelivered one conflicts and is skipped), retires the earlier variants of
 * a regenerated reply ($12: the messages regenerated; the new row is not visible to that UPDATE: it stays active)
 * and marks the user messages replied. Rows are found by the arrays given, through their indexes. (Only replies
 * have a `reply_to`, so `role` is not asked for: the generic plan of this named statement would read the seed's
 * index on it, half the table, every time.) Answers with the inserted rows (`answered_at` null) and, after them, the
 * user messages this statement answered (only `id` and `answered_at` set): matched up in code, as joins of CTEs
 * here would be nested loops. A reply to a message rewound meanwhile is not stored: the row it answers is
 * share-locked, so a rewind deleting it waits for this statement, or is waited for and then seen gone (without the
 * check, the foreign key would fail the whole batch).
 */
const INSERT_AI_MESSAGES: HotStatement = {
	name: "cameo_insert_ai_messages",
	text: `WITH inserted AS (
			INSERT INTO messages (id, session_id, username, character_id, role, content, reply_to, model, variant, stopped, input_tokens, output_tokens, own_key)
			SELECT id, session_id, username, character_id, 'ai', content, reply_to, model, variant, stopped, input_tokens, output_tokens, own_key
			FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::int[], $9::boolean[], $10::int[], $11::int[], $13::boolean[])
				WITH ORDINALITY AS m(id, session_id, username, character_id, content, reply_to, model, variant, stopped, input_tokens, output_tokens, own_key, n)
			WHERE m.reply_to IS NULL OR EXISTS (SELECT 1 FROM messages u WHERE u.id = m.reply_to FOR KEY SHARE)
			ORDER BY n
			ON CONFLICT (id) DO NOTHING RETURNING ${MESSAGE_COLUMNS}),
		 superseded AS (
			UPDATE messages m SET active = false
			WHERE m.reply_to = ANY($12::uuid[]) AND m.id <> ALL($1::uuid[])
			  AND EXISTS (SELECT 1 FROM inserted i WHERE i.reply_to = m.reply_to AND i.character_id = m.character_id)),
		 answered AS (
			UPDATE messages SET reply_status = 'replied', generating_since = NULL
			WHERE id = ANY($6::uuid[]) AND (reply_status <> 'replied' OR generating_since IS NOT NULL) RETURNING id, created_at)
		SELECT *, NULL::timestamptz AS answered_at FROM inserted
		UNION ALL
		SELECT ${MESSAGE_COLUMNS.split(", ")
			.map((c) => (c === "id" ? "id" : `NULL AS ${c}`))
			.join(", ")}, created_at FROM answered`,
};

/** For each range asked for (in order, `n`), its session's active messages in it, oldest first. */
const ACTIVE_MESSAGES_BETWEEN: HotStatement = {
	name: "cameo_active_messages_between",
	text: `SELECT q.n, ${MESSAGE_COLUMNS.split(", ")
		.map((c) => `m.${c}`)
		.join(", ")}
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::int[]) WITH ORDINALITY AS q(session_id, after_seq, before_seq, max_rows, n)
		CROSS JOIN LATERAL (
			SELECT * FROM messages
			WHERE session_id = q.session_id AND seq > COALESCE(q.after_seq, 0) AND seq < q.before_seq AND (role = 'user' OR active)
			ORDER BY seq LIMIT q.max_rows) m
		ORDER BY q.n, m.seq`,
};

/** Pinned messages through the partial index ix_messages_pinned: a probe that finds nothing in most sessions. */
const GET_SESSIONS: HotStatement = {
	name: "cameo_get_sessions",
	text: `SELECT ${SESSION_COLUMNS.split(", ")
		.map((c) => `s.${c}`)
		.join(", ")},
			COALESCE((SELECT json_agg(json_build_object('id', m.id, 'role', m.role, 'content', m.content, 'seq', m.seq::text) ORDER BY m.seq)
				FROM messages m WHERE m.session_id = s.id AND m.pinned_at IS NOT NULL AND (m.role = 'user' OR m.active)), '[]') AS pinned,
			ARRAY(SELECT l.lorebook_id::text FROM session_lorebooks l WHERE l.session_id = s.id ORDER BY l.position) AS lorebook_ids
		FROM chat_sessions s WHERE s.id = ANY($1::uuid[])`,
};

/**
 * Up to 200 messages share a statement; two statements of a kind run at once (three kinds: six of the pool's ten
 * connections), and calls made meanwhile wait for the next.
 */
const BATCHING = { maxBatchSize: 200, maxConcurrent: 2 };

const INSERT_SESSION = `INSERT INTO chat_sessions (username, character_id) VALUES ($1, $2) RETURNING ${SESSION_COLUMNS}`;

/** How many of a user's newest sessions with a character are looked through for one to reuse. */
const REUSE_SCAN = 20;

/** Which sessions have a socket open or opening, and how a handshake marks the one it opens. */
export interface SessionClaims {
	taken(sessionIds: string[]): Promise<Set<string>>;
	claim(sessionId: string): void;
}

/** Sequelize's pool: its own queries cannot be named statements. */
interface ConnectionPool {
	getConnection(options: { type: "read" | "write" }): Promise<pg.ClientBase>;
	releaseConnection(connection: pg.ClientBase): Promise<void>;
}

export class ChatStore {
	/** Stores a user message as `pending` (awaiting its reply), counting its first publish attempt. */
	readonly insertUserMessage: (m: NewUserMessage) => Promise<MessageRow>;
	/**
	 * Stores an AI message unless one with this id exists (redelivery), marks the user message replied and retires
	 * the earlier variants of a regenerated reply. Returns the stored row, whether this call inserted it, and, when
	 * this call is what answered the user message (not a redelivery, not a regeneration), that message's
	 * `created_at`: reply latency is measured from it. Null when the message it answers is gone (rewound): nothing
	 * is stored.
	 */
	readonly insertAiMessage: (m: NewAiMessage) => Promise<StoredAiMessage | null>;
	readonly getSession: (id: string) => Promise<StoredSession | null>;
	/**
	 * Active messages of a session with `after_seq` < seq < `before_seq`, oldest first, at most `limit` (what the
	 * rolling summary has not seen). Asked with every reply in a long chat, so batched like the writes.
	 */
	readonly activeMessagesBetween: (range: MessageRange) => Promise<MessageRow[]>;

	constructor(private readonly sequelize: Sequelize) {
		this.insertUserMessage = batched((messages) => this.insertUserMessages(messages), BATCHING);
		// Two replies to one message (a redelivery, two regenerations) go in successive statements: each sees the other.
		this.insertAiMessage = batched((messages) => this.insertAiMessages(messages), {
			...BATCHING,
			conflictKey: (m) => m.reply_to ?? m.id,
		});
		this.getSession = batched((ids) => this.getSessions(ids), BATCHING);
		this.activeMessagesBetween = batched((ranges) => this.activeMessagesInRanges(ranges), BATCHING);
	}

	async createSession(username: string, characterId: string): Promise<SessionRow> {
		const [row] = await this.select<SessionRow>(INSERT_SESSION, [username, characterId]);
		return row;
	}

	/**
	 * The session a handshake without `session_id` opens: the user's newest one with this character in which nothing
	 * has been said yet, that opened with the same greeting and that no socket holds (`sockets.taken`), else a new one
	 * with the greeting stored. Handshakes of one user and character take turns (an advisory lock) and the chosen
	 * session is claimed (`sockets.claim`) before the next one looks, so reconnecting without a session id reuses one
	 * empty chat, while two tabs opened at once still get a chat each.
	 */
	async openFreshSession(
		username: string,
		characterId: string,
		greeting: string,
		sockets: SessionClaims,
	): Promise<SessionRow> {
		return this.sequelize.transaction(async (transaction) => {
			const query = <T extends object>(sql: string, bind: unknown[]) =>
				this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
			await query(`SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))`, [username, characterId]);
			const empty = await query<SessionRow>(
				`SELECT ${SESSION_COLUMNS} FROM (
					SELECT * FROM chat_sessions WHERE username = $1 AND character_id = $2 AND reply_mode IS NULL
					ORDER BY created_at DESC LIMIT ${REUSE_SCAN}) s
				 WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id AND m.role = 'user')
				   AND (SELECT content FROM messages g WHERE g.session_id = s.id ORDER BY seq LIMIT 1) IS NOT DISTINCT FROM $3
				 ORDER BY created_at DESC`,
				[username, characterId, greeting || null],
			);
			const taken = empty.length > 0 ? await sockets.taken(empty.map((s) => s.id)) : new Set<string>();
			const reusable = empty.find((s) => !taken.has(s.id));
			if (reusable) {
				sockets.claim(reusable.id);
				return reusable;
			}
			const [session] = await query<SessionRow>(INSERT_SESSION, [username, characterId]);
			if (greeting) {
				await query(
					`INSERT INTO messages (id, session_id, username, character_id, role, content, model) VALUES ($1, $2, $3, $4, 'ai', $5, 'greeting')`,
					[randomUUID(), session.id, username, characterId, greeting],
				);
			}
			sockets.claim(session.id);
			return session;
		});
	}

	private async insertUserMessages(messages: NewUserMessage[]): Promise<MessageRow[]> {
		const ids = messages.map(() => randomUUID());
		const rows = await this.run<MessageRow>(INSERT_USER_MESSAGES, [
			ids,
			messages.map((m) => m.session_id),
			messages.map((m) => m.username),
			messages.map((m) => m.character_id),
			messages.map((m) => m.content),
			messages.map((m) => m.speaker ?? null),
		]);
		const byId = new Map(rows.map((row) => [row.id, row]));
		return ids.map((id) => byId.get(id)!);
	}

	private async insertAiMessages(messages: NewAiMessage[]): Promise<(StoredAiMessage | null)[]> {
		const rows = await this.run<MessageRow & { answered_at: Date | null }>(INSERT_AI_MESSAGES, [
			messages.map((m) => m.id),
			messages.map((m) => m.session_id),
			messages.map((m) => m.username),
			messages.map((m) => m.character_id),
			messages.map((m) => m.content),
			messages.map((m) => m.reply_to),
			messages.map((m) => m.model),
			messages.map((m) => m.variant ?? 0),
			messages.map((m) => m.stopped ?? false),
			messages.map((m) => m.input_tokens ?? null),
			messages.map((m) => m.output_tokens ?? null),
			messages.flatMap((m) => ((m.variant ?? 0) > 0 && m.reply_to ? [m.reply_to] : [])),
			messages.map((m) => m.own_key ?? false),
		]);
		const inserted = new Map<string, MessageRow>();
		const answeredAt = new Map<string, Date>();
		for (const { answered_at, ...row } of rows) {
			if (answered_at) answeredAt.set(row.id, answered_at);
			else inserted.set(row.id, row);
		}
		return Promise.all(
			messages.map(async (m) => {
				// A regeneration also releases its message (generating_since): its clock started with the user's ask.
				const answeredCreatedAt = (!m.variant && m.reply_to && answeredAt.get(m.reply_to)) || null;
				const row = inserted.get(m.id);
				if (row) return { row, inserted: true, answeredCreatedAt };
				// Stored before (a redelivery): read it as it is. Not found: the message it answers was rewound.
				const existing = await this.getMessage(m.id);
				return existing && { row: existing, inserted: false, answeredCreatedAt };
			}),
		);
	}

	private async activeMessagesInRanges(ranges: MessageRange[]): Promise<MessageRow[][]> {
		const rows = await this.run<MessageRow & { n: string }>(ACTIVE_MESSAGES_BETWEEN, [
			ranges.map((r) => r.session_id),
			ranges.map((r) => r.after_seq),
			ranges.map((r) => r.before_seq),
			ranges.map((r) => r.limit),
		]);
		const found = ranges.map((): MessageRow[] => []);
		for (const { n, ...row } of rows) found[Number(n) - 1].push(row);
		return found;
	}

	private async getSessions(ids: string[]): Promise<(StoredSession | null)[]> {
		const rows = await this.run<StoredSession>(GET_SESSIONS, [ids]);
		const byId = new Map(rows.map((row) => [row.id, row]));
		return ids.map((id) => byId.get(id) ?? null);
	}

	/** The session's revision as of now; 0 for a session that is gone. */
	async revision(sessionId: string): Promise<number> {
		const [row] = await this.select<{ revision: string }>(`SELECT revision FROM chat_sessions WHERE id = $1`, [
			sessionId,
		]);
		return Number(row?.revision ?? 0);
	}

	async getMessage(id: string): Promise<MessageRow | null> {
		const [row] = await this.select<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [id]);
		return row ?? null;
	}

	/** The id of the session's newest user message, if any. */
	async lastUserMessageId(sessionId: string): Promise<string | null> {
		const [row] = await this.select<{ id: string }>(
			`SELECT id FROM messages WHERE session_id = $1 AND role = 'user' ORDER BY seq DESC LIMIT 1`,
			[sessionId],
		);
		return row?.id ?? null;
	}

	/**
	 * Marks user message `userMessageId` as having a regeneration written (`generating_since`, until its reply or
	 * failure is stored: a continue of its reply waits) and answers the variant number the regeneration gets.
	 */
	async startRegeneration(userMessageId: string): Promise<number> {
		const [row] = await this.select<{ next: number }>(
			`UPDATE messages SET generating_since = now() WHERE id = $1
			 RETURNING (SELECT COALESCE(MAX(variant) + 1, 0)::int FROM messages WHERE reply_to = $1 AND role = 'ai') AS next`,
			[userMessageId],
		);
		return row?.next ?? 0;
	}

	/** A regeneration failed: its message is no longer being answered. False if the message is gone (rewound). */
	async endRegeneration(userMessageId: string): Promise<boolean> {
		const rows = await this.select<{ id: string }>(
			`UPDATE messages SET generating_since = NULL WHERE id = $1 RETURNING id`,
			[userMessageId],
		);
		return rows.length > 0;
	}

	/** The variant number a regeneration of the reply to `userMessageId` gets. */
	async nextVariant(userMessageId: string): Promise<number> {
		const [row] = await this.select<{ next: number }>(
			`SELECT COALESCE(MAX(variant) + 1, 0)::int AS next FROM messages WHERE reply_to = $1 AND role = 'ai'`,
			[userMessageId],
		);
		return row.next;
	}

	/**
	 * Stores a newer folded summary (the part on top of the user's `summary_base`, which stays as it is); an older one
	 * (a slower concurrent fold) never overwrites it. With `foldedFrom`, the summary as the fold read it: nothing is
	 * stored if it has changed since (the user wrote their own meanwhile, clearing what was folded).
	 */
	async updateSummary(
		sessionId: string,
		summary: string,
		uptoSeq: string,
		foldedFrom?: Pick<SessionRow, "summary" | "summary_base">,
	): Promise<void> {
		const unchanged = foldedFrom ? "AND summary IS NOT DISTINCT FROM $4 AND summary_base IS NOT DISTINCT FROM $5" : "";
		await this.sequelize.query(
			`UPDATE chat_sessions SET summary = $2, summary_upto_seq = $3, summary_updated_at = now()
			 WHERE id = $1 AND (summary_upto_seq IS NULL OR summary_upto_seq < $3::bigint) ${unchanged}`,
			{ bind: [sessionId, summary, uptoSeq, ...(foldedFrom ? [foldedFrom.summary, foldedFrom.summary_base] : [])] },
		);
	}

	/** Gives up on a user message: no reply will come. Returns false if it was already replied or failed. */
	async markReplyFailed(userMessageId: string): Promise<boolean> {
		const rows = await this.select<{ id: string }>(
			`UPDATE messages SET reply_status = 'failed' WHERE id = $1 AND reply_status = 'pending' RETURNING id`,
			[userMessageId],
		);
		return rows.length > 0;
	}

	/** Messages of a session after the one with id `afterId`, oldest first. Unknown `afterId`: from the start. */
	async messagesAfter(sessionId: string, afterId: string | undefined, limit: number): Promise<MessageRow[]> {
		return this.select<MessageRow>(
			`SELECT ${MESSAGE_COLUMNS} FROM messages
			 WHERE session_id = $1 AND seq > COALESCE((SELECT seq FROM messages WHERE id = $2 AND session_id = $1), 0)
			 ORDER BY seq LIMIT $3`,
			[sessionId, afterId ?? null, limit],
		);
	}

	/**
	 * The latest `limit` messages of a session (up to and including `upToId` when given), oldest first.
	 * With `activeOnly`, replaced reply variants are left out (what the model sees).
	 */
	async latestMessages(sessionId: string, limit: number, upToId?: string, activeOnly = false): Promise<MessageRow[]> {
		const rows = await this.select<MessageRow>(
			`SELECT ${MESSAGE_COLUMNS} FROM messages
			 WHERE session_id = $1 AND ($2::uuid IS NULL OR seq <= (SELECT seq FROM messages WHERE id = $2))
			   AND (${activeOnly ? "role = 'user' OR active" : "true"})
			 ORDER BY seq DESC LIMIT $3`,
			[sessionId, upToId ?? null, limit],
		);
		return rows.reverse();
	}

	/** A page of history, newest first, strictly before message `beforeId` when given. */
	async pageMessages(sessionId: string, beforeId: string | undefined, limit: number): Promise<MessageRow[]> {
		return this.select<MessageRow>(
			`SELECT ${MESSAGE_COLUMNS} FROM messages
			 WHERE session_id = $1 AND ($2::uuid IS NULL OR seq < (SELECT seq FROM messages WHERE id = $2 AND session_id = $1))
			 ORDER BY seq DESC LIMIT $3`,
			[sessionId, beforeId ?? null, limit],
		);
	}

	/**
	 * The outbox sweep: claims user messages still waiting for a reply `staleSeconds` after their last publish,
	 * counting one more attempt. SKIP LOCKED lets several dispatchers sweep at once without claiming the same rows.
	 */
	async claimStaleUserMessages(staleSeconds: number, limit: number): Promise<MessageRow[]> {
		return this.select<MessageRow>(
			`UPDATE messages SET publish_attempts = publish_attempts + 1, last_published_at = now()
			 WHERE id IN (
				SELECT id FROM messages
				WHERE reply_status = 'pending' AND last_published_at < now() - make_interval(secs => $1)
				ORDER BY last_published_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			 RETURNING ${MESSAGE_COLUMNS}`,
			[staleSeconds, limit],
		);
	}

	async deleteSession(id: string): Promise<void> {
		await this.sequelize.query(`DELETE FROM chat_sessions WHERE id = $1`, { bind: [id] });
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}

	/** A hot statement on a connection of Sequelize's pool (same type parsers as its own queries). */
	private async run<T extends pg.QueryResultRow>(statement: HotStatement, values: unknown[]): Promise<T[]> {
		const pool = this.sequelize.connectionManager as unknown as ConnectionPool;
		const connection = await pool.getConnection({ type: "write" });
		try {
			return (await connection.query<T>({ ...statement, values })).rows;
		} finally {
			await pool.releaseConnection(connection);
		}
	}

	/**
	 * Traffic of the last `minutes`. Latency is a first reply's `created_at` minus its user message's; regenerations
	 * and stopped replies are left out of it (their clock starts or ends with the user, not the pipeline).
	 */
	async chatStats(minutes: number): Promise<ChatStats> {
		const [row] = await this.select<Omit<ChatStats, "minutes" | "user_messages_per_minute" | "replies_per_minute">>(
			`WITH recent AS (SELECT * FROM messages WHERE created_at > now() - make_interval(mins => $1)),
			 latency AS (
				SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM r.created_at - u.created_at) * 1000) AS p
				FROM recent r JOIN messages u ON u.id = r.reply_to
				WHERE r.role = 'ai' AND r.variant = 0 AND NOT r.stopped)
			 SELECT count(*) FILTER (WHERE role = 'user')::int AS user_messages,
			        count(*) FILTER (WHERE role = 'ai' AND reply_to IS NOT NULL)::int AS replies,
			        count(*) FILTER (WHERE role = 'user' AND reply_status = 'failed')::int AS failed_replies,
			        COALESCE(sum(input_tokens) FILTER (WHERE NOT own_key), 0)::float8 AS input_tokens,
			        COALESCE(sum(output_tokens) FILTER (WHERE NOT own_key), 0)::float8 AS output_tokens,
			        (SELECT p[1] FROM latency) AS latency_p50_ms,
			        (SELECT p[2] FROM latency) AS latency_p99_ms
			 FROM recent`,
			[minutes],
		);
		return {
			minutes,
			...row,
			user_messages_per_minute: row.user_messages / minutes,
			replies_per_minute: row.replies / minutes,
		};
	}
}
