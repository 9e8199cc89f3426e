/**
 * PostgreSQL access for chat export and import (services/chat-transfer.service.ts): a session's messages with what
 * an import kept of them, and a new session made from an imported file. Imported messages are history, never sent
 * to the model: a user message reads `replied` when a reply follows it, else `none`, so no outbox sweep picks it up
 * (the room sweep looks for `speaker`, which an import never sets: names as given stay in `extra`).
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
	 * A new one-character session of `owner` with `characterId` holding the chat's turns in order; the persona only if
	 * it is the owner's, the lorebooks only those they may read. Answers with the new session's id.
	 */
	async importChat(owner: ImportOwner, characterId: string, chat: ImportedChat): Promise<string> {
		return this.sequelize.transaction(async (transaction) => {
			const [session] = await this.select<{ id: string }>(
				transaction,
				`INSERT INTO chat_sessions (username, character_id, title, persona_id, summary_base, summary_updated_at,
					chat_metadata)
				 VALUES ($1, $2, $3, (SELECT id FROM personas WHERE id = $4::uuid AND user_id = $5::uuid), $6,
					CASE WHEN $6::text IS NOT NULL THEN now() END, $7::jsonb)
				 RETURNING id`,
				[
					owner.username,
					characterId,
					chat.title,
					chat.persona_id,
					owner.userId,
					chat.summary,
					chat.chat_metadata ? JSON.stringify(chat.chat_metadata) : null,
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
			for (const row of messageRows(chat)) {
				batch.push(row);
				if (batch.length < INSERT_BATCH) continue;
				await this.insertMessages(transaction, session.id, owner.username, characterId, batch);
				batch = [];
			}
			if (batch.length > 0) await this.insertMessages(transaction, session.id, owner.username, characterId, batch);
			return session.id;
		});
	}

	private async insertMessages(
		transaction: Transaction,
		sessionId: string,
		username: string,
		characterId: string,
		rows: MessageInsert[],
	): Promise<void> {
		await this.select(
			transaction,
			`INSERT INTO messages (id, session_id, username, character_id, role, content, reply_to, reply_status, variant,
				active, stopped, created_at, updated_at, edited_at, pinned_at, extra)
			 SELECT m.id, $1, $2, $3, m.role, m.content, m.reply_to, m.reply_status, m.variant, m.active, m.stopped,
				m.created_at, now(), m.edited_at, CASE WHEN m.pinned THEN now() END, m.extra
			 FROM unnest($4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::int[], $10::boolean[],
				$11::boolean[], $12::timestamptz[], $13::timestamptz[], $14::boolean[], $15::jsonb[])
				WITH ORDINALITY AS m(id, role, content, reply_to, reply_status, variant, active, stopped, created_at,
					edited_at, pinned, extra, n)
			 ORDER BY m.n`,
			[
				sessionId,
				username,
				characterId,
				rows.map((r) => r.id),
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
				rows.map((r) => (r.extra ? JSON.stringify(r.extra) : null)),
			],
		);
	}

	private select<T extends object>(transaction: Transaction, sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}

/**
 * The turns as message rows. A reply answers the user message just before it, its variants with the ids later
 * regenerations would give them (`replyId(message, n)`); a reply with no user message before it (the greeting, a
 * second reply in a row) stands alone, as a greeting does, its one variant the one shown (the others stay in
 * `extra.swipes`, as they came).
 */
export function* messageRows(chat: ImportedChat): Generator<MessageInsert> {
	let unanswered: MessageInsert | null = null;
	for (const [index, turn] of chat.turns.entries()) {
		const base = { stopped: false, edited_at: null, pinned: false };
		if (turn.role === "user") {
			const v = turn.variants[turn.active];
			const answered = chat.turns[index + 1]?.role === "ai";
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
				extra: turn.leftover,
			};
			yield unanswered;
			continue;
		}
		const to = unanswered;
		unanswered = null;
		if (!to) {
			const v = turn.variants[turn.active];
			const kept =
				turn.variants.length > 1 ? { swipes: turn.variants.map((x) => x.content), swipe_id: turn.active } : {};
			const extra = turn.leftover || turn.variants.length > 1 ? { ...turn.leftover, ...kept } : null;
			yield {
				...base,
				...v,
				...fixed(v),
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
		for (const [n, v] of turn.variants.entries()) {
			yield {
				...base,
				...v,
				...fixed(v),
				id: replyId(to.id, n),
				role: "ai",
				reply_to: to.id,
				reply_status: "none",
				variant: n,
				active: n === turn.active,
				extra: n === 0 ? turn.leftover : null,
			};
		}
	}
}

function fixed(v: { stopped?: boolean; edited_at?: Date | null; pinned?: boolean }) {
	return { stopped: v.stopped ?? false, edited_at: v.edited_at ?? null, pinned: v.pinned ?? false };
}
