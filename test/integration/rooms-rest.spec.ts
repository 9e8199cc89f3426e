/**
 * Rooms over REST (issue 15), in embedded mode with real PostgreSQL and the real gateway: creating a room with a cast
 * (greetings in cast order), how GET /sessions/:id shows it, members added by username or joining by invite links
 * (single and multi use, expiry, the member cap under concurrent accepts), leaving, removal, and what members and
 * non-members may do with every session route.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { RoomEvent } from "../../src/domain/rooms.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient, type Reply } from "../support/rest-client.js";

const MAX_MEMBERS = 5;
const MAX_CHARACTERS = 4;

let broker: ServiceBroker;
let sequelize: Sequelize;
let origin = "";
const { call } = restClient(() => origin);
/** Room events broadcast so far, in order. */
const events: { event: string; payload: { session_id: string; username?: string } }[] = [];

interface User {
	id: string;
	username: string;
	name: string;
	token: string;
}

async function user(name = "Room Tester"): Promise<User> {
	const username = uniqueName("room");
	const reg = await call("POST", "/register", { json: { username, name, password: "password123" } });
	expect(reg.status).toBe(201);
	const res = await call("POST", "/login", { json: { username, password: "password123" } });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return { id: reg.body.id, username, name, token: res.body.access_token };
}

async function character(owner: User, fields: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
	const name = `Cast ${uniqueName("c")}`;
	const made = await broker.call<{ id: string; name: string }, object>(
		"characters.create",
		{ name, system_prompt: "You are in a room.", greeting: `Hello from ${name}.`, ...fields },
		{ meta: { user: { id: owner.id, username: owner.username, name: owner.name, role: "user" } } },
	);
	return { id: made.id, name: made.name };
}

const as = (who: User, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token: who.token, json });

async function room(owner: User, characterIds: string[], extra: Record<string, unknown> = {}): Promise<string> {
	const made = await as(owner, "POST", "/sessions", { character_ids: characterIds, ...extra });
	expect(made.status, JSON.stringify(made.body)).toBe(201);
	return made.body.id;
}

async function invite(owner: User, sessionId: string, body: Record<string, unknown> = {}): Promise<string> {
	const made = await as(owner, "POST", `/sessions/${sessionId}/invites`, body);
	expect(made.status, JSON.stringify(made.body)).toBe(201);
	return made.body.code;
}

async function plainSession(owner: User, characterId: string): Promise<string> {
	const [[row]] = (await sequelize.query(
		`INSERT INTO chat_sessions (username, character_id) VALUES ($1, $2) RETURNING id`,
		{ bind: [owner.username, characterId] },
	)) as [{ id: string }[], unknown];
	return row.id;
}

async function inviteUses(code: string): Promise<number> {
	const [[row]] = (await sequelize.query(`SELECT uses FROM session_invites WHERE code = $1`, { bind: [code] })) as [
		{ uses: number }[],
		unknown,
	];
	return row.uses;
}

const usernames = (view: { members: { username: string }[] }) => view.members.map((m) => m.username);

beforeAll(async () => {
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("rooms"),
			SERVICES: "api,auth,characters,sessions,avatars,story,personas,lorebooks,memory,rooms",
			ROOM_MAX_MEMBERS: String(MAX_MEMBERS),
			ROOM_MAX_CHARACTERS: String(MAX_CHARACTERS),
			AUTH_RATE_LIMIT: "100000",
		}),
		{ logger: false },
	);
	broker.createService({
		name: "room-events",
		events: {
			[RoomEvent.Changed](ctx: { params: { session_id: string } }) {
				events.push({ event: RoomEvent.Changed, payload: ctx.params });
			},
			[RoomEvent.MemberRemoved](ctx: { params: { session_id: string; username: string } }) {
				events.push({ event: RoomEvent.MemberRemoved, payload: ctx.params });
			},
		},
	});
	await broker.start();
	sequelize = (broker.getLocalService("rooms") as unknown as DbThis).db.sequelize;
	origin = gatewayOrigin(broker);
});

afterAll(() => broker?.stop());

