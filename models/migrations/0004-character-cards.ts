/**
 * Character Card V2/V3 fields on ai_characters (see src/domain/character-card.ts), the card's PNG as the avatar,
 * and per-character model overrides (null: the provider's default):
 * - `extensions`: the card's extensions verbatim, plus what we don't model under `cameo_card_extra`;
 * - `avatar`: the card image without its card chunks, capped so a row never carries more than 4 MB of it.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE ai_characters
			ADD COLUMN IF NOT EXISTS personality text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS scenario text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS mes_example text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS post_history_instructions text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS alternate_greetings jsonb NOT NULL DEFAULT '[]',
			ADD COLUMN IF NOT EXISTS creator_notes text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS creator text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS character_version text NOT NULL DEFAULT '',
			ADD COLUMN IF NOT EXISTS tags jsonb NOT NULL DEFAULT '[]',
			ADD COLUMN IF NOT EXISTS extensions jsonb NOT NULL DEFAULT '{}',
			ADD COLUMN IF NOT EXISTS avatar bytea CONSTRAINT ai_characters_avatar_size CHECK (octet_length(avatar) <= 4194304),
			ADD COLUMN IF NOT EXISTS llm_model text,
			ADD COLUMN IF NOT EXISTS temperature real,
			ADD COLUMN IF NOT EXISTS max_output_tokens integer CONSTRAINT ai_characters_max_output_tokens_positive CHECK (max_output_tokens > 0);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE ai_characters
			DROP COLUMN IF EXISTS max_output_tokens, DROP COLUMN IF EXISTS temperature, DROP COLUMN IF EXISTS llm_model,
			DROP COLUMN IF EXISTS avatar, DROP COLUMN IF EXISTS extensions, DROP COLUMN IF EXISTS tags,
			DROP COLUMN IF EXISTS character_version, DROP COLUMN IF EXISTS creator, DROP COLUMN IF EXISTS creator_notes,
			DROP COLUMN IF EXISTS alternate_greetings, DROP COLUMN IF EXISTS post_history_instructions,
			DROP COLUMN IF EXISTS mes_example, DROP COLUMN IF EXISTS scenario, DROP COLUMN IF EXISTS personality;
	`);
};
