/**
 * PostgreSQL access for chat export and import (services/chat-transfer.service.ts): a session's messages with what
 * an import kept of them, and a new session made from an imported file. Imported messages are history, never sent
 * to the model: a user message reads `replied` when a reply follows it, else `none`, so no outbox sweep picks it up;
 * an imported room's user messages get their turns as done, so the room sweep (which queues a recent message that has
 * none) leaves them too.
 */
import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { replyId } from "../domain/chat-wire.js";
import type { ImportedChat, Leftover, StoredChatMessage } from "../domain/chat-export.js";

/** The session's own fields an export writes that the session view does not show as stored. */
export interface TransferSessionRow {
	title: string | null;
	created_at: Date;
	summary_base: string | null;
	summary: string | null;
	chat_metadata: Record<string, unknown> | null;
}

export interface ImportOwner {
	username: string;
	userId: string;
}

/** Rows per INSERT statement: one statement of 10,000 rows would hold a connection and the event loop for long. */
const INSERT_BATCH = 500;

interface MessageInsert {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	reply_status: "none" | "replied";
	variant: number;
	active: boolean;
	stopped: boolean;
	created_at: Date;
	edited_at: Date | null;
	pinned: boolean;
	character_id: string;
	/** A room's user message: the name it was said under. */
	speaker: string | null;
	extra: Leftover | null;
}

export class ChatTransferStore {
	constructor(private readonly sequelize: Sequelize) {}

