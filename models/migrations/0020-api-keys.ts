/**
 * Personal API keys (issue 18): `api_keys` holds each key's SHA-256 digest (never the key; src/domain/api-keys.ts says
 * why a fast hash is right for it), unique, so auth.validate finds a key and its user in one indexed step. `hint` is
 * the key's last characters, for telling keys apart in a listing. A user's keys go with the user.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		CREATE TABLE IF NOT EXISTS api_keys (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			name varchar(100) NOT NULL,
			key_hash char(64) NOT NULL UNIQUE,
			hint varchar(8) NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now(),
			last_used_at timestamptz
		);
		CREATE INDEX IF NOT EXISTS ix_api_keys_user ON api_keys (user_id, created_at);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`DROP TABLE IF EXISTS api_keys`);
};
