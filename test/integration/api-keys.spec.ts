/**
 * Personal API keys (issue 18), in embedded mode with the real gateway, sockets and PostgreSQL: made, listed (never
 * the key again) and revoked; a key works as a Bearer token on REST and in the chat handshake, and is refused at once
 * after revocation (its sockets close), the account's deletion or its disabling, and outlives a password change; a
 * key cannot manage keys, the password or the account; at most 20 keys per user, also when many are made at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { QueryTypes, type Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { hashApiKey, MAX_API_KEYS_PER_USER } from "../../src/domain/api-keys.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ChatSocket } from "../support/ws-client.js";

const PASSWORD = "a long enough password";
const OPERATOR = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };

let broker: ServiceBroker;
let sequelize: Sequelize;
let wsBase = "";
let characterId = "";
const { call, login } = restClient(() => gatewayOrigin(broker));

const as = (token: string, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token, json });

/** A new key of the holder of `token`. */
async function newKey(token: string, name = "Script"): Promise<{ id: string; key: string }> {
	const made = await as(token, "POST", "/me/api-keys", { name });
	expect(made.status, JSON.stringify(made.body)).toBe(201);
	return made.body;
}

async function openChat(token: string, headers?: Record<string, string>): Promise<ChatSocket> {
	const query = headers ? "" : `?token=${encodeURIComponent(token)}`;
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}${query}`, headers);
	await socket.next((f) => f.type === "connection");
	return socket;
}

const refusedHandshake = (token: string) =>
	ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(token)}`).then(
		() => 0,
		(err: { status?: number }) => err.status,
	);

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("apikeys") }), { logger: false });
	await broker.start();
	sequelize = (broker.getLocalService("api-keys") as unknown as DbThis).db.sequelize;
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	characterId = await createTestCharacter(broker);
});

afterAll(() => broker?.stop());