	async session(sessionId: string): Promise<TransferSessionRow | null> {
		const [row] = await this.sequelize.query<TransferSessionRow>(
			`SELECT title, created_at, summary_base, summary, chat_metadata FROM chat_sessions WHERE id = $1`,
			{ bind: [sessionId], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/** Every message of the session, every variant, in the session's order. */
	async messages(sessionId: string): Promise<StoredChatMessage[]> {
		return this.sequelize.query<StoredChatMessage>(
			`SELECT id, role, content, reply_to, character_id, username, variant, active, stopped, model, created_at,
				edited_at, pinned_at, speaker, extra
			 FROM messages WHERE session_id = $1 ORDER BY seq`,
			{ bind: [sessionId], type: QueryTypes.SELECT },
		);
	}

	/** Names of the characters by id (a room's speakers, or replies imported from one). */
	async characterNames(ids: string[]): Promise<Map<string, string>> {
		const rows = await this.sequelize.query<{ id: string; name: string }>(
			`SELECT id, name FROM ai_characters WHERE id = ANY($1::uuid[])`,
			{ bind: [ids], type: QueryTypes.SELECT },
		);
		return new Map(rows.map((r) => [r.id, r.name]));
	}

	/**
	 * A new session of `owner` holding the chat's turns in order: one-character with `target.characterId`, or a room
	 * with `target.room`'s cast whose only person is the owner (the file's other people are names, never accounts
	 * here); the persona only if it is the owner's, the lorebooks only those they may read. Answers its id.
	 */
	async importChat(owner: ImportOwner, target: ImportTarget, chat: ImportedChat): Promise<string> {
		return this.sequelize.transaction(async (transaction) => {
			const [session] = await this.select<{ id: string }>(
				transaction,
				`INSERT INTO chat_sessions (username, character_id, title, persona_id, summary_base, summary_updated_at,
					chat_metadata, character_ids, reply_mode)
				 VALUES ($1, $2, $3, (SELECT id FROM personas WHERE id = $4::uuid AND user_id = $5::uuid), $6,
					CASE WHEN $6::text IS NOT NULL THEN now() END, $7::jsonb, $8::uuid[], $9)
				 RETURNING id`,
				[
					owner.username,
					target.characterId,
					chat.title,
					chat.persona_id,
					owner.userId,
					chat.summary,
					chat.chat_metadata ? JSON.stringify(chat.chat_metadata) : null,
					target.room?.characterIds ?? null,
					target.room?.replyMode ?? null,
				],
			);
			if (chat.lorebook_ids.length > 0)
				await this.select(
					transaction,
					`INSERT INTO session_lorebooks (session_id, lorebook_id, position)
					 SELECT $1, l.id, b.n FROM unnest($2::uuid[]) WITH ORDINALITY AS b(id, n)
					 JOIN lorebooks l ON l.id = b.id AND (l.owner_id = $3::uuid OR l.is_public)
					 ON CONFLICT DO NOTHING`,
					[session.id, chat.lorebook_ids, owner.userId],
				);
			// Made a batch at a time (each reply id is a SHA-1): the inserts between them let the event loop run.
			let batch: MessageInsert[] = [];
			for (const row of messageRows(chat, target)) {
				batch.push(row);
				if (batch.length < INSERT_BATCH) continue;
				await this.insertMessages(transaction, session.id, owner.username, batch);
				batch = [];
			}
			if (batch.length > 0) await this.insertMessages(transaction, session.id, owner.username, batch);
			if (target.room)
				await this.select(
					transaction,
					`INSERT INTO room_turns (id, session_id, character_id, reply_to, requested_by, origin, status)
					 SELECT gen_random_uuid(), $1, $2, m.id, $3, 'message', 'done'
					 FROM messages m WHERE m.session_id = $1 AND m.role = 'user' ORDER BY m.seq`,
					[session.id, target.characterId, owner.username],
				);
			return session.id;
		});
	}

	private async insertMessages(
		transaction: Transaction,
		sessionId: string,
		username: string,
		rows: MessageInsert[],
	): Promise<void> {
		await this.select(
			transaction,
			`INSERT INTO messages (id, session_id, username, character_id, role, content, reply_to, reply_status, variant,
				active, stopped, created_at, updated_at, edited_at, pinned_at, speaker, extra)
			 SELECT m.id, $1, $2, m.character_id, m.role, m.content, m.reply_to, m.reply_status, m.variant, m.active,
				m.stopped, m.created_at, now(), m.edited_at, CASE WHEN m.pinned THEN now() END, m.speaker, m.extra
			 FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::int[],
				$10::boolean[], $11::boolean[], $12::timestamptz[], $13::timestamptz[], $14::boolean[], $15::text[],
				$16::jsonb[])
				WITH ORDINALITY AS m(id, character_id, role, content, reply_to, reply_status, variant, active, stopped,
					created_at, edited_at, pinned, speaker, extra, n)
			 ORDER BY m.n`,
			[
				sessionId,
				username,
				rows.map((r) => r.id),
				rows.map((r) => r.character_id),
				rows.map((r) => r.role),
				rows.map((r) => r.content),
				rows.map((r) => r.reply_to),
				rows.map((r) => r.reply_status),
				rows.map((r) => r.variant),
				rows.map((r) => r.active),
				rows.map((r) => r.stopped),
				rows.map((r) => r.created_at),
				rows.map((r) => r.edited_at),
				rows.map((r) => r.pinned),
				rows.map((r) => r.speaker),
				rows.map((r) => (r.extra ? JSON.stringify(r.extra) : null)),
			],
		);
	}

	private select<T extends object>(transaction: Transaction, sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}

/**
 * Where imported turns go: the chosen character, and for a room its cast (the characters of the file's cast the
 * importer may see, the chosen one among them) and reply mode.
 */
export interface ImportTarget {
	characterId: string;
	room: { characterIds: string[]; replyMode: string } | null;
}

/** Longest speaker name kept for a room's user message (the rest stays in `extra.name`). */
const MAX_SPEAKER_CHARS = 64;

/**
 * The turns as message rows. A reply answers the user message just before it, its variants with the ids later
 * regenerations would give them (`replyId(message, n)`); a reply with no user message before it (the greeting, a
 * second reply in a row) stands alone, as a greeting does, its one variant the one shown (the others stay in
 * `extra.swipes`, as they came). In a room every character's reply after a message answers it, as live rooms store
 * them: each keeps the character that said it (when it is in the cast, else it is the chosen one's), and variants are
 * numbered on across the characters; a user message keeps the name it was said under as its speaker.
 */
export function* messageRows(chat: ImportedChat, target: ImportTarget): Generator<MessageInsert> {
	const cast = new Set(target.room?.characterIds ?? []);
	let unanswered: MessageInsert | null = null;
	/** In a room: who has answered `unanswered` so far, and its next free variant. */
	let answeredBy = new Set<string>();
	let nextVariant = 0;
	for (const [index, turn] of chat.turns.entries()) {
		const base = { stopped: false, edited_at: null, pinned: false, character_id: target.characterId, speaker: null };
		if (turn.role === "user") {
			const v = turn.variants[turn.active];
			const answered = chat.turns[index + 1]?.role === "ai";
			const name = turn.leftover?.name;
			unanswered = {
				...base,
				...v,
				id: randomUUID(),
				role: "user",
				reply_to: null,
				reply_status: answered ? "replied" : "none",
				variant: 0,
				active: true,
				edited_at: v.edited_at ?? null,
				pinned: v.pinned ?? false,
				stopped: false,
				speaker: target.room && typeof name === "string" ? name.slice(0, MAX_SPEAKER_CHARS) : null,
				extra: turn.leftover,
			};
			answeredBy = new Set();
			nextVariant = 0;
			yield unanswered;
			continue;
		}
		const character = turn.character_id && cast.has(turn.character_id) ? turn.character_id : target.characterId;
		const to = unanswered && !answeredBy.has(character) ? unanswered : null;
		if (!target.room) unanswered = null;
		if (!to) {
			const v = turn.variants[turn.active];
			const kept =
				turn.variants.length > 1 ? { swipes: turn.variants.map((x) => x.content), swipe_id: turn.active } : {};
			const extra = turn.leftover || turn.variants.length > 1 ? { ...turn.leftover, ...kept } : null;
			yield {
				...base,
				...v,
				...fixed(v),
				character_id: character,
				id: randomUUID(),
				role: "ai",
				reply_to: null,
				reply_status: "none",
				variant: 0,
				active: true,
				extra,
			};
			continue;
		}
		answeredBy.add(character);
		for (const [i, v] of turn.variants.entries()) {
			const n = nextVariant + i;
			yield {
				...base,
				...v,
				...fixed(v),
				character_id: character,
				id: replyId(to.id, n),
				role: "ai",
				reply_to: to.id,
				reply_status: "none",
				variant: n,
				active: i === turn.active,
				extra: i === 0 ? turn.leftover : null,
			};
		}
		nextVariant += turn.variants.length;
	}
}

function fixed(v: { stopped?: boolean; edited_at?: Date | null; pinned?: boolean }) {
	return { stopped: v.stopped ?? false, edited_at: v.edited_at ?? null, pinned: v.pinned ?? false };
}
