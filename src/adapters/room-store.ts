/**
 * PostgreSQL access for rooms (migration 0012): who is in one and as whom, its cast and reply mode.
 */
import { randomBytes } from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { ReplyMode } from "../domain/rooms.js";
import { roomHasSpace, type CastRow, type InviteRow, type PersonRow, type RoomDetails } from "../domain/room-view.js";

export type RoomRole = "owner" | "member";

/** Someone's place in a session: its owner, or a member of a room (with the persona they chose; null: their default). */
export interface Membership {
	role: RoomRole;
	persona_id: string | null;
}

/** A session as its sockets need it: a room has a reply mode and a cast; a one-character chat neither. */
export interface RoomShape {
	id: string;
	owner: string;
	reply_mode: ReplyMode | null;
	/** The cast in speaking order (a one-character chat: its character). */
	character_ids: string[];
}

/** A new room: its owner, cast (in order), reply mode, title and persona, and the greetings it opens with. */
export interface NewRoom {
	owner: string;
	characterIds: string[];
	replyMode: ReplyMode;
	title: string | null;
	personaId: string | null;
	/** Stored as the owner's AI messages in this order (a character without a greeting has none). */
	greetings: { characterId: string; content: string }[];
}

/** Someone who may be added to a room: an account that exists and is not disabled. */
export interface RoomCandidate {
	id: string;
	username: string;
	name: string;
}

/** What adding someone to a room (by the owner, or through an invite) came to. */
export type JoinResult = "joined" | "already" | "full" | "refused";
/** What accepting an invite came to: "unknown" for a code that does not exist (or a room that refuses the caller). */
export type AcceptResult = { result: JoinResult | "unknown" | "expired"; sessionId?: string };

const INVITE_COLUMNS = "code, session_id, max_uses, uses, expires_at, created_at";