describe("personal API keys", () => {
	it("should show a key once, list it by its hint only, and keep only its digest", async () => {
		const me = await login();
		const made = await as(me.token, "POST", "/me/api-keys", { name: "  CI bot  " });
		expect(made.status).toBe(201);
		expect(made.body).toEqual({
			id: expect.any(String),
			name: "CI bot",
			key: expect.stringMatching(/^cameo_sk_[A-Za-z0-9_-]{43}$/),
			hint: made.body.key.slice(-4),
			created_at: expect.any(String),
		});
		const listed = await as(me.token, "GET", "/me/api-keys");
		expect(listed.status).toBe(200);
		expect(listed.body).toEqual([
			{
				id: made.body.id,
				name: "CI bot",
				hint: made.body.key.slice(-4),
				created_at: made.body.created_at,
				last_used_at: null,
			},
		]);
		expect(listed.bytes.toString()).not.toContain(made.body.key.slice(9, 30));
		const rows = await sequelize.query<{ key_hash: string }>(`SELECT key_hash FROM api_keys WHERE id = $1`, {
			bind: [made.body.id],
			type: QueryTypes.SELECT,
		});
		expect(rows).toEqual([{ key_hash: hashApiKey(made.body.key) }]);
		// Someone else sees none of them.
		expect((await as((await login()).token, "GET", "/me/api-keys")).body).toEqual([]);
	});

	it("should work as a Bearer token on REST and in the chat handshake, recording its use once a minute", async () => {
		const me = await login();
		const { id, key } = await newKey(me.token);
		const who = await as(key, "GET", "/me");
		expect(who.status).toBe(200);
		expect(who.body).toMatchObject({ id: me.id, username: me.username });
		expect((await as(key, "GET", "/sessions")).status).toBe(200);
		const models = await as(key, "GET", "/v1/models");
		expect(models.status).toBe(200);
		expect(models.body.data).toContainEqual(expect.objectContaining({ object: "model" }));
		const used = (await as(me.token, "GET", "/me/api-keys")).body[0].last_used_at as string;
		expect(used).toEqual(expect.any(String));
		await as(key, "GET", "/me");
		expect((await as(me.token, "GET", "/me/api-keys")).body[0].last_used_at).toBe(used);

		const byQuery = await openChat(key);
		byQuery.send({ content: "Hello from a script" });
		await byQuery.next((f) => f.type === "ai");
		await byQuery.close();
		await (await openChat(key, { Authorization: `Bearer ${key}` })).close();
		expect((await as(me.token, "GET", "/me/api-keys")).body).toMatchObject([{ id }]);
	});

	it("should refuse a revoked key at once, close its sockets (4001) and leave the login's open", async () => {
		const me = await login();
		const { id, key } = await newKey(me.token);
		const other = await newKey(me.token, "Other");
		const [withKey, withLogin, withOther] = [await openChat(key), await openChat(me.token), await openChat(other.key)];
		const gone = await as(me.token, "DELETE", `/me/api-keys/${id}`);
		expect(gone.status).toBe(204);
		expect(await withKey.closedWithin()).toBe(4001);
		const refused = await as(key, "GET", "/me");
		expect(refused.status).toBe(401);
		expect(refused.body.code).toBe("UNAUTHORIZED");
		expect(await refusedHandshake(key)).toBe(401);
		expect((await as(key, "GET", "/v1/models")).status).toBe(401);
		expect((await as(me.token, "DELETE", `/me/api-keys/${id}`)).status).toBe(404);
		expect(withLogin.closeCode).toBeUndefined();
		expect(withOther.closeCode).toBeUndefined();
		expect((await as(other.key, "GET", "/me")).status).toBe(200);
		await Promise.all([withLogin.close(), withOther.close()]);
	});

	it("should not let a key manage keys, the password or the account, nor log out", async () => {
		const me = await login();
		const { id, key } = await newKey(me.token);
		for (const [method, path, json] of [
			["POST", "/me/api-keys", { name: "Successor" }],
			["GET", "/me/api-keys", undefined],
			["DELETE", `/me/api-keys/${id}`, undefined],
			["PATCH", "/me", { name: "Taken over" }],
			["PATCH", "/me", { current_password: PASSWORD, new_password: "taken over at last" }],
			["DELETE", "/me", { password: PASSWORD }],
			["POST", "/logout", undefined],
		] as const) {
			const res = await as(key, method, path, json);
			expect(res.status, `${method} ${path}`).toBe(403);
			expect(res.body.code).toBe("LOGIN_REQUIRED");
		}
		expect((await as(me.token, "GET", "/me/api-keys")).body).toHaveLength(1);
		expect((await as(key, "GET", "/me")).body.name).toBe("Test User");
	});

	it("should refuse a name out of bounds, and a malformed key id, and someone else's as unknown", async () => {
		const me = await login();
		for (const name of ["", "   ", "x".repeat(101), 42, null, ["a"]]) {
			const res = await as(me.token, "POST", "/me/api-keys", { name });
			expect(res.status, JSON.stringify(name)).toBe(422);
			expect(res.body.code).toBe("VALIDATION_ERROR");
		}
		expect((await as(me.token, "POST", "/me/api-keys", {})).status).toBe(422);
		const theirs = await newKey((await login()).token);
		for (const id of [theirs.id, "00000000-0000-4000-8000-000000000000"]) {
			const res = await as(me.token, "DELETE", `/me/api-keys/${id}`);
			expect(res.status, id).toBe(404);
			expect(res.body.code).toBe("API_KEY_NOT_FOUND");
		}
		expect((await as(me.token, "DELETE", "/me/api-keys/not-a-uuid")).status).toBe(422);
		expect((await as(theirs.key, "GET", "/me")).status).toBe(200);
	});

	it(`should hold no more than ${MAX_API_KEYS_PER_USER} keys per user, also when they are made at once`, async () => {
		const me = await login();
		const made = await Promise.all(
			Array.from({ length: MAX_API_KEYS_PER_USER + 5 }, (_, n) =>
				as(me.token, "POST", "/me/api-keys", { name: `k${n}` }),
			),
		);
		expect(made.filter((r) => r.status === 201)).toHaveLength(MAX_API_KEYS_PER_USER);
		const refused = made.filter((r) => r.status !== 201);
		expect(refused.map((r) => [r.status, r.body.code])).toEqual(Array(5).fill([409, "TOO_MANY_API_KEYS"]));
		expect(refused[0].body.detail).toMatch(/revoke one/);
		const one = made.find((r) => r.status === 201)!.body.id as string;
		expect((await as(me.token, "DELETE", `/me/api-keys/${one}`)).status).toBe(204);
		expect((await as(me.token, "POST", "/me/api-keys", { name: "again" })).status).toBe(201);
	});

	it("should refuse a key of a disabled account as its login is, close its sockets, and take it again once enabled", async () => {
		const me = await login();
		const { key } = await newKey(me.token);
		const socket = await openChat(key);
		await broker.call("admin.updateUser", { username: me.username, disabled: true }, { meta: OPERATOR });
		expect(await socket.closedWithin()).toBe(4003);
		const [byKey, byLogin] = [await as(key, "GET", "/me"), await as(me.token, "GET", "/me")];
		expect([byKey.status, byKey.body.code]).toEqual([401, "USER_DISABLED"]);
		expect([byLogin.status, byLogin.body.code]).toEqual([401, "USER_DISABLED"]);
		expect(await refusedHandshake(key)).toBe(401);
		await broker.call("admin.updateUser", { username: me.username, disabled: false }, { meta: OPERATOR });
		expect((await as(key, "GET", "/me")).status).toBe(200);
	});

	it("should outlive a password change: the key and its socket go on, the other logins' sockets close", async () => {
		const me = await login();
		const { key } = await newKey(me.token);
		const [withKey, withLogin] = [await openChat(key), await openChat(me.token)];
		const changed = await as(me.token, "PATCH", "/me", {
			current_password: PASSWORD,
			new_password: "a newer password",
		});
		expect(changed.status).toBe(200);
		expect(await withLogin.closedWithin()).toBe(4001);
		expect((await as(key, "GET", "/me")).status).toBe(200);
		expect(withKey.closeCode).toBeUndefined();
		withKey.send({ content: "Still here?" });
		await withKey.next((f) => f.type === "ai");
		await withKey.close();
	});

	it("should refuse the keys of a deleted account and delete them with it", async () => {
		const me = await login();
		const { key } = await newKey(me.token);
		const socket = await openChat(key);
		expect((await as(me.token, "DELETE", "/me", { password: PASSWORD })).status).toBe(204);
		expect(await socket.closedWithin()).toBe(4001);
		expect((await as(key, "GET", "/me")).status).toBe(401);
		const left = await sequelize.query(`SELECT 1 FROM api_keys WHERE user_id = $1`, {
			bind: [me.id],
			type: QueryTypes.SELECT,
		});
		expect(left).toEqual([]);
	});

	it("should refuse malformed keys as any bad token", async () => {
		const { key } = await newKey((await login()).token);
		for (const bad of [
			"cameo_sk_",
			`${key}x`,
			key.slice(0, -1),
			`${key.slice(0, -1)}!`,
			`cameo_sk_${"A".repeat(5000)}`,
		]) {
			const res = await as(bad, "GET", "/me");
			expect(res.status, bad.slice(0, 60)).toBe(401);
		}
	});
});
