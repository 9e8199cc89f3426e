/**
 * A fresh install (issue 17), on a database of its own (one Sequelize per process, so a file of its own too): the
 * first account becomes the admin even when several sign up at once (also when each holds its transaction open between
 * the check and the insert), REGISTRATION=closed lets only that one in (GET /config says open until then, and closed
 * after), and the last admin cannot be demoted or disabled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import pg from "pg";
import { QueryTypes } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { testConfig, uniqueName } from "../support/config.js";
import { restClient } from "../support/rest-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { AdminStore } from "../../src/adapters/admin-store.js";

const PASSWORD = "a long enough password";
const runUrl = new URL(process.env.TEST_DATABASE_URL ?? "");
const dbName = `${runUrl.pathname.slice(1)}_fresh`;
const adminUrl = new URL(runUrl);
adminUrl.pathname = "/postgres";
const url = new URL(runUrl);
url.pathname = `/${dbName}`;
let broker: ServiceBroker;
const { call } = restClient(() => gatewayOrigin(broker));

async function admin(statement: string) {
	const client = new pg.Client({ connectionString: adminUrl.toString() });
	await client.connect();
	try {
		await client.query(statement);
	} finally {
		await client.end();
	}
}

function users() {
	const { sequelize } = (broker.getLocalService("auth") as unknown as DbThis).db;
	return sequelize.query<{ username: string; role: string }>(`SELECT username, role FROM users`, {
		type: QueryTypes.SELECT,
	});
}

beforeAll(async () => {
	await admin(`CREATE DATABASE ${dbName}`);
	broker = createBroker(
		testConfig({
			DATABASE_URL: url.toString(),
			NAMESPACE: uniqueName("fresh"),
			REGISTRATION: "closed",
			// The sign-ups' password hashes run side by side, so they reach the database together.
			AUTH_HASH_CONCURRENCY: "12",
			AUTH_HASH_QUEUE: "100",
		}),
		{ logger: false },
	);
	await broker.start();
});

afterAll(async () => {
	await broker?.stop();
	await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
});

describe("a fresh install", () => {
	it("should admit one first account when several sign-ups are between the check and the insert at once", async () => {
		const { sequelize } = (broker.getLocalService("auth") as unknown as DbThis).db;
		const store = new AdminStore(sequelize);
		// Each sign-up waits a moment after being admitted, before its row is in: the window a race needs.
		const verdicts = await Promise.all(
			Array.from({ length: 4 }, () =>
				sequelize.transaction(async (transaction) => {
					const verdict = await store.admit(transaction, "closed");
					await sequelize.query(`SELECT pg_sleep(0.2)`, { transaction });
					if (verdict.admitted)
						await sequelize.query(
							`INSERT INTO users (username, name, hashed_password, role) VALUES ($1, 'Raced', '!', 'admin')`,
							{ bind: [uniqueName("race")], transaction },
						);
					return verdict;
				}),
			),
		);
		expect(verdicts.filter((v) => v.admitted)).toEqual([{ admitted: true, first: true }]);
		expect(verdicts.filter((v) => !v.admitted)).toEqual(Array(3).fill({ admitted: false, refusal: "closed" }));
		// A fresh install again, for the sign-ups through the gateway below.
		await sequelize.query(`DELETE FROM users`);
	});

	it("should let exactly one of several first sign-ups in, as the admin, and then nobody (REGISTRATION=closed)", async () => {
		// The sign-up form is told so (GET /config): open for the first account, closed from then on.
		expect(await call("GET", "/config")).toMatchObject({ status: 200, body: { registration: "open" } });
		const names = Array.from({ length: 12 }, () => uniqueName("first"));
		const replies = await Promise.all(
			names.map((username) => call("POST", "/register", { json: { username, name: "First", password: PASSWORD } })),
		);
		const admitted = names.filter((_, i) => replies[i].status === 201);
		expect(admitted).toHaveLength(1);
		for (const reply of replies.filter((r) => r.status !== 201))
			expect(reply).toMatchObject({ status: 403, body: { code: "REGISTRATION_CLOSED" } });
		expect(await users()).toEqual([{ username: admitted[0], role: "admin" }]);

		const later = await call("POST", "/register", {
			json: { username: uniqueName("late"), name: "Late", password: PASSWORD },
		});
		expect(later).toMatchObject({ status: 403, body: { code: "REGISTRATION_CLOSED" } });
		expect((await call("GET", "/config")).body).toEqual({ registration: "closed" });
	});

	it("should not let the last admin be demoted or disabled (409 LAST_ADMIN)", async () => {
		const [{ username }] = await users();
		const token = (await call("POST", "/login", { json: { username, password: PASSWORD } })).body.access_token;
		for (const body of [{ role: "user" }, { disabled: true }]) {
			const refused = await call("PATCH", `/admin/users/${username}`, { token, json: body });
			expect(refused, JSON.stringify(refused.body)).toMatchObject({ status: 409, body: { code: "LAST_ADMIN" } });
		}
		expect((await call("GET", "/me", { token })).body.role).toBe("admin");
		const listed = await call("GET", "/admin/users", { token });
		expect(listed.body).toMatchObject([{ username, role: "admin", disabled: false }]);
	});
});
