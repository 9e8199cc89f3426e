/**
 * Running cameo for others (issue 17), in embedded mode with the real gateway, sockets and PostgreSQL: who is an admin
 * (a fresh install's first account, also when several sign up at once; ADMIN_USERNAMES at sign-up and at start), the
 * admin routes' access rule, the users list with usage, disabling (sockets closed), per-user limits over the defaults,
 * the last admin kept, password-reset codes, live figures, and each registration mode with invites.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { QueryTypes, type Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const PASSWORD = "a long enough password";
/** Failed logins (and reset-code guesses) per username and client (AUTH_LOGIN_FAILURES_PER_USER). */
const FAILURES_ALLOWED = 3;
const CHIEF = uniqueName("chief");

let broker: ServiceBroker;
let sequelize: Sequelize;
let characterId = "";
const { call, login } = restClient(() => gatewayOrigin(broker));

interface Account {
	id: string;
	username: string;
	token: string;
}

async function signUp(username = uniqueName("adm")): Promise<Account> {
	const account = await login("Someone", username);
	expect(account.token, `${username} could not sign up`).toEqual(expect.any(String));
	return account;
}

async function logIn(username: string, password = PASSWORD): Promise<string> {
	const res = await call("POST", "/login", { json: { username, password } });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body.access_token as string;
}

const as = (who: Account, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token: who.token, json });

function sql<T extends object>(query: string, bind: unknown[] = []): Promise<T[]> {
	return sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });
}

