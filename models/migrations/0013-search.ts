/**
 * Full-text search over messages (issue 16, GET /search):
 * - `ix_messages_content_fts`: GIN over `to_tsvector('simple', content)`. The `simple` configuration lower-cases words
 *   and does not stem, so it treats every language alike (German, Russian... are found word for word).
 * - `ix_messages_content_trgm`: GIN trigrams over `content` (pg_trgm), for the substring match that finds what has no
 *   word boundaries (Chinese, Japanese) or part of a word. Without pg_trgm (a server without contrib, or a role that
 *   may not create it) the index is skipped: search still works, its substring match reading the user's messages
 *   without an index.
 * Both are built CONCURRENTLY, so a large messages table keeps taking writes while they build: each statement is its
 * own query outside any transaction (umzug runs migrations without one, and a multi-statement query would be one).
 * migrate.ts polls its advisory lock rather than waiting on it, since a waiting backend holds a snapshot that
 * CREATE INDEX CONCURRENTLY would wait for. A build that failed leaves an invalid index, which is dropped and rebuilt.
 * GIN's fastupdate (on by default) keeps the insert path cheap: new rows go to a pending list merged in bulk.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

const INDEXES = [
	{ name: "ix_messages_content_fts", using: "gin (to_tsvector('simple'::regconfig, content))" },
	{ name: "ix_messages_content_trgm", using: "gin (content gin_trgm_ops)" },
];

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	const db = qi.sequelize;
	let trigrams = true;
	try {
		await db.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
	} catch {
		trigrams = false;
	}
	for (const index of INDEXES) {
		if (index.name === "ix_messages_content_trgm" && !trigrams) continue;
		await db.query(`
			DO $$ BEGIN
				IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					WHERE c.relname = '${index.name}' AND NOT i.indisvalid) THEN DROP INDEX ${index.name};
				END IF;
			END $$`);
		await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index.name} ON messages USING ${index.using}`);
	}
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	for (const index of INDEXES) await qi.sequelize.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`);
};