describe("POST /sessions", () => {
	it("should create a room whose characters' greetings are stored in cast order, {{user}} as the owner's persona", async () => {
		const owner = await user("Olive");
		const a = await character(owner, { greeting: "Hi {{user}}, I am A." });
		const b = await character(owner, { greeting: "" });
		const c = await character(owner, { greeting: "C greets {{user}}." });
		const d = await character(owner, { greeting: "D is here." });
		const made = await as(owner, "POST", "/sessions", { character_ids: [d.id, a.id, b.id, c.id], title: " Tavern " });
		expect(made.status, JSON.stringify(made.body)).toBe(201);
		expect(made.body).toMatchObject({
			title: "Tavern",
			owner: owner.username,
			reply_mode: "addressed",
			character_id: d.id,
			characters: [
				{ id: d.id, name: d.name, avatar_url: null },
				{ id: a.id, name: a.name },
				{ id: b.id, name: b.name },
				{ id: c.id, name: c.name },
			],
			members: [{ username: owner.username, name: "Olive", role: "owner", persona: { name: "Olive" } }],
		});
		const page = await as(owner, "GET", `/sessions/${made.body.id}/messages`);
		expect(page.status).toBe(200);
		expect(
			page.body.messages.map((m: { role: string; character_id: string; content: string; reply_to: null }) => [
				m.role,
				m.character_id,
				m.content,
				m.reply_to,
			]),
		).toEqual([
			["ai", d.id, "D is here.", null],
			["ai", a.id, "Hi Olive, I am A.", null],
			["ai", c.id, "C greets Olive.", null],
		]);
		const [rows] = (await sequelize.query(`SELECT DISTINCT username FROM messages WHERE session_id = $1`, {
			bind: [made.body.id],
		})) as [{ username: string }[], unknown];
		expect(rows).toEqual([{ username: owner.username }]);
	});

	it("should fill {{user}} with the persona asked for, and take a reply mode", async () => {
		const owner = await user("Olive");
		const persona = await as(owner, "POST", "/personas", { name: "Captain" });
		const a = await character(owner, { greeting: "Aye, {{user}}." });
		const made = await as(owner, "POST", "/sessions", {
			character_ids: [a.id],
			reply_mode: "manual",
			persona_id: persona.body.id,
		});
		expect(made.status).toBe(201);
		expect(made.body).toMatchObject({ reply_mode: "manual", persona: { id: persona.body.id, name: "Captain" } });
		expect(made.body.members[0].persona).toEqual({ id: persona.body.id, name: "Captain" });
		const page = await as(owner, "GET", `/sessions/${made.body.id}/messages`);
		expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(["Aye, Captain."]);
	});

	it("should refuse a bad cast, reply mode or persona, and characters the caller may not see", async () => {
		const owner = await user();
		const stranger = await user();
		const mine = await character(owner);
		const theirs = await character(stranger, { is_public: false });
		const theirPersona = await as(stranger, "POST", "/personas", { name: "Not yours" });
		const refusals: [unknown, number, string][] = [
			[{ character_ids: [] }, 422, "VALIDATION_ERROR"],
			[{}, 422, "VALIDATION_ERROR"],
			[{ character_ids: [mine.id, mine.id] }, 422, "VALIDATION_ERROR"],
			[
				{ character_ids: Array.from({ length: MAX_CHARACTERS + 1 }, () => crypto.randomUUID()) },
				422,
				"VALIDATION_ERROR",
			],
			[{ character_ids: ["not-a-uuid"] }, 422, "VALIDATION_ERROR"],
			[{ character_ids: [mine.id], reply_mode: "chaos" }, 422, "VALIDATION_ERROR"],
			[{ character_ids: [mine.id], title: "" }, 422, "VALIDATION_ERROR"],
			[{ character_ids: [mine.id, theirs.id] }, 404, "CHARACTER_NOT_FOUND"],
			[{ character_ids: [crypto.randomUUID()] }, 404, "CHARACTER_NOT_FOUND"],
			[{ character_ids: [mine.id], persona_id: theirPersona.body.id }, 404, "PERSONA_NOT_FOUND"],
		];
		for (const [body, status, code] of refusals) {
			const res = await as(owner, "POST", "/sessions", body);
			expect([res.status, res.body.code], JSON.stringify(body)).toEqual([status, code]);
		}
		const [[{ n }]] = (await sequelize.query(`SELECT count(*)::int AS n FROM chat_sessions WHERE username = $1`, {
			bind: [owner.username],
		})) as [{ n: number }[], unknown];
		expect(n).toBe(0);
	});
});

