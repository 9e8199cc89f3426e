import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sequelize } from "sequelize";
import pg from "pg";
import { migrate } from "../../models/migrate.js";
import * as caseInsensitiveUsernames from "../../models/migrations/0008-case-insensitive-usernames.js";

// A database of its own: this file checks a schema built from nothing.
const runUrl = new URL(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const dbName = `${runUrl.pathname.slice(1)}_migrations`;
const adminUrl = new URL(runUrl);
adminUrl.pathname = "/postgres";
const url = new URL(runUrl);
url.pathname = `/${dbName}`;

async function admin(sql: string) {
	const client = new pg.Client({ connectionString: adminUrl.toString() });
	await client.connect();
	try {
		await client.query(sql);
	} finally {
		await client.end();
	}
}

describe("schema migrations", () => {
	const instances: Sequelize[] = [];
	const connect = () => {
		const s = new Sequelize(url.toString(), { dialect: "postgres", logging: false });
		instances.push(s);
		return s;
	};

	beforeAll(() => admin(`CREATE DATABASE ${dbName}`));
	afterAll(async () => {
		await Promise.all(instances.map((s) => s.close()));
		await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
	});

	it("should apply once when several processes start at the same time", async () => {
		const results = await Promise.all([connect(), connect(), connect()].map((s) => migrate(s)));
		const applied = results.flat();
		expect(applied).toEqual([
			"0001-initial-schema",
			"0002-chat-pipeline",
			"0003-reply-variants",
			"0004-character-cards",
			"0005-usage",
			"0006-last-message-from-messages",
			"0007-character-avatars-and-slugs",
			"0008-case-insensitive-usernames",
			"0009-story-steering",
			"0010-session-revision",
			"0011-personas-lorebooks-memory",
			"0012-rooms",
			"0013-search",
			"0014-account",
			"0015-chat-import",
			"0016-admin",
			"0017-moderation",
			"0018-chat-presets",
			"0019-own-providers",
			"0020-api-keys",
		]);
	});

	it("should do nothing when run again", async () => {
		expect(await migrate(connect())).toEqual([]);
	});

	it("should build the seed's tables with the keys it forgot", async () => {
		const [rows] = await connect().query(`
			SELECT tc.table_name, kcu.column_name, ccu.table_name AS references_table
			FROM information_schema.table_constraints tc
			JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name
			JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name
			WHERE tc.constraint_type = 'FOREIGN KEY' ORDER BY 1, 2`);
		expect(rows).toEqual(
			expect.arrayContaining([
				{ table_name: "messages", column_name: "session_id", references_table: "chat_sessions" },
				{ table_name: "messages", column_name: "character_id", references_table: "ai_characters" },
				{ table_name: "messages", column_name: "username", references_table: "users" },
				{ table_name: "chat_sessions", column_name: "character_id", references_table: "ai_characters" },
				{ table_name: "chat_sessions", column_name: "username", references_table: "users" },
			]),
		);
		const [indexes] = await connect().query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`);
		const names = (indexes as { indexname: string }[]).map((i) => i.indexname);
		for (const seedIndex of [
			"idx_user_character_session",
			"idx_user_sessions",
			"idx_active_sessions",
			"idx_user_character",
			"idx_session_messages",
			"idx_message_role",
		]) {
			expect(names).toContain(seedIndex);
		}
		const [nullable] = await connect().query(
			`SELECT column_name FROM information_schema.columns WHERE table_name = 'messages' AND is_nullable = 'YES' ORDER BY 1`,
		);
		// Only the columns that are absent by nature: reply_to/model/token counts on user messages, never-published outbox
		// rows, messages never edited, continued or pinned, the persona name of a message outside a room, what an
		// imported line carried beyond cameo's columns (none for messages made here).
		expect((nullable as { column_name: string }[]).map((c) => c.column_name)).toEqual([
			"edited_at",
			"extra",
			"generating_since",
			"input_tokens",
			"last_published_at",
			"model",
			"output_tokens",
			"pinned_at",
			"reply_to",
			"speaker",
		]);
	});

	it("should rename accounts that differ from an older one only in case, then keep such names apart", async () => {
		const db = connect();
		const qi = db.getQueryInterface();
		await caseInsensitiveUsernames.down({ context: qi, name: "0008", path: undefined });
		await db.query(`
			INSERT INTO users (id, username, name, hashed_password, created_at, updated_at) VALUES
				('00000000-0000-4000-8000-000000000001', 'dup_alice', 'First', 'x', now() - interval '1 day', now()),
				('3f2a9c00-0000-4000-8000-000000000002', 'Dup_Alice', 'Second', 'x', now(), now());
		`);
		await caseInsensitiveUsernames.up({ context: qi, name: "0008", path: undefined });
		const [users] = await db.query(
			`SELECT name, username FROM users WHERE lower(username) LIKE 'dup_alice%' ORDER BY name`,
		);
		expect(users).toEqual([
			{ name: "First", username: "dup_alice" },
			{ name: "Second", username: "Dup_Alice-3f2a9c" },
		]);
		await expect(
			db.query(
				`INSERT INTO users (username, name, hashed_password, created_at, updated_at) VALUES ('DUP_ALICE', 'Third', 'x', now(), now())`,
			),
		).rejects.toMatchObject({
			name: "SequelizeUniqueConstraintError",
			parent: { constraint: "ux_users_username_lower" },
		});
	});
});
