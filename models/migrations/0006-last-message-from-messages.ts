/**
 * A session's last activity is read from its newest message (listing sessions already reads that message), no longer
 * written to `chat_sessions.last_message_at` with every message: that UPDATE also rewrote this index each time.
 * The column stays for now, so that the pods of a rolling update that still write it keep working.
 * (The seed's indexes on `messages` stay, though no query here needs `idx_message_role` or `idx_session_messages`.)
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`DROP INDEX IF EXISTS idx_user_sessions_recent;`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		UPDATE chat_sessions s SET last_message_at = (SELECT max(created_at) FROM messages m WHERE m.session_id = s.id);
		CREATE INDEX IF NOT EXISTS idx_user_sessions_recent ON chat_sessions (username, last_message_at DESC NULLS LAST, created_at DESC);
	`);
};
