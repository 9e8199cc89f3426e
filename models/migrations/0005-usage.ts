/**
 * Token usage per reply, as the provider reported it (or as counted when it did not), for the operators' `stats`:
 * - `input_tokens`/`output_tokens` on AI messages; null on user messages, greetings and operator messages;
 * - an index on `created_at`, so "the last N minutes" reads a range instead of the whole table.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE messages
			ADD COLUMN IF NOT EXISTS input_tokens integer,
			ADD COLUMN IF NOT EXISTS output_tokens integer;
		CREATE INDEX IF NOT EXISTS idx_messages_created_at ON messages (created_at);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP INDEX IF EXISTS idx_messages_created_at;
		ALTER TABLE messages DROP COLUMN IF EXISTS output_tokens, DROP COLUMN IF EXISTS input_tokens;
	`);
};