describe("GET /sessions/:id", () => {
	it("should show a one-character chat with its character, its owner and reply_mode null", async () => {
		const owner = await user("Pat");
		const a = await character(owner);
		const id = await plainSession(owner, a.id);
		const view = await as(owner, "GET", `/sessions/${id}`);
		expect(view.status).toBe(200);
		expect(view.body).toMatchObject({
			id,
			owner: owner.username,
			reply_mode: null,
			characters: [{ id: a.id, name: a.name, avatar_url: null }],
			members: [{ username: owner.username, name: "Pat", role: "owner" }],
		});
	});
});

describe("POST /sessions/:id/members", () => {
	it("should add an account by username (any case), once; 404 for unknown and disabled accounts", async () => {
		const owner = await user();
		const [bee, disabled] = [await user("Bee"), await user()];
		const id = await room(owner, [(await character(owner)).id]);
		const added = await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username.toUpperCase() });
		expect(added.status, JSON.stringify(added.body)).toBe(201);
		expect(added.body.members).toEqual([
			expect.objectContaining({ username: owner.username, role: "owner" }),
			{ username: bee.username, name: "Bee", role: "member", persona: expect.objectContaining({ name: "Bee" }) },
		]);
		expect((await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username })).status).toBe(200);
		expect((await as(owner, "POST", `/sessions/${id}/members`, { username: owner.username })).status).toBe(200);
		expect(usernames((await as(bee, "GET", `/sessions/${id}`)).body)).toEqual([owner.username, bee.username]);

		await sequelize.query(`UPDATE users SET is_disabled = true WHERE username = $1`, { bind: [disabled.username] });
		for (const username of [disabled.username, uniqueName("nobody")]) {
			const res = await as(owner, "POST", `/sessions/${id}/members`, { username });
			expect([res.status, res.body.code]).toEqual([404, "USER_NOT_FOUND"]);
		}
		const byMember = await as(bee, "POST", `/sessions/${id}/members`, { username: disabled.username });
		expect([byMember.status, byMember.body.code]).toEqual([403, "NOT_ROOM_OWNER"]);
		expect(events).toContainEqual({ event: RoomEvent.Changed, payload: { session_id: id } });
	});

	it("should refuse a one-character chat (409 NOT_A_ROOM) and a full room (409 ROOM_FULL)", async () => {
		const owner = await user();
		const a = await character(owner);
		const plain = await plainSession(owner, a.id);
		const other = await user();
		const notRoom = await as(owner, "POST", `/sessions/${plain}/members`, { username: other.username });
		expect([notRoom.status, notRoom.body.code]).toEqual([409, "NOT_A_ROOM"]);

		const id = await room(owner, [a.id]);
		for (let i = 1; i < MAX_MEMBERS; i += 1) {
			const res = await as(owner, "POST", `/sessions/${id}/members`, { username: (await user()).username });
			expect(res.status).toBe(201);
		}
		const full = await as(owner, "POST", `/sessions/${id}/members`, { username: other.username });
		expect([full.status, full.body.code]).toEqual([409, "ROOM_FULL"]);
		expect((await as(owner, "GET", `/sessions/${id}`)).body.members).toHaveLength(MAX_MEMBERS);
	});
});

