/**
 * Steering the story (issue 13):
 * - `messages.edited_at`: when the user last edited the message (user or reply); null for untouched ones.
 * - `messages.generating_since`: set on a reply while a `continue` extends it, cleared when the longer reply is stored
 *   or fails; edits and a second continue are refused meanwhile. A stale mark (its continuation lost) is ignored.
 * - `chat_sessions.branched_from_session_id` / `branched_from_message_id`: where a branch was cut from. The origin may
 *   be deleted later: the session id is then cleared, the message id kept as a plain record.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE messages
			ADD COLUMN IF NOT EXISTS edited_at timestamptz,
			ADD COLUMN IF NOT EXISTS generating_since timestamptz;
		ALTER TABLE chat_sessions
			ADD COLUMN IF NOT EXISTS branched_from_session_id uuid REFERENCES chat_sessions (id) ON DELETE SET NULL,
			ADD COLUMN IF NOT EXISTS branched_from_message_id uuid;
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE chat_sessions DROP COLUMN IF EXISTS branched_from_message_id, DROP COLUMN IF EXISTS branched_from_session_id;
		ALTER TABLE messages DROP COLUMN IF EXISTS generating_since, DROP COLUMN IF EXISTS edited_at;
	`);
};
