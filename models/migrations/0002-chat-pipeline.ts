/**
 * What the chat pipeline needs on top of the seed's schema:
 * - `seq`: a total order of messages (timestamps tie; resume-by-`after` needs a strict order);
 * - `reply_to` and `model` on AI replies (reply ids are derived from `reply_to`, so redelivery cannot duplicate);
 * - the outbox columns on user messages: `reply_status`, `publish_attempts`, `last_published_at`, so a message
 *   whose publish was lost (RabbitMQ restart) is found and sent again.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE messages
			ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY,
			ADD COLUMN IF NOT EXISTS reply_to uuid REFERENCES messages (id) ON DELETE CASCADE,
			ADD COLUMN IF NOT EXISTS model text,
			ADD COLUMN IF NOT EXISTS reply_status text NOT NULL DEFAULT 'none'
				CHECK (reply_status IN ('none', 'pending', 'replied', 'failed')),
			ADD COLUMN IF NOT EXISTS publish_attempts integer NOT NULL DEFAULT 0,
			ADD COLUMN IF NOT EXISTS last_published_at timestamptz;
		CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_seq ON messages (seq);
		CREATE INDEX IF NOT EXISTS idx_session_messages_seq ON messages (session_id, seq);
		CREATE INDEX IF NOT EXISTS idx_messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
		CREATE INDEX IF NOT EXISTS idx_messages_outbox ON messages (last_published_at) WHERE reply_status = 'pending';
		ALTER TABLE chat_sessions ADD COLUMN IF NOT EXISTS last_message_at timestamptz;
		CREATE INDEX IF NOT EXISTS idx_user_sessions_recent ON chat_sessions (username, last_message_at DESC NULLS LAST, created_at DESC);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE chat_sessions DROP COLUMN IF EXISTS last_message_at;
		ALTER TABLE messages DROP COLUMN IF EXISTS last_published_at, DROP COLUMN IF EXISTS publish_attempts,
			DROP COLUMN IF EXISTS reply_status, DROP COLUMN IF EXISTS model, DROP COLUMN IF EXISTS reply_to, DROP COLUMN IF EXISTS seq;
	`);
};