describe("invites", () => {
	it("should let a single-use invite in once: a second person gets 410, the one who joined 200 again", async () => {
		const owner = await user();
		const [bee, cat] = [await user("Bee"), await user("Cat")];
		const id = await room(owner, [(await character(owner)).id]);
		const made = await as(owner, "POST", `/sessions/${id}/invites`, {});
		expect(made.status).toBe(201);
		expect(made.body).toMatchObject({ session_id: id, max_uses: 1, uses: 0 });
		expect(made.body.code).toMatch(/^[A-Za-z0-9_-]{24}$/);
		const ttl = Date.parse(made.body.expires_at) - Date.parse(made.body.created_at);
		expect(Math.abs(ttl - 7 * 24 * 3600 * 1000)).toBeLessThan(5000);

		const joined = await as(bee, "POST", `/invites/${made.body.code}/accept`);
		expect(joined.status, JSON.stringify(joined.body)).toBe(200);
		expect(joined.body).toMatchObject({ id, owner: owner.username });
		expect(usernames(joined.body)).toEqual([owner.username, bee.username]);
		const second = await as(cat, "POST", `/invites/${made.body.code}/accept`);
		expect([second.status, second.body.code]).toEqual([410, "INVITE_EXPIRED"]);
		expect((await as(bee, "POST", `/invites/${made.body.code}/accept`)).status).toBe(200);
		expect((await as(owner, "POST", `/invites/${made.body.code}/accept`)).status).toBe(200);
		expect(await inviteUses(made.body.code)).toBe(1);
		expect((await as(owner, "GET", `/sessions/${id}/invites`)).body).toEqual([]);
		expect((await as(cat, "GET", `/sessions/${id}`)).status).toBe(404);
	});

	it("should count a multi-use invite's uses, not again for members, and list it while it works", async () => {
		const owner = await user();
		const [bee, cat, dan] = [await user(), await user(), await user()];
		const id = await room(owner, [(await character(owner)).id]);
		const code = await invite(owner, id, { max_uses: 2, expires_in_seconds: 3600 });
		const unlimited = await invite(owner, id, { max_uses: null });
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(200);
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(200);
		expect(await inviteUses(code)).toBe(1);
		const listed = await as(owner, "GET", `/sessions/${id}/invites`);
		expect(listed.status).toBe(200);
		expect(listed.body.map((i: { code: string }) => i.code).sort()).toEqual([code, unlimited].sort());
		expect(listed.body.find((i: { code: string }) => i.code === code)).toMatchObject({ max_uses: 2, uses: 1 });
		expect(listed.body.find((i: { code: string }) => i.code === unlimited)).toMatchObject({ max_uses: null });
		expect((await as(cat, "POST", `/invites/${code}/accept`)).status).toBe(200);
		expect((await as(dan, "POST", `/invites/${code}/accept`)).status).toBe(410);
		expect((await as(dan, "POST", `/invites/${unlimited}/accept`)).status).toBe(200);
		expect(usernames((await as(owner, "GET", `/sessions/${id}`)).body)).toEqual([
			owner.username,
			bee.username,
			cat.username,
			dan.username,
		]);
	});

	it("should refuse an expired, revoked or unknown invite, and keep invites to the owner", async () => {
		const owner = await user();
		const [bee, cat] = [await user(), await user()];
		const id = await room(owner, [(await character(owner)).id]);
		const expiring = await invite(owner, id, { max_uses: null, expires_in_seconds: 60 });
		const revoked = await invite(owner, id);
		await sequelize.query(`UPDATE session_invites SET expires_at = now() - interval '1 second' WHERE code = $1`, {
			bind: [expiring],
		});
		const expired = await as(bee, "POST", `/invites/${expiring}/accept`);
		expect([expired.status, expired.body.code]).toEqual([410, "INVITE_EXPIRED"]);
		expect((await as(owner, "GET", `/sessions/${id}/invites`)).body.map((i: { code: string }) => i.code)).toEqual([
			revoked,
		]);
		expect((await as(owner, "DELETE", `/sessions/${id}/invites/${revoked}`)).status).toBe(204);
		expect((await as(owner, "DELETE", `/sessions/${id}/invites/${revoked}`)).status).toBe(404);
		for (const code of [revoked, "A".repeat(24)]) {
			const res = await as(bee, "POST", `/invites/${code}/accept`);
			expect([res.status, res.body.code]).toEqual([404, "INVITE_NOT_FOUND"]);
		}
		expect((await as(bee, "GET", `/sessions/${id}`)).status).toBe(404);

		const multi = await invite(owner, id, { max_uses: 10 });
		expect((await as(bee, "POST", `/invites/${multi}/accept`)).status).toBe(200);
		for (const [method, path] of [
			["POST", `/sessions/${id}/invites`],
			["GET", `/sessions/${id}/invites`],
			["DELETE", `/sessions/${id}/invites/${multi}`],
		]) {
			const byMember = await as(bee, method, path, method === "POST" ? {} : undefined);
			expect([byMember.status, byMember.body.code], `${method} ${path}`).toEqual([403, "NOT_ROOM_OWNER"]);
			const byStranger = await as(cat, method, path, method === "POST" ? {} : undefined);
			expect([byStranger.status, byStranger.body.code], `${method} ${path}`).toEqual([404, "SESSION_NOT_FOUND"]);
		}
		const plain = await plainSession(owner, (await character(owner)).id);
		const notRoom = await as(owner, "POST", `/sessions/${plain}/invites`, {});
		expect([notRoom.status, notRoom.body.code]).toEqual([409, "NOT_A_ROOM"]);
	});

	it("should let no more people in than ROOM_MAX_MEMBERS when many accept at once", async () => {
		const owner = await user();
		const id = await room(owner, [(await character(owner)).id]);
		const code = await invite(owner, id, { max_uses: null });
		// Signed up one by one (password hashing sheds load when many come at once); only the accepts race.
		const crowd: User[] = [];
		for (let i = 0; i < 10; i += 1) crowd.push(await user());
		const answers = await Promise.all(crowd.map((who) => as(who, "POST", `/invites/${code}/accept`)));
		const statuses = answers.map((a) => a.status).sort();
		expect(statuses).toEqual([...Array(MAX_MEMBERS - 1).fill(200), ...Array(11 - MAX_MEMBERS).fill(409)]);
		expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === "ROOM_FULL")).toBe(true);
		expect((await as(owner, "GET", `/sessions/${id}`)).body.members).toHaveLength(MAX_MEMBERS);
		expect(await inviteUses(code)).toBe(MAX_MEMBERS - 1);
	});
});

