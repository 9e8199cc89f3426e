/**
 * Who is talking and what they know (issue 14):
 * - `personas`: who the user plays. One default per user (a partial unique index); a session names its persona
 *   (`chat_sessions.persona_id`), and falls back to the default when it names none or its persona is deleted.
 * - `lorebooks`: world info, owned by a user, private unless made public; entries kept as cameo's normal form
 *   (src/domain/lorebook.ts), what a file carried beyond it in `extensions`. A book is attached to sessions, personas
 *   and characters through three link tables, in the order the user gave (`position`).
 * - Visible memory: `chat_sessions.summary_base` is the summary as the user wrote it, kept verbatim; `summary` is then
 *   what was folded in on top of it since. `messages.pinned_at`: a pinned message stays in every prompt.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		CREATE TABLE IF NOT EXISTS personas (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			name text NOT NULL,
			description text NOT NULL DEFAULT '',
			avatar bytea,
			is_default boolean NOT NULL DEFAULT false,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_personas_user ON personas (user_id, created_at);
		CREATE UNIQUE INDEX IF NOT EXISTS ux_personas_default ON personas (user_id) WHERE is_default;
		INSERT INTO personas (user_id, name, is_default)
			SELECT u.id, u.name, true FROM users u
			WHERE NOT EXISTS (SELECT 1 FROM personas p WHERE p.user_id = u.id AND p.is_default);

		ALTER TABLE chat_sessions
			ADD COLUMN IF NOT EXISTS persona_id uuid REFERENCES personas (id) ON DELETE SET NULL,
			ADD COLUMN IF NOT EXISTS summary_base text,
			ADD COLUMN IF NOT EXISTS summary_updated_at timestamptz;
		ALTER TABLE messages ADD COLUMN IF NOT EXISTS pinned_at timestamptz;
		CREATE INDEX IF NOT EXISTS ix_messages_pinned ON messages (session_id) WHERE pinned_at IS NOT NULL;

		CREATE TABLE IF NOT EXISTS lorebooks (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			name text NOT NULL,
			description text NOT NULL DEFAULT '',
			scan_depth integer,
			token_budget integer,
			recursive_scanning boolean NOT NULL DEFAULT false,
			entries jsonb NOT NULL DEFAULT '[]',
			extensions jsonb NOT NULL DEFAULT '{}',
			is_public boolean NOT NULL DEFAULT false,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_lorebooks_owner ON lorebooks (owner_id, updated_at);
		CREATE INDEX IF NOT EXISTS ix_lorebooks_public ON lorebooks (updated_at) WHERE is_public;

		CREATE TABLE IF NOT EXISTS session_lorebooks (
			session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
			lorebook_id uuid NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
			position integer NOT NULL,
			PRIMARY KEY (session_id, lorebook_id)
		);
		CREATE TABLE IF NOT EXISTS persona_lorebooks (
			persona_id uuid NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
			lorebook_id uuid NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
			position integer NOT NULL,
			PRIMARY KEY (persona_id, lorebook_id)
		);
		CREATE TABLE IF NOT EXISTS character_lorebooks (
			character_id uuid NOT NULL REFERENCES ai_characters (id) ON DELETE CASCADE,
			lorebook_id uuid NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
			position integer NOT NULL,
			PRIMARY KEY (character_id, lorebook_id)
		);
		CREATE INDEX IF NOT EXISTS ix_session_lorebooks_book ON session_lorebooks (lorebook_id);
		CREATE INDEX IF NOT EXISTS ix_persona_lorebooks_book ON persona_lorebooks (lorebook_id);
		CREATE INDEX IF NOT EXISTS ix_character_lorebooks_book ON character_lorebooks (lorebook_id);

	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP TABLE IF EXISTS character_lorebooks, persona_lorebooks, session_lorebooks, lorebooks;
		DROP INDEX IF EXISTS ix_messages_pinned;
		ALTER TABLE messages DROP COLUMN IF EXISTS pinned_at;
		ALTER TABLE chat_sessions
			DROP COLUMN IF EXISTS summary_updated_at, DROP COLUMN IF EXISTS summary_base, DROP COLUMN IF EXISTS persona_id;
		DROP TABLE IF EXISTS personas;
	`);
};
