/**
 * Creates one fresh PostgreSQL database for this test run (unique name, so runs never see each other's leftovers)
 * and drops it afterwards. PG_ADMIN_URL points at a server where we may CREATE DATABASE.
 */
import pg from "pg";
import { randomBytes } from "node:crypto";

const adminUrl = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `cameo_test_${Date.now()}_${randomBytes(3).toString("hex")}`;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: adminUrl });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

export async function setup(): Promise<void> {
	await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
	const url = new URL(adminUrl);
	url.pathname = `/${dbName}`;
	process.env.TEST_DATABASE_URL = url.toString();
}

export async function teardown(): Promise<void> {
	if (process.env.KEEP_TEST_DB) return;
	await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
}