describe("leaving and removal", () => {
	it("should let a member leave (and come back by a link), but not the owner", async () => {
		const owner = await user();
		const bee = await user();
		const id = await room(owner, [(await character(owner)).id]);
		const code = await invite(owner, id, { max_uses: 5 });
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(200);
		expect((await as(bee, "DELETE", `/sessions/${id}/members/me`)).status).toBe(204);
		expect(events).toContainEqual({
			event: RoomEvent.MemberRemoved,
			payload: { session_id: id, username: bee.username },
		});
		expect((await as(bee, "GET", `/sessions/${id}`)).status).toBe(404);
		expect((await as(bee, "GET", `/sessions/${id}/messages`)).status).toBe(404);
		expect((await as(bee, "DELETE", `/sessions/${id}/members/me`)).status).toBe(404);
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(200);
		const ownerLeaves = await as(owner, "DELETE", `/sessions/${id}/members/me`);
		expect([ownerLeaves.status, ownerLeaves.body.code]).toEqual([409, "OWNER_CANNOT_LEAVE"]);
	});

	it("should cut a removed member off: 404 for the room, its messages, the list and every invite", async () => {
		const owner = await user();
		const [bee, cat] = [await user(), await user()];
		const id = await room(owner, [(await character(owner)).id]);
		const code = await invite(owner, id, { max_uses: null });
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(200);
		expect((await as(cat, "POST", `/invites/${code}/accept`)).status).toBe(200);
		const byMember = await as(cat, "DELETE", `/sessions/${id}/members/${bee.username}`);
		expect([byMember.status, byMember.body.code]).toEqual([403, "NOT_ROOM_OWNER"]);

		expect((await as(owner, "DELETE", `/sessions/${id}/members/${bee.username}`)).status).toBe(204);
		expect(events).toContainEqual({
			event: RoomEvent.MemberRemoved,
			payload: { session_id: id, username: bee.username },
		});
		for (const path of [`/sessions/${id}`, `/sessions/${id}/messages`]) {
			const res = await as(bee, "GET", path);
			expect([res.status, res.body.code], path).toEqual([404, "SESSION_NOT_FOUND"]);
		}
		expect((await as(bee, "GET", "/sessions")).body.map((s: { id: string }) => s.id)).not.toContain(id);
		const rejoin = await as(bee, "POST", `/invites/${code}/accept`);
		expect([rejoin.status, rejoin.body.code]).toEqual([404, "INVITE_NOT_FOUND"]);
		expect(await inviteUses(code)).toBe(2);
		expect(usernames((await as(owner, "GET", `/sessions/${id}`)).body)).toEqual([owner.username, cat.username]);

		const again = await as(owner, "DELETE", `/sessions/${id}/members/${bee.username}`);
		expect(again.status).toBe(204);
		const stranger = await as(owner, "DELETE", `/sessions/${id}/members/${uniqueName("x")}`);
		expect([stranger.status, stranger.body.code]).toEqual([404, "MEMBER_NOT_FOUND"]);
		const self = await as(owner, "DELETE", `/sessions/${id}/members/${owner.username}`);
		expect([self.status, self.body.code]).toEqual([409, "OWNER_CANNOT_LEAVE"]);
		// Only the owner lets them back in.
		expect((await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username })).status).toBe(201);
		expect((await as(bee, "GET", `/sessions/${id}`)).status).toBe(200);
	});
});