async function openChat(broker: ServiceBroker, token: string): Promise<ChatSocket> {
	const port = broker.getLocalService("chat-ws").settings.port as number;
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${encodeURIComponent(token)}`);
	await socket.next((f) => f.type === "connection");
	return socket;
}

beforeAll(async () => {
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("admin"),
			ADMIN_USERNAMES: `someone_else,${CHIEF.toUpperCase()}`,
			CHAT_USER_MESSAGES_PER_MINUTE: "20",
			AUTH_LOGIN_FAILURES_PER_USER: String(FAILURES_ALLOWED),
		}),
		{ logger: false },
	);
	await broker.start();
	sequelize = (broker.getLocalService("auth") as unknown as DbThis).db.sequelize;
	characterId = await createTestCharacter(broker);
});

afterAll(() => broker?.stop());

describe("admins", () => {
	let chief: Account;
	let plain: Account;

	beforeAll(async () => {
		[chief, plain] = await Promise.all([signUp(CHIEF), signUp()]);
	});

	it("should make a user named in ADMIN_USERNAMES an admin when they register, and nobody else", async () => {
		expect((await as(chief, "GET", "/me")).body).toMatchObject({ username: CHIEF, role: "admin" });
		expect((await as(plain, "GET", "/me")).body).toMatchObject({ role: "user" });
	});

	it("should make users named in ADMIN_USERNAMES admins at start", async () => {
		const later = await signUp();
		expect((await as(later, "GET", "/me")).body.role).toBe("user");
		const other = createBroker(
			testConfig({ NAMESPACE: uniqueName("admin2"), SERVICES: "admin", ADMIN_USERNAMES: later.username }),
			{
				logger: false,
			},
		);
		await other.start();
		await other.stop();
		expect((await as(later, "GET", "/me")).body.role).toBe("admin");
	});

	const ROUTES: [string, string, unknown?][] = [
		["GET", "/admin/users"],
		["PATCH", "/admin/users/{plain}", { tokens_per_day: 1000 }],
		["POST", "/admin/users/{plain}/password-reset"],
		["GET", "/admin/stats"],
		["POST", "/admin/invites", { uses: 1 }],
		["GET", "/admin/invites"],
		["DELETE", "/admin/invites/{invite}"],
	];

	it.each(ROUTES)(
		"%s %s: 401 without a token, 403 for a non-admin, and an answer for an admin",
		async (method, path, json) => {
			const invite = (await as(chief, "POST", "/admin/invites", {})).body.code as string;
			const url = path.replace("{plain}", plain.username).replace("{invite}", invite);
			const none = await call(method, url, { json });
			expect(none, JSON.stringify(none.body)).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
			const refused = await as(plain, method, url, json);
			expect(refused, JSON.stringify(refused.body)).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
			const answered = await as(chief, method, url, json);
			expect(answered.status, JSON.stringify(answered.body)).toBeLessThan(300);
		},
	);

	it("should list users with their usage, when they were last seen and their limits", async () => {
		const talker = await signUp();
		const socket = await openChat(broker, talker.token);
		expect(await socket.say("Hello there")).toMatchObject({ type: "echo" });
		await socket.next((f) => f.type === "ai" && f.reply_to !== null);
		await socket.close();
		await as(chief, "PATCH", `/admin/users/${talker.username}`, { tokens_per_day: 5000 });

		const res = await as(chief, "GET", `/admin/users?q=${talker.username}`);
		expect(res.status).toBe(200);
		expect(res.body).toHaveLength(1);
		const [row] = res.body;
		expect(row).toMatchObject({
			username: talker.username,
			role: "user",
			disabled: false,
			messages_today: 1,
			limits: { tokens_per_day: 5000, messages_per_minute: 20 },
			limit_overrides: { tokens_per_day: 5000, messages_per_minute: null },
		});
		expect(row.tokens_today).toBeGreaterThan(0);
		expect(row.tokens_month).toBeGreaterThanOrEqual(row.tokens_today);
		expect(Date.now() - Date.parse(row.last_seen)).toBeLessThan(60_000);
		expect(row).not.toHaveProperty("hashed_password");

		const paged = await as(chief, "GET", "/admin/users?limit=1&offset=1");
		expect(paged.body).toHaveLength(1);
		expect((await as(chief, "GET", "/admin/users?limit=0")).status).toBe(422);
	});

	it("should disable a user: their socket closes at once, their token and logins stop", async () => {
		const victim = await signUp();
		const socket = await openChat(broker, victim.token);
		const res = await as(chief, "PATCH", `/admin/users/${victim.username}`, { disabled: true });
		expect(res.body).toMatchObject({ username: victim.username, disabled: true });
		expect(await socket.closedWithin()).toBe(4003);
		expect((await as(victim, "GET", "/me")).body.code).toBe("USER_DISABLED");
		expect((await call("POST", "/login", { json: { username: victim.username, password: PASSWORD } })).status).toBe(
			403,
		);
		await as(chief, "PATCH", `/admin/users/${victim.username}`, { disabled: false });
		await logIn(victim.username);
	});

	it("should hold a user to their own message limit instead of the default, and to the default again once cleared", async () => {
		const user = await signUp();
		const socket = await openChat(broker, user.token);
		expect(await socket.say("one")).toMatchObject({ type: "echo" });
		await as(chief, "PATCH", `/admin/users/${user.username}`, { messages_per_minute: 1 });
		expect(await socket.say("two")).toMatchObject({ type: "error", code: "rate_limited" });
		await as(chief, "PATCH", `/admin/users/${user.username}`, { messages_per_minute: null });
		expect(await socket.say("three")).toMatchObject({ type: "echo" });
		await socket.close();
	});

	it("should hold a user to their own daily token quota", async () => {
		const user = await signUp();
		await as(chief, "PATCH", `/admin/users/${user.username}`, { tokens_per_day: 1 });
		const socket = await openChat(broker, user.token);
		expect(await socket.say("spend some")).toMatchObject({ type: "echo" });
		await socket.next((f) => f.type === "ai" && f.reply_to !== null);
		// The reply's tokens are counted by the dispatcher once it is stored: wait for that count to land.
		let refused: Frame | undefined;
		for (let i = 0; i < 20 && refused?.code !== "quota_exceeded"; i++) refused = await socket.say(`again ${i}`);
		expect(refused).toMatchObject({ type: "error", code: "quota_exceeded" });
		await as(chief, "PATCH", `/admin/users/${user.username}`, { tokens_per_day: 0 });
		expect(await socket.say("unlimited now")).toMatchObject({ type: "echo" });
		await socket.close();
	});

	it("should refuse bad changes: unknown user 404, bad values 422", async () => {
		expect((await as(chief, "PATCH", "/admin/users/nobody_here_at_all", { disabled: true })).status).toBe(404);
		for (const body of [{ role: "root" }, { tokens_per_day: -1 }, { messages_per_minute: 0 }, { disabled: null }]) {
			const res = await as(chief, "PATCH", `/admin/users/${plain.username}`, body);
			expect(res, JSON.stringify(body)).toMatchObject({ status: 422 });
		}
	});

	it("should let a user set a new password with a reset code once, ending their other logins", async () => {
		const user = await signUp();
		const socket = await openChat(broker, user.token);
		const made = await as(chief, "POST", `/admin/users/${user.username}/password-reset`);
		expect(made).toMatchObject({ status: 201, body: { code: expect.any(String), expires_at: expect.any(String) } });
		expect(Date.parse(made.body.expires_at) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
		const stored = await sql<{ code_hash: string }>(
			`SELECT code_hash FROM password_resets r JOIN users u ON u.id = r.user_id WHERE u.username = $1`,
			[user.username],
		);
		expect(stored).toHaveLength(1);
		expect(stored[0].code_hash).not.toContain(made.body.code);

		const reset = (code: string, password = "a fresh new password") =>
			call("POST", "/password-reset", { json: { username: user.username, code, password } });
		expect(await reset("not-the-code")).toMatchObject({ status: 403, body: { code: "RESET_CODE_INVALID" } });
		expect(await reset(made.body.code)).toMatchObject({ status: 204 });
		expect(await socket.closedWithin()).toBe(4001);
		expect((await as(user, "GET", "/me")).status).toBe(401);
		await logIn(user.username, "a fresh new password");
		expect(await reset(made.body.code, "yet another password")).toMatchObject({ status: 403 });

		const expiring = await as(chief, "POST", `/admin/users/${user.username}/password-reset`);
		await sql(`UPDATE password_resets SET expires_at = now() - interval '1 second' RETURNING 1`);
		expect(await reset(expiring.body.code)).toMatchObject({ status: 403, body: { code: "RESET_CODE_INVALID" } });
	});

	it("should count reset-code guesses like failed logins", async () => {
		const user = await signUp();
		const made = await as(chief, "POST", `/admin/users/${user.username}/password-reset`);
		const guess = (code: string) =>
			call("POST", "/password-reset", { json: { username: user.username, code, password: "a fresh new password" } });
		for (let i = 0; i < FAILURES_ALLOWED; i++) expect((await guess(`guess-${i}`)).status).toBe(403);
		expect(await guess(made.body.code)).toMatchObject({ status: 429, body: { code: "RATE_LIMITED" } });
	});

	it("should give the REPL's live figures", async () => {
		const res = await as(chief, "GET", "/admin/stats?minutes=10");
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			sockets: { count: expect.any(Number), nodes: [broker.nodeID], failures: [] },
			queues: null,
			traffic: { minutes: 10, replies_per_minute: expect.any(Number), failed_replies: expect.any(Number) },
		});
	});
});

describe("REGISTRATION=invite", () => {
	let invited: ServiceBroker;
	const operator = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };
	const register = (invite?: string) =>
		invited.call("auth.register", {
			username: uniqueName("inv"),
			name: "Invited",
			password: PASSWORD,
			...(invite === undefined ? {} : { invite }),
		});
	const newInvite = (params: object) =>
		invited.call<{ code: string; uses: number; expires_at: string | null }, object>("admin.createInvite", params, {
			meta: operator,
		});

	beforeAll(async () => {
		invited = createBroker(
			testConfig({ NAMESPACE: uniqueName("invite"), SERVICES: "auth,admin", REGISTRATION: "invite" }),
			{ logger: false },
		);
		await invited.start();
	});

	afterAll(() => invited?.stop());

	it("should refuse a sign-up without an invite, or with an unknown one", async () => {
		await expect(register()).rejects.toMatchObject({ code: 403, type: "INVITE_REQUIRED" });
		await expect(register("no-such-code")).rejects.toMatchObject({ code: 403, type: "INVITE_INVALID" });
	});

	it("should let in no more sign-ups than the invite's uses, however many come at once", async () => {
		const invite = await newInvite({ uses: 2, expires_in: 3600 });
		expect(invite).toMatchObject({ uses: 2, expires_at: expect.any(String) });
		const settled = await Promise.allSettled(Array.from({ length: 6 }, () => register(invite.code)));
		expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(2);
		for (const s of settled.filter((s) => s.status === "rejected"))
			expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 403, type: "INVITE_USED_UP" });
		const listed = await invited.call<{ code: string; used: number }[], object>(
			"admin.invites",
			{},
			{ meta: operator },
		);
		expect(listed.find((i) => i.code === invite.code)).toMatchObject({ uses: 2, used: 2 });
	});

	it("should refuse an expired invite, and a deleted one", async () => {
		const invite = await newInvite({});
		expect(invite).toMatchObject({ uses: 1, expires_at: null });
		const db = (invited.getLocalService("auth") as unknown as DbThis).db.sequelize;
		await db.query(`UPDATE signup_invites SET expires_at = now() - interval '1 second' WHERE code = $1`, {
			bind: [invite.code],
		});
		await expect(register(invite.code)).rejects.toMatchObject({ type: "INVITE_EXPIRED" });
		const other = await newInvite({ uses: 3 });
		await invited.call("admin.deleteInvite", { code: other.code }, { meta: operator });
		await expect(register(other.code)).rejects.toMatchObject({ type: "INVITE_INVALID" });
		await expect(invited.call("admin.deleteInvite", { code: other.code }, { meta: operator })).rejects.toMatchObject({
			code: 404,
		});
	});
});
