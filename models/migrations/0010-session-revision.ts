/**
 * `chat_sessions.revision`: how many times the session's stored story was changed in place (an edit, a rewind, a
 * choice of swipe, a continued reply), counted in the statement or transaction of the change. A socket resuming after
 * a message id is replayed only what came after it; the revision in its `connection` frame tells it whether older
 * messages changed meanwhile (then it reloads the history). New messages and replies do not count: `after` replays them.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`ALTER TABLE chat_sessions ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`ALTER TABLE chat_sessions DROP COLUMN IF EXISTS revision`);
};
