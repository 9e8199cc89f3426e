/**
 * The seed's four tables (users, ai_characters, chat_sessions, messages) with its indexes, plus what the seed
 * forgot: foreign keys, NOT NULLs, CHECKs on enums, server-side defaults.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		CREATE TABLE IF NOT EXISTS users (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			username varchar(32) NOT NULL UNIQUE,
			name text NOT NULL,
			hashed_password text NOT NULL,
			role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
			is_disabled boolean NOT NULL DEFAULT false,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_users_name ON users (name);

		CREATE TABLE IF NOT EXISTS ai_characters (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			name text NOT NULL,
			slug text NOT NULL UNIQUE,
			description text NOT NULL DEFAULT '',
			system_prompt text NOT NULL,
			greeting text NOT NULL DEFAULT '',
			is_active boolean NOT NULL DEFAULT true,
			created_by uuid REFERENCES users (id) ON DELETE SET NULL,
			is_public boolean NOT NULL DEFAULT true,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_ai_characters_created_by ON ai_characters (created_by);

		CREATE TABLE IF NOT EXISTS chat_sessions (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			username varchar(32) NOT NULL REFERENCES users (username) ON UPDATE CASCADE ON DELETE CASCADE,
			character_id uuid NOT NULL REFERENCES ai_characters (id) ON DELETE CASCADE,
			status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'archived')),
			title text,
			created_at timestamptz NOT NULL DEFAULT now(),
			ended_at timestamptz,
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS idx_user_character_session ON chat_sessions (username, character_id);
		CREATE INDEX IF NOT EXISTS idx_user_sessions ON chat_sessions (username);
		CREATE INDEX IF NOT EXISTS idx_active_sessions ON chat_sessions (status);

		CREATE TABLE IF NOT EXISTS messages (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			username varchar(32) NOT NULL REFERENCES users (username) ON UPDATE CASCADE ON DELETE CASCADE,
			character_id uuid NOT NULL REFERENCES ai_characters (id) ON DELETE CASCADE,
			session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
			content text NOT NULL,
			role text NOT NULL CHECK (role IN ('user', 'ai')),
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS idx_user_character ON messages (username, character_id);
		CREATE INDEX IF NOT EXISTS idx_session_messages ON messages (session_id, created_at);
		CREATE INDEX IF NOT EXISTS idx_message_role ON messages (role);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query("DROP TABLE IF EXISTS messages, chat_sessions, ai_characters, users");
};
