/**
 * Per-chat presets (issue 17): `chat_sessions.preset` holds the model settings a chat's owner chose for it with
 * PATCH /sessions/{id} (`model`, `temperature`, `top_p`, `max_output_tokens`), each replacing the character's for
 * that chat's replies. Absent keys are not overridden; `{}` (every existing chat) is no preset.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`ALTER TABLE chat_sessions ADD COLUMN IF NOT EXISTS preset jsonb NOT NULL DEFAULT '{}'`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`ALTER TABLE chat_sessions DROP COLUMN IF EXISTS preset`);
};
