/**
 * The PostgreSQL pool's settings (issue 19): a process with DB_POOL_MAX=2 holds at most 2 connections however many
 * queries its services run at once, counted by PostgreSQL itself (pg_stat_activity, by the application_name the
 * pool's connections carry), and gives them back after DB_POOL_IDLE_MS unused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import pg from "pg";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { applicationName } from "../../src/adapters/database.js";
import { testConfig, uniqueName } from "../support/config.js";
import { eventually } from "../support/process.js";

const nodeId = uniqueName("pool");
let broker: ServiceBroker;
let observer: pg.Client;

/** The process's connections, as PostgreSQL sees them. */
async function connections(): Promise<number> {
	const { rows } = await observer.query<{ n: number }>(
		"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
		[applicationName(nodeId)],
	);
	return rows[0].n;
}

beforeAll(async () => {
	const env = { NAMESPACE: uniqueName("pool"), NODE_ID: nodeId, SERVICES: "characters,personas" };
	broker = createBroker(testConfig({ ...env, DB_POOL_MAX: "2", DB_POOL_IDLE_MS: "1000" }), { logger: false });
	await broker.start();
	observer = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
	await observer.connect();
});

afterAll(async () => {
	await observer?.end();
	await broker?.stop();
});

describe("the database pool", () => {
	it("should open at most DB_POOL_MAX connections under concurrent queries, and close them once idle", async () => {
		// Two services of the process: one pool between them.
		const queries = ["characters", "personas"].flatMap((name) => {
			const { sequelize } = (broker.getLocalService(name) as unknown as DbThis).db;
			return Array.from({ length: 4 }, () => sequelize.query("SELECT pg_sleep(0.3)"));
		});
		let most = 0;
		let running = true;
		const all = Promise.all(queries).finally(() => (running = false));
		while (running) {
			most = Math.max(most, await connections());
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		await all;
		expect(most).toBe(2);
		await eventually(async () => (await connections()) === 0, 5000, "the idle connections to close");
	});
});
