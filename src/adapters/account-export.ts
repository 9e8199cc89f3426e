/**
 * GET /me/export (issue 16): one zip of everything that is the user's, written while it is read. Entries come from an
 * async generator, and the next one is read from PostgreSQL only once the zip has taken the previous one in, so the
 * memory it takes is one entry (a character with its image, a lorebook, a chat) and the streams' buffers, however
 * big the account; a slow client holds the reading back through the streams' backpressure.
 */
import { PassThrough, Readable } from "node:stream";
import yazl from "yazl";
import { QueryTypes, type Sequelize } from "sequelize";
import type { Character } from "../../models/index.js";
import { toCardV2, toCardV3 } from "../domain/character-card.js";
import { writeCardPng } from "../domain/card-png.js";
import { toWorldInfo } from "../domain/lorebook-format.js";
import { toPersonaView } from "../domain/personas.js";
import { archiveName, imageExtension, ARCHIVE_README } from "../domain/account-archive.js";
import { LorebookStore } from "./lorebook-store.js";
import { PersonaStore } from "./persona-store.js";

export interface ArchiveEntry {
	path: string;
	data: Buffer | string;
}

/** The account as the export reads it. */
export interface ExportedAccount {
	user: { id: string; username: string; name: string; role: string; created_at: Date };
	sequelize: Sequelize;
	/** The Character model, unscoped (with the avatar's bytes). */
	characters: typeof Character;
	/** One chat of the user's as its files, named from `stem` (absent: no chats in the archive). */
	chats?: (session: ChatListing, stem: string) => Promise<ArchiveEntry[]>;
}

/** A session of the user's: its id, and its title or its character's name. */
export interface ChatListing {
	id: string;
	name: string;
}

/** The zip as a stream; `onError` hears a failure half-way (the answer is then cut short: its status is sent). */
export function zipStream(entries: AsyncIterable<ArchiveEntry>, onError: (err: unknown) => void): Readable {
	const zip = new yazl.ZipFile();
	const out = new PassThrough();
	zip.outputStream.pipe(out);
	let stopped = false;
	out.on("close", () => (stopped = true));
	const mtime = new Date();
	void (async () => {
		for await (const { path, data } of entries) {
			if (stopped) return;
			// yazl keeps each entry's stream function until the zip ends: it must not keep the bytes too.
			let bytes: Buffer | null = Buffer.from(data);
			// The next entry is read once yazl has pumped this one's bytes into the zip.
			await new Promise<void>((resolve, reject) => {
				zip.addReadStreamLazy(path, { mtime }, (cb) => {
					const stream = Readable.from([bytes!]);
					bytes = null;
					stream.once("end", resolve).once("error", reject);
					cb(null, stream);
				});
			});
		}
		zip.end();
	})().catch((err: unknown) => {
		onError(err);
		out.destroy(err instanceof Error ? err : new Error(String(err)));
	});
	return out;
}

/** Everything of the account, entry by entry: profile, personas, lorebooks, characters, chats. */
export async function* accountEntries(account: ExportedAccount): AsyncGenerator<ArchiveEntry> {
	const { user, sequelize } = account;
	yield { path: "README.txt", data: ARCHIVE_README };
	const profile = { ...user, created_at: user.created_at.toISOString(), exported_at: new Date().toISOString() };
	yield { path: "profile.json", data: json(profile) };

	const personas = new PersonaStore(sequelize);
	const books = new LorebookStore(sequelize);
	for (const persona of await personas.list(user)) {
		const stem = `personas/${archiveName(persona.name, persona.id)}`;
		const lorebookIds = await books.attached({ kind: "persona", id: persona.id });
		yield { path: `${stem}.json`, data: json(toPersonaView(persona, lorebookIds)) };
		const avatar = persona.has_avatar ? await personas.avatar(user.id, persona.id) : null;
		if (avatar) yield { path: `${stem}.${imageExtension(avatar.image)}`, data: avatar.image };
	}

	const bookIds = await select<{ id: string }>(
		sequelize,
		`SELECT id FROM lorebooks WHERE owner_id = $1 ORDER BY created_at, id`,
		[user.id],
	);
	for (const { id } of bookIds) {
		const book = await books.find({ id: user.id, role: "user" }, id);
		if (book) yield { path: `lorebooks/${archiveName(book.name, book.id)}.json`, data: json(toWorldInfo(book)) };
	}

	const characterIds = await select<{ id: string }>(
		sequelize,
		`SELECT id FROM ai_characters WHERE created_by = $1 ORDER BY created_at, id`,
		[user.id],
	);
	for (const { id } of characterIds) {
		const row = await account.characters.unscoped().findByPk(id);
		if (!row) continue;
		const stem = `characters/${archiveName(row.name, row.id)}`;
		// A V3 card: the PNG SillyTavern imports when there is an image to carry it, else the JSON file.
		if (row.avatar)
			yield { path: `${stem}.png`, data: writeCardPng({ v2: toCardV2(row), v3: toCardV3(row) }, row.avatar) };
		else yield { path: `${stem}.json`, data: json(toCardV3(row)) };
	}

	if (!account.chats) return;
	const sessions = await select<ChatListing>(
		sequelize,
		`SELECT s.id, coalesce(s.title, c.name) AS name FROM chat_sessions s
		JOIN ai_characters c ON c.id = s.character_id WHERE s.username = $1 ORDER BY s.created_at, s.id`,
		[user.username],
	);
	for (const session of sessions) {
		const stem = `chats/${archiveName(session.name, session.id)}`;
		for (const entry of await account.chats(session, stem)) yield entry;
	}
}

function json(value: unknown): string {
	return `${JSON.stringify(value, null, 2)}\n`;
}

function select<T extends object>(sequelize: Sequelize, sql: string, bind: unknown[]): Promise<T[]> {
	return sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
}
