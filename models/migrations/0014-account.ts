/**
 * Accounts (issue 16): tokens taken back before they expire.
 * - `users.token_generation`: every token carries the generation it was signed in (`gen`, 0 for tokens older than
 *   this migration); a password change or an account deletion moves it on, so all earlier tokens stop at once. A
 *   counter rather than a time: no second-granular `iat` to compare, no clocks of two nodes.
 * - `revoked_tokens`: single tokens logged out (`jti`), kept until they would have expired anyway; a user's rows go
 *   with the user.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE users ADD COLUMN IF NOT EXISTS token_generation integer NOT NULL DEFAULT 0;
		CREATE TABLE IF NOT EXISTS revoked_tokens (
			jti uuid PRIMARY KEY,
			user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			expires_at timestamptz NOT NULL
		);
		CREATE INDEX IF NOT EXISTS ix_revoked_tokens_user ON revoked_tokens (user_id);
		CREATE INDEX IF NOT EXISTS ix_revoked_tokens_expiry ON revoked_tokens (expires_at);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP TABLE IF EXISTS revoked_tokens;
		ALTER TABLE users DROP COLUMN IF EXISTS token_generation;
	`);
};
