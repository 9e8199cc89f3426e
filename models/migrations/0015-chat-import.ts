/**
 * Chat import and export (issue 16): what a SillyTavern chat file carries and cameo has no column for is kept, so
 * exporting an imported chat gives it back.
 * - `messages.extra`: a line's other keys (its `name` as given, `extra`, `swipe_info`, `force_avatar`, ...), on the
 *   first variant of a reply; null for messages made here.
 * - `chat_sessions.chat_metadata`: the header's `chat_metadata` (SillyTavern's notes, bookmarks, integrity slug).
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE messages ADD COLUMN IF NOT EXISTS extra jsonb;
		ALTER TABLE chat_sessions ADD COLUMN IF NOT EXISTS chat_metadata jsonb;
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE chat_sessions DROP COLUMN IF EXISTS chat_metadata;
		ALTER TABLE messages DROP COLUMN IF EXISTS extra;
	`);
};
