/**
 * PostgreSQL search over the messages a user may read: the sessions they own and the rooms they are a member of (not
 * one they were removed from), as GET /sessions/{id}/messages allows. A message matches by word (`simple`
 * configuration, GIN index ix_messages_content_fts) or, for queries long enough or written without spaces, by
 * substring (ILIKE over the user's own messages: cheap per row, and no index to keep up on every message stored). The
 * two are found apart and joined, so the word match can use its index while the substring match reads only the
 * user's messages. Replies' variants that are not shown are left out. Hits come by ts_rank, best first, then newest
 * first; ts_headline runs on the page's rows only. The query runs under a statement timeout, so a search too broad
 * cannot hold a connection for long.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import {
	HEADLINE_OPTIONS,
	HIGHLIGHT_END,
	HIGHLIGHT_START,
	SEARCH_STATEMENT_TIMEOUT_MS,
	encodeCursor,
	snippetOf,
	substringPattern,
	type SearchCursor,
	type SearchHit,
	type SearchPage,
} from "../domain/search.js";

export interface SearchRequest {
	username: string;
	q: string;
	characterId?: string;
	limit: number;
	before?: SearchCursor;
}

/**
 * `$1` username, `$2` the query, `$3` the substring pattern or null, `$4` a character or null, `$5`/`$6` the cursor's
 * rank and seq or null, `$7` the page size (one more is read to tell whether another page exists), `$8` the markers
 * stripped from the text, `$9` ts_headline's options.
 */
const SEARCH = `WITH readable AS (
		SELECT o.id FROM chat_sessions o WHERE o.username = $1
		UNION ALL SELECT sm.session_id FROM session_members sm WHERE sm.username = $1 AND sm.removed_at IS NULL
	), matched AS (
		SELECT m.id FROM messages m
		WHERE m.session_id IN (SELECT id FROM readable)
		  AND to_tsvector('simple', m.content) @@ websearch_to_tsquery('simple', $2)
		UNION
		-- Session by session through the session index: OFFSET 0 keeps the planner from flattening this into one scan
		-- of every user's messages, which it would pick for a pattern it guesses rare (1.3 s against 0.7 s for one
		-- user's 100,000 messages among 1,000,000).
		SELECT x.id FROM readable r CROSS JOIN LATERAL (
			SELECT m.id FROM messages m WHERE m.session_id = r.id AND m.content ILIKE $3 OFFSET 0
		) x
		WHERE $3::text IS NOT NULL
	)
	SELECT h.id, h.session_id, h.role, h.character_id, h.created_at, h.seq::text AS seq, h.rank, h.content,
		c.name AS character_name, s.title AS session_title, s.reply_mode,
		ts_headline('simple', translate(h.content, $8, ''), websearch_to_tsquery('simple', $2), $9) AS headline
	FROM (
		SELECT m.id, m.session_id, m.role, m.character_id, m.created_at, m.seq, m.content,
			ts_rank(to_tsvector('simple', m.content), websearch_to_tsquery('simple', $2))::float8 AS rank
		FROM messages m JOIN matched USING (id)
		WHERE (m.role = 'user' OR m.active)
		  AND ($4::uuid IS NULL OR m.session_id IN (SELECT w.id FROM chat_sessions w
				WHERE w.character_id = $4::uuid OR $4::uuid = ANY (w.character_ids)))
	) h
	JOIN chat_sessions s ON s.id = h.session_id
	JOIN ai_characters c ON c.id = h.character_id
	WHERE $5::float8 IS NULL OR (h.rank, h.seq) < ($5::float8, $6::bigint)
	ORDER BY h.rank DESC, h.seq DESC
	LIMIT $7`;

interface Row {
	id: string;
	session_id: string;
	role: "user" | "ai";
	character_id: string;
	created_at: Date;
	seq: string;
	rank: number;
	content: string;
	character_name: string;
	session_title: string | null;
	reply_mode: string | null;
	headline: string;
}

/** PostgreSQL's query_canceled: the statement timeout. */
const QUERY_CANCELED = "57014";

export class SearchStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** One page of hits; rejects with `SearchTimedOut` when the statement timeout stopped it. */
	async search(request: SearchRequest): Promise<SearchPage> {
		const { username, q, characterId, limit, before } = request;
		const rows = await this.sequelize
			.transaction(async (transaction) => {
				await this.sequelize.query(`SET LOCAL statement_timeout = ${SEARCH_STATEMENT_TIMEOUT_MS}`, { transaction });
				return this.sequelize.query<Row>(SEARCH, {
					type: QueryTypes.SELECT,
					transaction,
					bind: [
						username,
						q,
						substringPattern(q),
						characterId ?? null,
						before?.rank ?? null,
						before?.seq ?? null,
						limit + 1,
						HIGHLIGHT_START + HIGHLIGHT_END,
						HEADLINE_OPTIONS,
					],
				});
			})
			.catch((err: unknown) => {
				const code = (err as { parent?: { code?: string } }).parent?.code;
				throw code === QUERY_CANCELED ? new SearchTimedOut() : err;
			});
		const page = rows.slice(0, limit);
		const last = page.at(-1);
		return {
			hits: page.map(toHit(q)),
			next_before: rows.length > limit && last ? encodeCursor({ rank: Number(last.rank), seq: last.seq }) : null,
		};
	}
}

export class SearchTimedOut extends Error {
	constructor() {
		super("The search took too long");
	}
}

function toHit(q: string) {
	return (row: Row): SearchHit => ({
		session_id: row.session_id,
		message_id: row.id,
		role: row.role,
		timestamp: row.created_at,
		character_id: row.character_id,
		character_name: row.character_name,
		session_title: row.session_title,
		reply_mode: row.reply_mode,
		...snippetOf(row.headline, row.content, q),
	});
}
