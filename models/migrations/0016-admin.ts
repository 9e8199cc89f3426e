/**
 * Running cameo for others (issue 17): admins, registration modes and per-user limits.
 * - `users.tokens_per_day`, `users.messages_per_minute`: an admin's override of CHAT_USER_TOKENS_PER_DAY and
 *   CHAT_USER_MESSAGES_PER_MINUTE for this user (NULL: the default applies; tokens_per_day 0: unlimited).
 * - `users.last_login_at`: set at each login; with the user's last message it is the admin list's `last_seen`.
 * - `signup_invites`: codes that let someone register when REGISTRATION=invite; `uses` counts what `max_uses` allows,
 *   taken by an atomic UPDATE so concurrent sign-ups never exceed it.
 * - `password_resets`: one-time codes an admin hands to a user, kept only as SHA-256 hashes (the code is 128 random
 *   bits: no slow hash needed), used once, expiring; a user's rows go with the user.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE users
			ADD COLUMN IF NOT EXISTS tokens_per_day integer,
			ADD COLUMN IF NOT EXISTS messages_per_minute integer,
			ADD COLUMN IF NOT EXISTS last_login_at timestamptz;
		CREATE TABLE IF NOT EXISTS signup_invites (
			code text PRIMARY KEY,
			created_by varchar(32) REFERENCES users (username) ON UPDATE CASCADE ON DELETE SET NULL,
			max_uses integer NOT NULL,
			uses integer NOT NULL DEFAULT 0,
			expires_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE TABLE IF NOT EXISTS password_resets (
			code_hash text PRIMARY KEY,
			user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			expires_at timestamptz NOT NULL,
			used_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_password_resets_user ON password_resets (user_id);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP TABLE IF EXISTS password_resets;
		DROP TABLE IF EXISTS signup_invites;
		ALTER TABLE users
			DROP COLUMN IF EXISTS last_login_at,
			DROP COLUMN IF EXISTS messages_per_minute,
			DROP COLUMN IF EXISTS tokens_per_day;
	`);
};
