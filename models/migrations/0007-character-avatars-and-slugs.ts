/**
 * Two changes to ai_characters from the first-contact review (issue 11):
 * - Slugs are unique per owner, no longer across everyone: a taken slug told its creator that someone's private
 *   character by that name existed. Ownerless rows (seeds, characters of deleted users) are not constrained; seeding
 *   finds its rows by slug itself (services/characters.service.ts).
 * - Avatars are kept as import now stores them (src/domain/card-png.ts storedAvatar): no text chunks, a bounded chunk
 *   count, sane dimensions, so export only concatenates. Older ones are rewritten once, and an image the import would
 *   refuse (a decompression bomb, a flood of chunks) is dropped: its character exports with the placeholder image.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";
import { storedAvatar } from "../../src/domain/card-png.js";

const AVATAR_BATCH = 20;

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE ai_characters DROP CONSTRAINT IF EXISTS ai_characters_slug_key;
		CREATE UNIQUE INDEX IF NOT EXISTS ux_ai_characters_owner_slug ON ai_characters (created_by, slug);
		DROP INDEX IF EXISTS ix_ai_characters_created_by;
	`);
	for (let after = "00000000-0000-0000-0000-000000000000"; ;) {
		const [rows] = (await qi.sequelize.query(
			`SELECT id, avatar FROM ai_characters WHERE avatar IS NOT NULL AND id > :after ORDER BY id LIMIT ${AVATAR_BATCH}`,
			{ replacements: { after } },
		)) as [{ id: string; avatar: Buffer }[], unknown];
		if (rows.length === 0) break;
		for (const { id, avatar } of rows) {
			const kept = storedAvatar(avatar);
			if (kept?.equals(avatar)) continue;
			await qi.sequelize.query(`UPDATE ai_characters SET avatar = :kept WHERE id = :id`, {
				replacements: { id, kept },
			});
		}
		after = rows[rows.length - 1].id;
	}
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		CREATE INDEX IF NOT EXISTS ix_ai_characters_created_by ON ai_characters (created_by);
		DROP INDEX IF EXISTS ux_ai_characters_owner_slug;
		ALTER TABLE ai_characters ADD CONSTRAINT ai_characters_slug_key UNIQUE (slug);
	`);
};
