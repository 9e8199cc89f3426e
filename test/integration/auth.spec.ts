import { afterAll, beforeAll, describe, it, expect } from "vitest";
import { Context, ServiceBroker, type Middleware, type Service } from "moleculer";
import jwt from "jsonwebtoken";
import authService from "../../services/auth.service.js";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { signAccessToken, verifyAccessToken } from "../../src/domain/access-tokens.js";
import { testConfig, uniqueName, TEST_JWT_SECRET } from "../support/config.js";
import { eventually } from "../support/process.js";

const PASSWORD = "s3cret-passw0rd";

describe("auth service", () => {
	const broker = new ServiceBroker({ logger: false });
	broker.createService(authService(testConfig()));
	let service: Service & DbThis;
	// Registered once in beforeAll: every scrypt hash costs a few hundred ms.
	const alice = { username: uniqueName("alice"), name: "Alice", password: PASSWORD };
	let aliceId: string;

	const countUsers = (username: unknown) =>
		typeof username === "string" ? service.db.models.User.count({ where: { username } }) : Promise.resolve(0);
	const login = async (username: string, password = PASSWORD) =>
		(await broker.call<{ access_token: string }, object>("auth.login", { username, password })).access_token;

	beforeAll(async () => {
		await broker.start();
		service = broker.getLocalService("auth") as Service & DbThis;
		aliceId = (await broker.call<{ id: string }, object>("auth.register", alice)).id;
	});

	afterAll(async () => {
		await broker.stop();
	});

	describe("Test 'auth.register' action", () => {
		it("should create a user with a hashed password and answer 201", async () => {
			const username = uniqueName("reg");
			const ctx = Context.create(broker);
			const user = await ctx.call("auth.register", { username, name: "  Regina  ", password: PASSWORD, role: "admin" });
			expect(user).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), username, name: "Regina" });
			expect(ctx.meta).toMatchObject({ $statusCode: 201 });
			const row = await service.db.models.User.findOne({ where: { username } });
			// `role` was stripped ($$strict: "remove"), the password is stored only as a scrypt hash.
			expect(row?.role).toBe("user");
			expect(row?.hashed_password).toMatch(/^scrypt\$17\$8\$1\$/);
			expect(row?.hashed_password).not.toContain(PASSWORD);
		});

		it("should refuse a taken username with 409 USER_EXISTS", async () => {
			await expect(broker.call("auth.register", { ...alice, name: "Other" })).rejects.toMatchObject({
				code: 409,
				type: "USER_EXISTS",
			});
			expect(await countUsers(alice.username)).toBe(1);
		});

		it("should refuse a username that differs from a taken one only in case", async () => {
			const lookalike = alice.username.toUpperCase();
			await expect(broker.call("auth.register", { ...alice, username: lookalike })).rejects.toMatchObject({
				code: 409,
				type: "USER_EXISTS",
			});
			expect(await countUsers(lookalike)).toBe(0);
			// Login matches the username exactly as registered.
			await expect(login(lookalike)).rejects.toMatchObject({ code: 401, type: "INVALID_CREDENTIALS" });
		});

		it("should let exactly one of two racing registrations win, also when they differ in case", async () => {
			const username = uniqueName("race");
			const results = await Promise.allSettled([
				broker.call("auth.register", { username, name: "One", password: PASSWORD }),
				broker.call("auth.register", { username: username.toUpperCase(), name: "Two", password: PASSWORD }),
			]);
			expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
			expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({
				code: 409,
				type: "USER_EXISTS",
			});
		});

		it("should let exactly one of two racing registrations win", async () => {
			const username = uniqueName("race");
			const results = await Promise.allSettled([
				broker.call("auth.register", { username, name: "One", password: PASSWORD }),
				broker.call("auth.register", { username, name: "Two", password: PASSWORD }),
			]);
			expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
			const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
			expect(rejected.reason).toMatchObject({ code: 409, type: "USER_EXISTS" });
			expect(await countUsers(username)).toBe(1);
		});

		const valid = () => ({ username: uniqueName("bad"), name: "Bad Input", password: PASSWORD });
		const badInputs: [string, () => Record<string, unknown>][] = [
			["no username", () => ({ ...valid(), username: undefined })],
			["no name", () => ({ ...valid(), name: undefined })],
			["no password", () => ({ ...valid(), password: undefined })],
			["a numeric username", () => ({ ...valid(), username: 12345 })],
			["an object as password", () => ({ ...valid(), password: { $gt: "" } })],
			["an array as name", () => ({ ...valid(), name: ["a"] })],
			["a 10 kB username", () => ({ ...valid(), username: "a".repeat(10_240) })],
			["a too short username", () => ({ ...valid(), username: "ab" })],
			["a unicode username", () => ({ ...valid(), username: "ålice_ünïcode" })],
			["a username with a space", () => ({ ...valid(), username: "al ice" })],
			["SQL metacharacters", () => ({ ...valid(), username: "x'; DROP TABLE users;--" })],
			["a blank name", () => ({ ...valid(), name: "   " })],
			["a 101-character name", () => ({ ...valid(), name: "n".repeat(101) })],
			["a 7-character password", () => ({ ...valid(), password: "short12" })],
			["a 257-character password", () => ({ ...valid(), password: "p".repeat(257) })],
		];
		it.each(badInputs)("should answer 422 VALIDATION_ERROR and create no row for %s", async (_label, make) => {
			const params = make();
			await expect(broker.call("auth.register", params)).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
			expect(await countUsers(params.username)).toBe(0);
		});

		it("should still have the users table after the SQL metacharacters", async () => {
			expect(await countUsers(alice.username)).toBe(1);
		});
	});

	describe("Test 'auth.login' action", () => {
		it("should give a bearer token for the right password", async () => {
			const res = await broker.call("auth.login", { username: alice.username, password: PASSWORD });
			expect(res).toEqual({ access_token: expect.any(String), token_type: "bearer" });
		});

		it("should answer 401 INVALID_CREDENTIALS for a wrong password or an unknown user", async () => {
			const invalid = { code: 401, type: "INVALID_CREDENTIALS", message: "Incorrect username or password" };
			await expect(login(alice.username, "wrong-password")).rejects.toMatchObject(invalid);
			await expect(login(alice.username.toUpperCase())).rejects.toMatchObject(invalid);
			await expect(login(uniqueName("ghost"))).rejects.toMatchObject(invalid);
		});

		it("should answer 422 for missing or mistyped fields", async () => {
			const validation = { code: 422, type: "VALIDATION_ERROR" };
			await expect(broker.call("auth.login", { username: alice.username })).rejects.toMatchObject(validation);
			await expect(broker.call("auth.login", { username: alice.username, password: 1 })).rejects.toMatchObject(
				validation,
			);
			await expect(broker.call("auth.login", { username: "u".repeat(65), password: PASSWORD })).rejects.toMatchObject(
				validation,
			);
		});
	});

	describe("Test 'auth.validate' action", () => {
		const unauthorized = (detail: string) => ({ code: 401, type: "UNAUTHORIZED", message: detail });

		it("should turn a login token into the user, with the token's id", async () => {
			const token = await login(alice.username);
			expect(await broker.call("auth.validate", { token })).toEqual({
				id: aliceId,
				username: alice.username,
				name: "Alice",
				role: "user",
				show_nsfw: false,
				token_id: verifyAccessToken(token, TEST_JWT_SECRET).jti,
			});
		});

		it("should refuse an expired token with 'Token expired'", async () => {
			const now = Math.floor(Date.now() / 1000);
			const token = jwt.sign({ sub: alice.username, uid: aliceId, iat: now - 120, exp: now - 60 }, TEST_JWT_SECRET);
			await expect(broker.call("auth.validate", { token })).rejects.toMatchObject(unauthorized("Token expired"));
		});

		it("should refuse forged, malformed and oversized tokens with 'Invalid token'", async () => {
			const subject = { userId: aliceId, username: alice.username };
			const now = Math.floor(Date.now() / 1000);
			const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
			const tokens = [
				signAccessToken(subject, "some-other-secret-that-is-32-chars-long!", 600),
				`${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: alice.username, uid: aliceId, iat: now, exp: now + 600 })}.`,
				// Valid signature, but `sub` names someone else.
				signAccessToken({ userId: aliceId, username: "mallory" }, TEST_JWT_SECRET, 600),
				"not-a-jwt",
				"",
				`${(await login(alice.username)).slice(0, -2)}xx`,
				"a".repeat(5000),
			];
			for (const token of tokens) {
				await expect(broker.call("auth.validate", { token })).rejects.toMatchObject(unauthorized("Invalid token"));
			}
		});

		it("should refuse the token of a deleted user", async () => {
			const username = uniqueName("gone");
			const { id } = await broker.call<{ id: string }, object>("auth.register", {
				username,
				name: "Gone",
				password: PASSWORD,
			});
			const token = await login(username);
			await expect(broker.call("auth.validate", { token })).resolves.toMatchObject({ id });
			await service.db.models.User.destroy({ where: { id } });
			await expect(broker.call("auth.validate", { token })).rejects.toMatchObject(unauthorized("Invalid token"));
			await expect(login(username)).rejects.toMatchObject({ code: 401, type: "INVALID_CREDENTIALS" });
		});

		it("should refuse a disabled user: tokens 401 saying it is disabled, login 403 only with the right password", async () => {
			const username = uniqueName("off");
			const { id } = await broker.call<{ id: string }, object>("auth.register", {
				username,
				name: "Off",
				password: PASSWORD,
			});
			const token = await login(username);
			await service.db.models.User.update({ is_disabled: true }, { where: { id } });
			const disabled = { code: 401, type: "USER_DISABLED", message: "This account is disabled" };
			await expect(broker.call("auth.validate", { token })).rejects.toMatchObject(disabled);
			await expect(login(username)).rejects.toMatchObject({ code: 403, type: "USER_DISABLED" });
			await expect(login(username, "wrong-password")).rejects.toMatchObject({ code: 401, type: "INVALID_CREDENTIALS" });
			await expect(broker.call("auth.me", {}, { meta: { user: { id } } })).rejects.toMatchObject(disabled);
		});

		it("should answer 422 when no token string is given", async () => {
			await expect(broker.call("auth.validate", {})).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
		});
	});

	describe("Test 'auth.me' action", () => {
		it("should return the profile of the user in ctx.meta", async () => {
			const me = await broker.call("auth.me", {}, { meta: { user: { id: aliceId } } });
			expect(me).toEqual({
				id: aliceId,
				username: alice.username,
				name: "Alice",
				role: "user",
				show_nsfw: false,
				created_at: expect.any(String),
			});
			expect(Date.parse((me as { created_at: string }).created_at)).not.toBeNaN();
		});

		it("should answer 401 without a (known, well-formed) user in meta", async () => {
			const unauthorized = { code: 401, type: "UNAUTHORIZED" };
			await expect(broker.call("auth.me", {})).rejects.toMatchObject(unauthorized);
			await expect(broker.call("auth.me", {}, { meta: { user: { id: "not-a-uuid" } } })).rejects.toMatchObject(
				unauthorized,
			);
			await expect(
				broker.call("auth.me", {}, { meta: { user: { id: "00000000-0000-4000-8000-000000000000" } } }),
			).rejects.toMatchObject(unauthorized);
		});
	});

	it("should refuse to build the service without a JWT secret", () => {
		expect(() => authService({ ...testConfig(), jwtSecret: undefined })).toThrow(/JWT_SECRET/);
	});
});

