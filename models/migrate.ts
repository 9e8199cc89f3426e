/**
 * Runs the schema migrations at start. Several processes may start at once (k8s rollout, the local cluster
 * runner), so the run is serialised by a PostgreSQL advisory lock held on its own connection: the first process
 * migrates, the others wait and then find nothing left to do.
 */
import { Umzug, SequelizeStorage } from "umzug";
import type { Sequelize } from "sequelize";
import * as initialSchema from "./migrations/0001-initial-schema.js";
import * as chatPipeline from "./migrations/0002-chat-pipeline.js";
import * as replyVariants from "./migrations/0003-reply-variants.js";
import * as characterCards from "./migrations/0004-character-cards.js";
import * as usage from "./migrations/0005-usage.js";
import * as lastMessageFromMessages from "./migrations/0006-last-message-from-messages.js";
import * as characterAvatarsAndSlugs from "./migrations/0007-character-avatars-and-slugs.js";
import * as caseInsensitiveUsernames from "./migrations/0008-case-insensitive-usernames.js";
import * as storySteering from "./migrations/0009-story-steering.js";
import * as sessionRevision from "./migrations/0010-session-revision.js";
import * as personasLorebooksMemory from "./migrations/0011-personas-lorebooks-memory.js";
import * as rooms from "./migrations/0012-rooms.js";
import * as search from "./migrations/0013-search.js";
import * as account from "./migrations/0014-account.js";
import * as chatImport from "./migrations/0015-chat-import.js";
import * as admin from "./migrations/0016-admin.js";
import * as moderation from "./migrations/0017-moderation.js";
import * as chatPresets from "./migrations/0018-chat-presets.js";
import * as ownProviders from "./migrations/0019-own-providers.js";
import * as apiKeys from "./migrations/0020-api-keys.js";

/** Listed explicitly (not globbed) so the same list works from TypeScript sources and from the built dist/. */
const MIGRATIONS = [
	{ name: "0001-initial-schema", ...initialSchema },
	{ name: "0002-chat-pipeline", ...chatPipeline },
	{ name: "0003-reply-variants", ...replyVariants },
	{ name: "0004-character-cards", ...characterCards },
	{ name: "0005-usage", ...usage },
	{ name: "0006-last-message-from-messages", ...lastMessageFromMessages },
	{ name: "0007-character-avatars-and-slugs", ...characterAvatarsAndSlugs },
	{ name: "0008-case-insensitive-usernames", ...caseInsensitiveUsernames },
	{ name: "0009-story-steering", ...storySteering },
	{ name: "0010-session-revision", ...sessionRevision },
	{ name: "0011-personas-lorebooks-memory", ...personasLorebooksMemory },
	{ name: "0012-rooms", ...rooms },
	{ name: "0013-search", ...search },
	{ name: "0014-account", ...account },
	{ name: "0015-chat-import", ...chatImport },
	{ name: "0016-admin", ...admin },
	{ name: "0017-moderation", ...moderation },
	{ name: "0018-chat-presets", ...chatPresets },
	{ name: "0019-own-providers", ...ownProviders },
	{ name: "0020-api-keys", ...apiKeys },
];

// Arbitrary constant naming "cameo schema migration" in pg_advisory_lock's key space.
const MIGRATION_LOCK_KEY = 0x6361_6d65;
const LOCK_POLL_MS = 100;

async function tryLock(connection: { query(sql: string, values?: unknown[]): Promise<unknown> }): Promise<boolean> {
	const result = (await connection.query("SELECT pg_try_advisory_lock($1) AS locked", [MIGRATION_LOCK_KEY])) as {
		rows: { locked: boolean }[];
	};
	return result.rows[0].locked;
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
	const umzug = new Umzug({
		migrations: MIGRATIONS.map((m) => ({ name: m.name, up: m.up, down: m.down })),
		context: sequelize.getQueryInterface(),
		storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
		logger: undefined,
	});
	const lockConnection = (await sequelize.connectionManager.getConnection({ type: "write" })) as {
		query(sql: string, values?: unknown[]): Promise<unknown>;
	};
	try {
		// Polled rather than waited for: a backend blocked in pg_advisory_lock holds a snapshot, and CREATE INDEX
		// CONCURRENTLY (0013) waits for every older snapshot, so the process migrating would wait for those waiting on it.
		while (!(await tryLock(lockConnection))) await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
		try {
			const applied = await umzug.up();
			return applied.map((m) => m.name);
		} finally {
			await lockConnection.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
		}
	} finally {
		sequelize.connectionManager.releaseConnection(lockConnection as never);
	}
}