describe("who may do what", () => {
	it("should answer a non-member 404 on every route of the room", async () => {
		const owner = await user();
		const stranger = await user();
		const id = await room(owner, [(await character(owner)).id]);
		const code = await invite(owner, id, { max_uses: 3 });
		const [greeting] = (await as(owner, "GET", `/sessions/${id}/messages`)).body.messages;
		const routes: [string, string, unknown?][] = [
			["GET", `/sessions/${id}`],
			["GET", `/sessions/${id}/messages`],
			["PATCH", `/sessions/${id}`, { persona_id: null }],
			["PATCH", `/sessions/${id}`, { title: "Mine" }],
			["DELETE", `/sessions/${id}`],
			["POST", `/sessions/${id}/branch`, { message_id: greeting.id }],
			["POST", `/sessions/${id}/members`, { username: stranger.username }],
			["DELETE", `/sessions/${id}/members/me`],
			["DELETE", `/sessions/${id}/members/${owner.username}`],
			["POST", `/sessions/${id}/invites`, {}],
			["GET", `/sessions/${id}/invites`],
			["DELETE", `/sessions/${id}/invites/${code}`],
			["GET", `/sessions/${id}/memory`],
			["PATCH", `/sessions/${id}/memory`, { summary: "x" }],
			["PATCH", `/sessions/${id}/messages/${greeting.id}`, { content: "x" }],
			["DELETE", `/sessions/${id}/messages/${greeting.id}`],
		];
		for (const [method, path, body] of routes) {
			const res = await as(stranger, method, path, body);
			expect([res.status, res.body?.code], `${method} ${path}`).toEqual([404, "SESSION_NOT_FOUND"]);
		}
		expect((await as(owner, "GET", `/sessions/${id}`)).status).toBe(200);
	});

	it("should let a member read the room and choose their persona, and nothing an owner does", async () => {
		const owner = await user("Olive");
		const bee = await user("Bee");
		const a = await character(owner);
		const id = await room(owner, [a.id], { title: "Kept" });
		expect((await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username })).status).toBe(201);
		const [greeting] = (await as(bee, "GET", `/sessions/${id}/messages`)).body.messages;
		expect(greeting).toMatchObject({ role: "ai", character_id: a.id });

		const beePersona = await as(bee, "POST", "/personas", { name: "Bumble" });
		const patched = await as(bee, "PATCH", `/sessions/${id}`, { persona_id: beePersona.body.id });
		expect(patched.status, JSON.stringify(patched.body)).toBe(200);
		expect(patched.body.persona).toEqual({ id: beePersona.body.id, name: "Bumble" });
		expect(patched.body.members[1]).toMatchObject({ username: bee.username, persona: { name: "Bumble" } });
		const ownerView = await as(owner, "GET", `/sessions/${id}`);
		expect(ownerView.body.persona.name).toBe("Olive");
		expect(ownerView.body.members[1].persona.name).toBe("Bumble");

		const ownersPersona = await as(bee, "PATCH", `/sessions/${id}`, { persona_id: ownerView.body.persona.id });
		expect([ownersPersona.status, ownersPersona.body.code]).toEqual([404, "PERSONA_NOT_FOUND"]);
		for (const body of [
			{ title: "Hijacked" },
			{ title: null },
			{ reply_mode: "all" },
			{ character_ids: [a.id] },
			{ lorebook_ids: [] },
			{ persona_id: null, title: "Both" },
		]) {
			const res = await as(bee, "PATCH", `/sessions/${id}`, body);
			expect([res.status, res.body.code], JSON.stringify(body)).toEqual([403, "NOT_ROOM_OWNER"]);
		}
		const branch = await as(bee, "POST", `/sessions/${id}/branch`, { message_id: greeting.id });
		expect([branch.status, branch.body.code]).toEqual([403, "NOT_ROOM_OWNER"]);
		for (const [method, path, body] of [
			["DELETE", `/sessions/${id}`],
			["GET", `/sessions/${id}/memory`],
			["PATCH", `/sessions/${id}/messages/${greeting.id}`, { content: "x" }],
		] as const) {
			const res = await as(bee, method, path, body);
			expect(res.status, `${method} ${path}`).toBe(404);
		}
		const after = await as(owner, "GET", `/sessions/${id}`);
		expect(after.body).toMatchObject({ title: "Kept", reply_mode: "addressed", characters: [{ id: a.id }] });
		expect((await as(bee, "PATCH", `/sessions/${id}`, { persona_id: null })).body.persona.name).toBe("Bee");
	});

	it("should let the owner change reply mode and cast, validated, and make a one-character chat a room", async () => {
		const owner = await user();
		const stranger = await user();
		const [a, b, c] = [await character(owner), await character(owner), await character(owner)];
		const hidden = await character(stranger, { is_public: false });
		const id = await room(owner, [a.id, b.id]);
		const changed = await as(owner, "PATCH", `/sessions/${id}`, {
			reply_mode: "round_robin",
			character_ids: [c.id, a.id],
		});
		expect(changed.status, JSON.stringify(changed.body)).toBe(200);
		expect(changed.body).toMatchObject({ reply_mode: "round_robin", character_id: c.id });
		expect(changed.body.characters.map((x: { id: string }) => x.id)).toEqual([c.id, a.id]);
		const refusals: [unknown, number, string][] = [
			[{ reply_mode: "everyone" }, 422, "VALIDATION_ERROR"],
			[{ reply_mode: null }, 422, "VALIDATION_ERROR"],
			[{ character_ids: null }, 422, "VALIDATION_ERROR"],
			[{ character_ids: [] }, 422, "VALIDATION_ERROR"],
			[{ character_ids: [a.id, a.id] }, 422, "VALIDATION_ERROR"],
			[
				{ character_ids: Array.from({ length: MAX_CHARACTERS + 1 }, () => crypto.randomUUID()) },
				422,
				"VALIDATION_ERROR",
			],
			[{ character_ids: [a.id, hidden.id] }, 404, "CHARACTER_NOT_FOUND"],
		];
		for (const [body, status, code] of refusals) {
			const res = await as(owner, "PATCH", `/sessions/${id}`, body);
			expect([res.status, res.body.code], JSON.stringify(body)).toEqual([status, code]);
		}
		const kept = await as(owner, "GET", `/sessions/${id}`);
		expect(kept.body).toMatchObject({ reply_mode: "round_robin", character_id: c.id });
		expect(kept.body.characters.map((x: { id: string }) => x.id)).toEqual([c.id, a.id]);

		const plain = await plainSession(owner, a.id);
		const mode = await as(owner, "PATCH", `/sessions/${plain}`, { reply_mode: "all" });
		expect(mode.body).toMatchObject({ reply_mode: "all", characters: [{ id: a.id }] });
		const plain2 = await plainSession(owner, a.id);
		const cast = await as(owner, "PATCH", `/sessions/${plain2}`, { character_ids: [b.id, a.id] });
		expect(cast.body).toMatchObject({ reply_mode: "addressed", character_id: b.id });
		expect(events).toContainEqual({ event: RoomEvent.Changed, payload: { session_id: plain2 } });
	});

	it("should list the rooms a member joined, with their persona, even when the owner's character is private", async () => {
		const owner = await user();
		const bee = await user("Bee");
		const secret = await character(owner, { is_public: false });
		const id = await room(owner, [secret.id]);
		expect((await as(bee, "GET", "/sessions")).body.map((s: { id: string }) => s.id)).not.toContain(id);
		expect((await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username })).status).toBe(201);
		const listed = await as(bee, "GET", "/sessions");
		expect(listed.status).toBe(200);
		expect(listed.body.find((s: { id: string }) => s.id === id)).toMatchObject({
			owner: owner.username,
			reply_mode: "addressed",
			character_name: secret.name,
			persona: { name: "Bee" },
		});
		expect((await as(owner, "GET", "/sessions")).body.map((s: { id: string }) => s.id)).toContain(id);
		expect((await as(bee, "GET", `/sessions?character_id=${secret.id}`)).body.map((s: { id: string }) => s.id)).toEqual(
			[id],
		);
	});

	it("should show who said what: replies their character, user messages their sender and persona", async () => {
		const owner = await user();
		const bee = await user();
		const a = await character(owner);
		const id = await room(owner, [a.id]);
		await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username });
		await sequelize.query(
			`INSERT INTO messages (id, session_id, username, character_id, role, content, reply_status, speaker)
			 VALUES (gen_random_uuid(), $1, $2, $3, 'user', 'Hello all', 'replied', 'Bumble')`,
			{ bind: [id, bee.username, a.id] },
		);
		const page = await as(owner, "GET", `/sessions/${id}/messages`);
		const [greeting, line] = page.body.messages;
		expect(greeting).toMatchObject({ role: "ai", character_id: a.id });
		expect(greeting).not.toHaveProperty("username");
		expect(line).toMatchObject({ role: "user", username: bee.username, persona: "Bumble", content: "Hello all" });
		expect(line).not.toHaveProperty("character_id");
	});

	it("should branch a room into the owner's own room: same cast, reply mode and speakers, no members", async () => {
		const owner = await user();
		const bee = await user();
		const [a, b] = [await character(owner), await character(owner)];
		const id = await room(owner, [a.id, b.id], { reply_mode: "all" });
		await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username });
		await sequelize.query(
			`INSERT INTO messages (id, session_id, username, character_id, role, content, reply_status, speaker)
			 VALUES (gen_random_uuid(), $1, $2, $3, 'user', 'Branch here', 'replied', 'Bumble')`,
			{ bind: [id, bee.username, a.id] },
		);
		const messages = (await as(owner, "GET", `/sessions/${id}/messages`)).body.messages;
		const branched = await as(owner, "POST", `/sessions/${id}/branch`, { message_id: messages[2].id });
		expect(branched.status, JSON.stringify(branched.body)).toBe(201);
		const view = await as(owner, "GET", `/sessions/${branched.body.id}`);
		expect(view.body).toMatchObject({ reply_mode: "all", owner: owner.username });
		expect(view.body.characters.map((c: { id: string }) => c.id)).toEqual([a.id, b.id]);
		expect(usernames(view.body)).toEqual([owner.username]);
		const copied = (await as(owner, "GET", `/sessions/${branched.body.id}/messages`)).body.messages;
		expect(copied.map((m: { character_id?: string; persona?: string }) => m.character_id ?? m.persona)).toEqual([
			a.id,
			b.id,
			"Bumble",
		]);
		expect((await as(bee, "GET", `/sessions/${branched.body.id}`)).status).toBe(404);
	});

	it("should delete a room with its members and invites, and cut its members off", async () => {
		const owner = await user();
		const bee = await user();
		const id = await room(owner, [(await character(owner)).id]);
		await as(owner, "POST", `/sessions/${id}/members`, { username: bee.username });
		const code = await invite(owner, id, { max_uses: null });
		expect((await as(owner, "DELETE", `/sessions/${id}`)).status).toBe(204);
		expect(events).toContainEqual({
			event: RoomEvent.MemberRemoved,
			payload: { session_id: id, username: bee.username },
		});
		expect((await as(bee, "GET", `/sessions/${id}`)).status).toBe(404);
		expect((await as(bee, "POST", `/invites/${code}/accept`)).status).toBe(404);
		const [[{ n }]] = (await sequelize.query(
			`SELECT (SELECT count(*) FROM session_members WHERE session_id = $1)
				+ (SELECT count(*) FROM session_invites WHERE session_id = $1) AS n`,
			{ bind: [id] },
		)) as [{ n: string }[], unknown];
		expect(Number(n)).toBe(0);
	});
});