describe("auth under load, with the production broker options", () => {
	// Counts each run of an auth action's handler, retries included (a retry calls the action again through the broker),
	// and the runs not finished yet: a hash outlives its caller's timeout, by more on a busy machine.
	const runs = new Map<string, number>();
	let running = 0;
	const counter: Middleware = {
		localAction(handler: (ctx: Context) => Promise<unknown>, action: { name: string }) {
			return (ctx: Context) => {
				runs.set(action.name, (runs.get(action.name) ?? 0) + 1);
				running++;
				return handler(ctx).finally(() => running--);
			};
		},
	} as unknown as Middleware;
	const allHashed = () => eventually(() => running === 0, 20_000, "the hashes under way to end");
	// Shorter than one scrypt hash, so every register and login times out at the caller while it goes on running.
	const broker = createBroker(
		testConfig({ NAMESPACE: uniqueName("authload"), SERVICES: "auth", AUTH_HASH_QUEUE: "2" }),
		{
			logger: false,
			requestTimeout: 50,
			middlewares: [counter],
		},
	);
	let service: Service & DbThis;
	const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

	beforeAll(async () => {
		await broker.start();
		service = broker.getLocalService("auth") as Service & DbThis;
	});
	afterAll(() => broker.stop());

	it("should not run a timed-out register or login again", async () => {
		const username = uniqueName("slow");
		await expect(broker.call("auth.register", { username, name: "Slow", password: PASSWORD })).rejects.toMatchObject({
			name: "RequestTimeoutError",
		});
		// The broker's retry policy (3 retries, 100-400 ms apart) would have called it again within this time.
		await sleep(1500);
		expect(runs.get("auth.register")).toBe(1);
		await allHashed();
		expect(await service.db.models.User.count({ where: { username } })).toBe(1);

		await expect(broker.call("auth.login", { username, password: PASSWORD })).rejects.toMatchObject({
			name: "RequestTimeoutError",
		});
		await sleep(1500);
		expect(runs.get("auth.login")).toBe(1);
		await allHashed();
	});

	it("should answer a flood of logins beyond the hashing queue with 503 BUSY at once, and keep logins open", async () => {
		// The queue starts empty: no hash of the test before still holds a place in it.
		await allHashed();
		const started = performance.now();
		const results = await Promise.allSettled(
			Array.from({ length: 30 }, () =>
				broker
					.call("auth.login", { username: uniqueName("flood"), password: PASSWORD }, { timeout: 30_000 })
					.catch((err: unknown) => {
						throw Object.assign(err as object, { ms: performance.now() - started });
					}),
			),
		);
		const reasons = results.map(
			(r) =>
				(r as PromiseRejectedResult).reason as {
					code: number;
					type: string;
					data?: { retryAfter?: number };
					ms: number;
				},
		);
		const busy = reasons.filter((r) => r.type === "BUSY");
		// 2 hashing and 2 waiting: the other 26 are refused without waiting for any hash.
		expect(busy).toHaveLength(26);
		expect(reasons.filter((r) => r.type === "INVALID_CREDENTIALS")).toHaveLength(4);
		for (const refusal of busy) {
			expect(refusal).toMatchObject({ code: 503, data: { retryAfter: expect.any(Number) } });
			expect(refusal.ms).toBeLessThan(1000);
		}
		// Shedding load is not a fault: the circuit breaker must not take logins away (ServiceNotAvailable) for seconds.
		await expect(
			broker.call("auth.login", { username: uniqueName("after"), password: PASSWORD }, { timeout: 30_000 }),
		).rejects.toMatchObject({ type: "INVALID_CREDENTIALS" });
	});
});
