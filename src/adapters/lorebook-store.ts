/**
 * PostgreSQL access for lorebooks: the books themselves (owner's, public), what they are attached to (sessions,
 * personas, characters, in the order the user gave), and the books active for a chat turn. Who may read a book:
 * its owner, an admin, anyone when it is public; others' private books are treated as missing (404).
 */
import { ForeignKeyConstraintError, QueryTypes, type Sequelize } from "sequelize";
import { LorebookNotFound, NotFound, ValidationFailed } from "../errors.js";
import { fromCharacterBook } from "../domain/lorebook-format.js";
import type { LorebookData, StoredLorebook } from "../domain/lorebook.js";
import { isUuid } from "../domain/uuid.js";

/** A book for a turn: a stored one, or (id null) the character card's own `character_book`. */
export type ActiveLorebook = LorebookData & { id: string | null };

export interface LorebookViewer {
	id: string;
	role: string;
}

export interface AttachTarget {
	kind: "session" | "persona" | "character";
	id: string;
}

/** A stored book, as its queries give it. */
export type LorebookRow = StoredLorebook & { created_at: Date; updated_at: Date };

export interface LorebookListing {
	id: string;
	owner_id: string;
	name: string;
	description: string;
	is_public: boolean;
	entry_count: number;
	updated_at: Date;
}

export type LorebookScope = "mine" | "public" | "all";

/** What a book may have attached at once, per session, persona or character. */
export const MAX_ATTACHED_LOREBOOKS = 20;

const LINKS: Record<AttachTarget["kind"], { table: string; column: string }> = {
	session: { table: "session_lorebooks", column: "session_id" },
	persona: { table: "persona_lorebooks", column: "persona_id" },
	character: { table: "character_lorebooks", column: "character_id" },
};

const BOOK_COLUMNS = `l.id, l.owner_id, l.name, l.description, l.scan_depth, l.token_budget, l.recursive_scanning,
	l.entries, l.extensions, l.is_public, l.created_at, l.updated_at`;

/** `$2` the viewer's id, `$3` whether they are an admin. */
const READABLE = `(l.is_public OR l.owner_id = $2::uuid OR $3::boolean)`;

/**
 * The books attached for a turn, each once where it first comes (character, persona, session, each in its order).
 * A book counts only while its target's owner may read it: made private by its owner, it stops reaching others' chats.
 */
const ACTIVE_BOOKS = `WITH attached AS (
		SELECT cl.lorebook_id, 1 AS tier, cl.position, c.created_by AS reader
		FROM character_lorebooks cl JOIN ai_characters c ON c.id = cl.character_id WHERE cl.character_id = $1::uuid
		UNION ALL
		SELECT pl.lorebook_id, 2, pl.position, p.user_id
		FROM persona_lorebooks pl JOIN personas p ON p.id = pl.persona_id WHERE pl.persona_id = $2::uuid
		UNION ALL
		SELECT sl.lorebook_id, 3, sl.position, u.id
		FROM session_lorebooks sl JOIN chat_sessions s ON s.id = sl.session_id JOIN users u ON u.username = s.username
		WHERE sl.session_id = $3::uuid
	), firsts AS (
		SELECT DISTINCT ON (a.lorebook_id) a.lorebook_id, a.tier, a.position
		FROM attached a JOIN lorebooks l ON l.id = a.lorebook_id
		WHERE l.is_public OR l.owner_id = a.reader
		ORDER BY a.lorebook_id, a.tier, a.position
	)
	SELECT ${BOOK_COLUMNS} FROM firsts f JOIN lorebooks l ON l.id = f.lorebook_id ORDER BY f.tier, f.position`;

const CARD_BOOK = `SELECT name, extensions->'cameo_card_extra'->'fields'->'character_book' AS book
	FROM ai_characters WHERE id = $1::uuid`;

const asData = (row: LorebookRow): ActiveLorebook => ({
	id: row.id,
	name: row.name,
	description: row.description,
	scan_depth: row.scan_depth,
	token_budget: row.token_budget,
	recursive_scanning: row.recursive_scanning,
	entries: row.entries,
	extensions: row.extensions,
});

export class LorebookStore {
	constructor(private readonly sequelize: Sequelize) {}

	/**
	 * The books of a turn: the character card's own `character_book` first (id null, named after the character; one
	 * that does not parse is left out), then the books attached to the character, the persona and the session.
	 */
	async activeFor(turn: {
		characterId: string;
		personaId: string | null;
		sessionId: string | null;
	}): Promise<ActiveLorebook[]> {
		const [card] = await this.select<{ name: string; book: unknown }>(CARD_BOOK, [turn.characterId]);
		const rows = await this.select<LorebookRow>(ACTIVE_BOOKS, [turn.characterId, turn.personaId, turn.sessionId]);
		const books = rows.map(asData);
		const cardBook = card?.book ? cardLorebook(card.name, card.book) : null;
		return cardBook ? [cardBook, ...books] : books;
	}

