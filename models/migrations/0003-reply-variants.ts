/**
 * Regenerated replies ("swipes") and stopped generations, plus the rolling summary of long chats:
 * - `variant`: 0 for the first reply to a user message, n for its n-th regeneration; `active`: the variant shown;
 * - `stopped`: the user stopped the generation, the content is the partial reply;
 * - `summary`/`summary_upto_seq` on the session: older turns folded into a summary once the chat outgrows the budget.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE messages
			ADD COLUMN IF NOT EXISTS variant integer NOT NULL DEFAULT 0 CHECK (variant >= 0),
			ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true,
			ADD COLUMN IF NOT EXISTS stopped boolean NOT NULL DEFAULT false;
		ALTER TABLE chat_sessions
			ADD COLUMN IF NOT EXISTS summary text,
			ADD COLUMN IF NOT EXISTS summary_upto_seq bigint;
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE chat_sessions DROP COLUMN IF EXISTS summary_upto_seq, DROP COLUMN IF EXISTS summary;
		ALTER TABLE messages DROP COLUMN IF EXISTS stopped, DROP COLUMN IF EXISTS active, DROP COLUMN IF EXISTS variant;
	`);
};
