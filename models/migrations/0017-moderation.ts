/**
 * Moderation (issue 17).
 * - `ai_characters.hidden`: an admin took the character down; only its owner (and admins) still see it.
 * - `ai_characters.nsfw`: an admin marked it adult; only users who opted in (and its owner, and admins) see it.
 * - `users.show_nsfw`: the user's opt-in (PATCH /me).
 * - `character_reports`: users' reports of a character, open until an admin resolves them; at most one open report per
 *   reporter and character (a partial unique index). A report goes with its character or its reporter; the admin who
 *   resolved it is forgotten when their account goes.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE ai_characters ADD COLUMN IF NOT EXISTS hidden boolean NOT NULL DEFAULT false;
		ALTER TABLE ai_characters ADD COLUMN IF NOT EXISTS nsfw boolean NOT NULL DEFAULT false;
		ALTER TABLE users ADD COLUMN IF NOT EXISTS show_nsfw boolean NOT NULL DEFAULT false;
		CREATE TABLE IF NOT EXISTS character_reports (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			character_id uuid NOT NULL REFERENCES ai_characters (id) ON DELETE CASCADE,
			reporter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			reason text NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now(),
			resolved_at timestamptz,
			resolved_by uuid REFERENCES users (id) ON DELETE SET NULL,
			resolution text
		);
		CREATE UNIQUE INDEX IF NOT EXISTS ux_character_reports_open
			ON character_reports (character_id, reporter_id) WHERE resolved_at IS NULL;
		CREATE INDEX IF NOT EXISTS ix_character_reports_queue ON character_reports ((resolved_at IS NOT NULL), created_at);
		CREATE INDEX IF NOT EXISTS ix_character_reports_reporter ON character_reports (reporter_id);
		CREATE INDEX IF NOT EXISTS ix_character_reports_resolver ON character_reports (resolved_by);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP TABLE IF EXISTS character_reports;
		ALTER TABLE users DROP COLUMN IF EXISTS show_nsfw;
		ALTER TABLE ai_characters DROP COLUMN IF EXISTS nsfw;
		ALTER TABLE ai_characters DROP COLUMN IF EXISTS hidden;
	`);
};
