/**
 * Users' own provider keys (issue 17): `user_providers` holds at most one provider per user, its key encrypted
 * (src/domain/own-provider.ts) with only the last four characters in the clear; gone with the user.
 * `messages.own_key` marks replies made with the user's own key: their tokens are shown, but held against no server
 * quota or usage figure.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		CREATE TABLE IF NOT EXISTS user_providers (
			user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
			provider text NOT NULL CHECK (provider IN ('gemini', 'openai')),
			model text,
			base_url text,
			key_ciphertext text NOT NULL,
			key_last4 text NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now()
		)`);
	// A constant default: no table rewrite, however many messages there are.
	await qi.sequelize.query(`ALTER TABLE messages ADD COLUMN IF NOT EXISTS own_key boolean NOT NULL DEFAULT false`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`ALTER TABLE messages DROP COLUMN IF EXISTS own_key`);
	await qi.sequelize.query(`DROP TABLE IF EXISTS user_providers`);
};