	/**
	 * Replaces the books attached to `target` with `ids`, in that order (a repeated id counts once). Refuses an id the
	 * viewer may not read (404 LOREBOOK_NOT_FOUND) or more than MAX_ATTACHED_LOREBOOKS (422). Whether the viewer may
	 * change the target is the caller's to check.
	 */
	async attach(target: AttachTarget, viewer: LorebookViewer, ids: string[]): Promise<void> {
		const wanted = [...new Set(ids)];
		if (wanted.length > MAX_ATTACHED_LOREBOOKS) {
			const message = `At most ${MAX_ATTACHED_LOREBOOKS} lorebooks may be attached`;
			throw ValidationFailed(message, [{ type: "arrayMax", field: "lorebook_ids", message }]);
		}
		const unknown = wanted.find((id) => !isUuid(id));
		if (unknown !== undefined) throw LorebookNotFound(unknown);
		const readable = await this.select<{ id: string }>(
			`SELECT l.id FROM lorebooks l WHERE l.id = ANY($1::uuid[]) AND ${READABLE}`,
			[wanted, viewer.id, viewer.role === "admin"],
		);
		const found = new Set(readable.map((row) => row.id));
		const missing = wanted.find((id) => !found.has(id.toLowerCase()));
		if (missing !== undefined) throw LorebookNotFound(missing);
		const { table, column } = LINKS[target.kind];
		try {
			await this.sequelize.transaction(async (transaction) => {
				await this.sequelize.query(`DELETE FROM ${table} WHERE ${column} = $1`, {
					bind: [target.id],
					transaction,
				});
				if (wanted.length === 0) return;
				await this.sequelize.query(
					`INSERT INTO ${table} (${column}, lorebook_id, position)
					SELECT $1, id, ord FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, ord)`,
					{ bind: [target.id, wanted], transaction },
				);
			});
		} catch (err) {
			// The target (or a book) was deleted meanwhile.
			if (err instanceof ForeignKeyConstraintError) throw NotFound("It was deleted meanwhile");
			throw err;
		}
	}

	/** The ids of the books attached to `target`, in order. */
	async attached(target: AttachTarget): Promise<string[]> {
		const { table, column } = LINKS[target.kind];
		const rows = await this.select<{ lorebook_id: string }>(
			`SELECT lorebook_id FROM ${table} WHERE ${column} = $1::uuid ORDER BY position`,
			[target.id],
		);
		return rows.map((row) => row.lorebook_id);
	}

	/** The viewer's books, the public ones, or both; the most recently changed first. */
	async list(
		viewer: LorebookViewer,
		scope: LorebookScope,
		page: { limit: number; offset: number },
	): Promise<LorebookListing[]> {
		return this.select<LorebookListing>(
			`SELECT l.id, l.owner_id, l.name, l.description, l.is_public, jsonb_array_length(l.entries) AS entry_count,
				l.updated_at
			FROM lorebooks l
			WHERE ($4 <> 'public' AND l.owner_id = $1::uuid) OR ($4 <> 'mine' AND l.is_public)
			ORDER BY l.updated_at DESC, l.id LIMIT $2 OFFSET $3`,
			[viewer.id, page.limit, page.offset, scope],
		);
	}

	/** A book the viewer may read, or null (unknown, or another user's private one). */
	async find(viewer: LorebookViewer, id: string): Promise<LorebookRow | null> {
		const [row] = await this.select<LorebookRow>(
			`SELECT ${BOOK_COLUMNS} FROM lorebooks l WHERE l.id = $1 AND ${READABLE}`,
			[id, viewer.id, viewer.role === "admin"],
		);
		return row ?? null;
	}

	async create(ownerId: string, book: LorebookData, isPublic: boolean): Promise<LorebookRow> {
		const [row] = await this.select<LorebookRow>(
			`INSERT INTO lorebooks AS l (owner_id, name, description, scan_depth, token_budget, recursive_scanning, entries,
				extensions, is_public)
			VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9) RETURNING ${BOOK_COLUMNS}`,
			[
				ownerId,
				book.name,
				book.description,
				book.scan_depth,
				book.token_budget,
				book.recursive_scanning,
				JSON.stringify(book.entries),
				JSON.stringify(book.extensions),
				isPublic,
			],
		);
		return row;
	}

	/** Changes the given fields of one of the owner's books; null when it is not (or no longer) theirs. */
	async update(
		ownerId: string,
		id: string,
		changes: Partial<LorebookData & { is_public: boolean }>,
	): Promise<LorebookRow | null> {
		const sets: string[] = [];
		const values: unknown[] = [id, ownerId];
		const set = (column: string, value: unknown, cast = "") => {
			values.push(value);
			sets.push(`${column} = $${values.length}${cast}`);
		};
		if (changes.name !== undefined) set("name", changes.name);
		if (changes.description !== undefined) set("description", changes.description);
		if (changes.scan_depth !== undefined) set("scan_depth", changes.scan_depth);
		if (changes.token_budget !== undefined) set("token_budget", changes.token_budget);
		if (changes.recursive_scanning !== undefined) set("recursive_scanning", changes.recursive_scanning);
		if (changes.is_public !== undefined) set("is_public", changes.is_public);
		if (changes.entries !== undefined) set("entries", JSON.stringify(changes.entries), "::jsonb");
		if (changes.extensions !== undefined) set("extensions", JSON.stringify(changes.extensions), "::jsonb");
		const [row] = await this.select<LorebookRow>(
			`UPDATE lorebooks l SET ${[...sets, "updated_at = now()"].join(", ")}
			WHERE l.id = $1 AND l.owner_id = $2 RETURNING ${BOOK_COLUMNS}`,
			values,
		);
		return row ?? null;
	}

	/** Deletes one of the owner's books (and, by foreign key, its attachments); false when it is not theirs. */
	async remove(ownerId: string, id: string): Promise<boolean> {
		const rows = await this.select<{ id: string }>(
			`DELETE FROM lorebooks WHERE id = $1 AND owner_id = $2 RETURNING id`,
			[id, ownerId],
		);
		return rows.length > 0;
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}
}

/** The card's own book, named after the character; null when it does not parse. */
function cardLorebook(characterName: string, raw: unknown): ActiveLorebook | null {
	try {
		return { ...fromCharacterBook(raw), id: null, name: characterName };
	} catch {
		return null;
	}
}