export class RoomStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** `username`'s place in session `sessionId`, or null: not theirs (removed members included). */
	async membership(sessionId: string, username: string): Promise<Membership | null> {
		const [row] = await this.sequelize.query<Membership>(
			`SELECT 'owner' AS role, s.persona_id FROM chat_sessions s WHERE s.id = $1 AND s.username = $2
			 UNION ALL
			 SELECT 'member', m.persona_id FROM session_members m
			 WHERE m.session_id = $1 AND m.username = $2 AND m.removed_at IS NULL
			 LIMIT 1`,
			{ bind: [sessionId, username], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/** Who `username` plays in the session from now on: the owner's is the session's persona, a member's their own. */
	async choosePersona(sessionId: string, membership: Membership, username: string, personaId: string): Promise<void> {
		const sql =
			membership.role === "owner"
				? `UPDATE chat_sessions SET persona_id = $3 WHERE id = $1 AND username = $2`
				: `UPDATE session_members SET persona_id = $3 WHERE session_id = $1 AND username = $2`;
		await this.sequelize.query(sql, { bind: [sessionId, username, personaId] });
	}

	/** The session's owner, reply mode and cast; null if there is no such session. */
	async shape(sessionId: string): Promise<RoomShape | null> {
		const [row] = await this.sequelize.query<RoomShape>(
			`SELECT id, username AS owner, reply_mode, COALESCE(character_ids, ARRAY[character_id])::text[] AS character_ids
			 FROM chat_sessions WHERE id = $1`,
			{ bind: [sessionId], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/** Usernames of a session's people: its owner first, then its members in the order they joined. */
	async people(sessionId: string): Promise<string[]> {
		const rows = await this.sequelize.query<{ username: string }>(
			`SELECT username FROM (
				SELECT s.username, 0 AS k, s.created_at AS t FROM chat_sessions s WHERE s.id = $1
				UNION ALL
				SELECT m.username, 1, m.joined_at FROM session_members m WHERE m.session_id = $1 AND m.removed_at IS NULL
			 ) p ORDER BY k, t, username`,
			{ bind: [sessionId], type: QueryTypes.SELECT },
		);
		return rows.map((r) => r.username);
	}

	/** Creates a room owned by `room.owner` with its greetings, in one transaction; answers its id. */
	async create(room: NewRoom): Promise<string> {
		return this.sequelize.transaction(async (transaction) => {
			const [made] = await this.select<{ id: string }>(
				transaction,
				`INSERT INTO chat_sessions (username, character_id, character_ids, reply_mode, title, persona_id)
				 VALUES ($1, $2, $3::uuid[], $4, $5, $6) RETURNING id`,
				[room.owner, room.characterIds[0], room.characterIds, room.replyMode, room.title, room.personaId],
			);
			// One statement, in cast order: seq follows the order of the rows inserted.
			await this.select(
				transaction,
				`INSERT INTO messages (id, session_id, username, character_id, role, content, model)
				 SELECT gen_random_uuid(), $1, $2, g.character_id, 'ai', g.content, 'greeting'
				 FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY AS g(character_id, content, n)
				 ORDER BY g.n`,
				[made.id, room.owner, room.greetings.map((g) => g.characterId), room.greetings.map((g) => g.content)],
			);
			return made.id;
		});
	}

	/**
	 * Sessions' casts (in order, with name and whether each has a picture) and people (the owner first, then members as
	 * they joined, each with the persona they chose there, else their default), in two statements for any number.
	 */
	async details(sessionIds: readonly string[]): Promise<Map<string, RoomDetails>> {
		const bind = [sessionIds];
		const [characters, people] = await Promise.all([
			this.sequelize.query<CastRow & { session_id: string }>(
				`SELECT s.id AS session_id, c.id, c.name, c.avatar IS NOT NULL AS has_avatar
				 FROM chat_sessions s
				 CROSS JOIN LATERAL unnest(COALESCE(s.character_ids, ARRAY[s.character_id])) WITH ORDINALITY AS k(id, n)
				 JOIN ai_characters c ON c.id = k.id
				 WHERE s.id = ANY($1::uuid[]) ORDER BY s.id, k.n`,
				{ bind, type: QueryTypes.SELECT },
			),
			this.sequelize.query<PersonRow & { session_id: string }>(
				`SELECT p.session_id, p.username, u.name, p.role, COALESCE(cp.id, dp.id) AS persona_id,
					COALESCE(cp.name, dp.name) AS persona_name
				 FROM (
					SELECT s.id AS session_id, s.username, 'owner' AS role, s.persona_id, 0 AS k, s.created_at AS t
					FROM chat_sessions s WHERE s.id = ANY($1::uuid[])
					UNION ALL
					SELECT m.session_id, m.username, 'member', m.persona_id, 1, m.joined_at FROM session_members m
					WHERE m.session_id = ANY($1::uuid[]) AND m.removed_at IS NULL
				 ) p
				 JOIN users u ON u.username = p.username
				 LEFT JOIN personas cp ON cp.id = p.persona_id AND cp.user_id = u.id
				 LEFT JOIN personas dp ON dp.user_id = u.id AND dp.is_default AND cp.id IS NULL
				 ORDER BY p.session_id, p.k, p.t, p.username`,
				{ bind, type: QueryTypes.SELECT },
			),
		]);
		const found = new Map<string, RoomDetails>(sessionIds.map((id) => [id, { characters: [], people: [] }]));
		for (const { session_id, ...c } of characters) found.get(session_id)?.characters.push(c);
		for (const { session_id, ...p } of people) found.get(session_id)?.people.push(p);
		return found;
	}

	/** An account that may join a room, found by username in any case; null when unknown or disabled. */
	async candidate(username: string): Promise<RoomCandidate | null> {
		const [row] = await this.sequelize.query<RoomCandidate>(
			`SELECT id, username, name FROM users WHERE lower(username) = lower($1) AND NOT is_disabled`,
			{ bind: [username], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/**
	 * Adds `username` to the room as its owner does it: a member removed before is let back in. The room's row is
	 * locked, so concurrent joins cannot pass `maxMembers` (owner included).
	 */
	async addMember(sessionId: string, username: string, maxMembers: number): Promise<JoinResult> {
		return this.sequelize.transaction(async (transaction) =>
			this.join(transaction, sessionId, username, maxMembers, true),
		);
	}

	/** A member leaves: their row goes (they may come back by a link). False when they were not a member. */
	async leave(sessionId: string, username: string): Promise<boolean> {
		const rows = await this.sequelize.query<{ username: string }>(
			`DELETE FROM session_members WHERE session_id = $1 AND username = $2 AND removed_at IS NULL RETURNING username`,
			{ bind: [sessionId, username], type: QueryTypes.SELECT },
		);
		return rows.length > 0;
	}

	/**
	 * The owner removes a member: their row stays with `removed_at`, so links no longer let them in. Answers the
	 * member's username as stored ("already" when they were removed before), or null when they are not a member.
	 */
	async removeMember(sessionId: string, username: string): Promise<{ username: string; already: boolean } | null> {
		const [row] = await this.sequelize.query<{ username: string; already: boolean }>(
			`WITH old AS (SELECT username, removed_at IS NOT NULL AS already FROM session_members
				WHERE session_id = $1 AND lower(username) = lower($2) FOR UPDATE)
			 UPDATE session_members m SET removed_at = COALESCE(m.removed_at, now())
			 FROM old WHERE m.session_id = $1 AND m.username = old.username
			 RETURNING m.username, old.already`,
			{ bind: [sessionId, username], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/** Which persona a member plays in the room (null: their default). */
	async setMemberPersona(sessionId: string, username: string, personaId: string | null): Promise<boolean> {
		const rows = await this.sequelize.query<{ username: string }>(
			`UPDATE session_members SET persona_id = $3 WHERE session_id = $1 AND username = $2 AND removed_at IS NULL
			 RETURNING username`,
			{ bind: [sessionId, username, personaId], type: QueryTypes.SELECT },
		);
		return rows.length > 0;
	}

	/** Sets the room's reply mode and cast (`character_id` follows the first of the cast). */
	async updateRoom(sessionId: string, replyMode: ReplyMode, characterIds: string[]): Promise<boolean> {
		const rows = await this.sequelize.query<{ id: string }>(
			`UPDATE chat_sessions SET reply_mode = $2, character_ids = $3::uuid[], character_id = $4, updated_at = now()
			 WHERE id = $1 RETURNING id`,
			{ bind: [sessionId, replyMode, characterIds, characterIds[0]], type: QueryTypes.SELECT },
		);
		return rows.length > 0;
	}

	/** A new invite link to the room: a random code of 24 URL-safe characters. */
	async createInvite(
		sessionId: string,
		createdBy: string,
		terms: { maxUses: number | null; ttlSeconds: number },
	): Promise<InviteRow> {
		const [row] = await this.sequelize.query<InviteRow>(
			`INSERT INTO session_invites (code, session_id, created_by, max_uses, expires_at)
			 VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING ${INVITE_COLUMNS}`,
			{
				bind: [randomBytes(18).toString("base64url"), sessionId, createdBy, terms.maxUses, terms.ttlSeconds],
				type: QueryTypes.SELECT,
			},
		);
		return row;
	}

	/** The room's invites, newest first (those that no longer work too, until the room goes). */
	async invites(sessionId: string): Promise<InviteRow[]> {
		return this.sequelize.query<InviteRow>(
			`SELECT ${INVITE_COLUMNS} FROM session_invites WHERE session_id = $1 ORDER BY created_at DESC, code`,
			{ bind: [sessionId], type: QueryTypes.SELECT },
		);
	}

	/** Revokes one of the room's invites; false when it has no such invite. */
	async revokeInvite(sessionId: string, code: string): Promise<boolean> {
		const rows = await this.sequelize.query<{ code: string }>(
			`DELETE FROM session_invites WHERE session_id = $1 AND code = $2 RETURNING code`,
			{ bind: [sessionId, code], type: QueryTypes.SELECT },
		);
		return rows.length > 0;
	}

	/**
	 * `username` accepts invite `code`. The room's row is locked first, so accepts and adds of one room take turns and
	 * the member cap holds; a use is taken (atomically: live, uses left) only by someone who joins. Owner and members
	 * join again for free; someone the owner removed is told the code is unknown.
	 */
	async acceptInvite(code: string, username: string, maxMembers: number): Promise<AcceptResult> {
		return this.sequelize.transaction(async (transaction) => {
			const [invite] = await this.select<{ session_id: string }>(
				transaction,
				`SELECT session_id FROM session_invites WHERE code = $1`,
				[code],
			);
			if (!invite) return { result: "unknown" };
			const sessionId = invite.session_id;
			const [room] = await this.select<{ username: string; reply_mode: string | null }>(
				transaction,
				`SELECT username, reply_mode FROM chat_sessions WHERE id = $1 FOR UPDATE`,
				[sessionId],
			);
			if (!room || room.reply_mode === null) return { result: "unknown" };
			const before = await this.place(transaction, sessionId, username);
			if (before === "removed") return { result: "unknown" };
			if (before === "owner" || before === "member") return { result: "already", sessionId };
			const [taken] = await this.select<{ code: string }>(
				transaction,
				`UPDATE session_invites SET uses = uses + 1
				 WHERE code = $1 AND (max_uses IS NULL OR uses < max_uses) AND (expires_at IS NULL OR expires_at > now())
				 RETURNING code`,
				[code],
			);
			if (!taken) return { result: "expired", sessionId };
			const result = await this.join(transaction, sessionId, username, maxMembers, false);
			// A full room gives the use back: the transaction ends without it.
			if (result === "full")
				await this.select(transaction, `UPDATE session_invites SET uses = uses - 1 WHERE code = $1`, [code]);
			return { result, sessionId };
		});
	}

	/** Joins under the room's lock (held by the caller's transaction or taken here). */
	private async join(
		transaction: Transaction,
		sessionId: string,
		username: string,
		maxMembers: number,
		byOwner: boolean,
	): Promise<JoinResult> {
		await this.select(transaction, `SELECT id FROM chat_sessions WHERE id = $1 FOR UPDATE`, [sessionId]);
		const before = await this.place(transaction, sessionId, username);
		if (before === "owner" || before === "member") return "already";
		if (before === "removed" && !byOwner) return "refused";
		const [{ n }] = await this.select<{ n: number }>(
			transaction,
			`SELECT count(*)::int + 1 AS n FROM session_members WHERE session_id = $1 AND removed_at IS NULL`,
			[sessionId],
		);
		if (!roomHasSpace(n, maxMembers)) return "full";
		await this.select(
			transaction,
			`INSERT INTO session_members (session_id, username) VALUES ($1, $2)
			 ON CONFLICT (session_id, username) DO UPDATE SET removed_at = NULL, joined_at = now(), persona_id = NULL`,
			[sessionId, username],
		);
		return "joined";
	}

	/** Where `username` stands in the room: its owner, a member, removed by the owner, or nobody. */
	private async place(
		transaction: Transaction,
		sessionId: string,
		username: string,
	): Promise<"owner" | "member" | "removed" | "none"> {
		const [row] = await this.select<{ place: "owner" | "member" | "removed" }>(
			transaction,
			`SELECT 'owner' AS place FROM chat_sessions WHERE id = $1 AND username = $2
			 UNION ALL
			 SELECT CASE WHEN removed_at IS NULL THEN 'member' ELSE 'removed' END FROM session_members
			 WHERE session_id = $1 AND username = $2
			 LIMIT 1`,
			[sessionId, username],
		);
		return row?.place ?? "none";
	}

	private select<T extends object>(transaction: Transaction, sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}
