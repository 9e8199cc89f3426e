/**
 * Moderation (issue 17), in embedded mode (one broker, the real gateway, sockets and PostgreSQL): a user reports a
 * character, an admin (promoted with auth.setRole) finds it in the queue, hides it, and it is gone for everyone but its
 * owner and admins (GET 404, absent from lists and name search, new chats refused, an open chat of another user's
 * closed); NSFW characters are shown only to users who opted in; every admin route refuses users (403) and the
 * anonymous (401); an admin deletes any character.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { ChatSocket } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { REPORTS_PER_HOUR } from "../../src/domain/moderation.js";

let broker: ServiceBroker;
let wsBase = "";
const { call } = restClient(() => gatewayOrigin(broker));
const PASSWORD = "a long enough password";

interface Account {
	id: string;
	username: string;
	token: string;
}

async function signUp(): Promise<Account> {
	const username = uniqueName("mod");
	const reg = await call("POST", "/register", { json: { username, name: "Someone", password: PASSWORD } });
	expect(reg.status, JSON.stringify(reg.body)).toBe(201);
	const login = await call("POST", "/login", { json: { username, password: PASSWORD } });
	return { id: reg.body.id, username, token: login.body.access_token as string };
}

const as = (who: Account, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token: who.token, json });

async function ok(who: Account, method: string, path: string, json?: unknown): Promise<Reply["body"]> {
	const res = await as(who, method, path, json);
	expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
	return res.body;
}

async function newCharacter(owner: Account, name = `Ferryman ${uniqueName("c")}`): Promise<string> {
	return (await ok(owner, "POST", "/characters", { name, system_prompt: "You ferry people across." })).id as string;
}

const listed = async (who: Account, q?: string): Promise<string[]> =>
	((await ok(who, "GET", `/characters?limit=100${q ? `&q=${encodeURIComponent(q)}` : ""}`)) as { id: string }[]).map(
		(c) => c.id,
	);

/** A chat socket with `characterId` (the connection frame received), or the status its handshake was refused with. */
async function chat(who: Account, characterId: string): Promise<ChatSocket | number> {
	try {
		const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(who.token)}`);
		await socket.next((f) => f.type === "connection");
		return socket;
	} catch (err) {
		return (err as { status: number }).status;
	}
}

let owner: Account;
let reader: Account;
let admin: Account;

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("moderation") }), { logger: false });
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	[owner, reader, admin] = [await signUp(), await signUp(), await signUp()];
	await broker.call("auth.setRole", { username: admin.username, role: "admin" });
});

afterAll(() => broker.stop());

describe("report → hide → gone for others", () => {
	it("should take a report, queue it for admins, and hide the character from all but its owner and admins", async () => {
		const name = `Smuggler ${uniqueName("c")}`;
		const id = await newCharacter(owner, name);
		const open = await chat(reader, id);
		expect(open).toBeInstanceOf(ChatSocket);
		const socket = open as ChatSocket;

		const filed = await as(reader, "POST", `/characters/id/${id}/report`, { reason: "  Sells contraband  " });
		expect(filed.status, JSON.stringify(filed.body)).toBe(201);
		expect(filed.body).toMatchObject({ character_id: id, reason: "Sells contraband", resolved: false });
		// One open report per user and character: the second answers the first.
		const again = await as(reader, "POST", `/characters/id/${id}/report`, { reason: "Still there" });
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ id: filed.body.id, reason: "Sells contraband" });

		const queue = (await ok(admin, "GET", `/admin/reports?status=open&character_id=${id}`)) as Reply["body"][];
		expect(queue).toHaveLength(1);
		expect(queue[0]).toMatchObject({
			id: filed.body.id,
			reporter: reader.username,
			character: { id, name, owner: owner.username, hidden: false, nsfw: false, open_reports: 1 },
			resolved: false,
		});

		const hidden = await ok(admin, "PATCH", `/admin/characters/${id}`, { hidden: true });
		expect(hidden).toMatchObject({ id, hidden: true, nsfw: false });

		// Gone for the reader at once: the cached GET and list too, the open chat closed, a new one refused.
		expect((await as(reader, "GET", `/characters/id/${id}`)).status).toBe(404);
		expect(await listed(reader)).not.toContain(id);
		expect(await listed(reader, name)).toEqual([]);
		expect(await socket.closed).toBe(4004);
		expect(await chat(reader, id)).toBe(404);
		expect((await as(reader, "POST", `/characters/id/${id}/report`, { reason: "again" })).status).toBe(404);
		const cast = await as(reader, "POST", "/sessions", { character_ids: [id] });
		expect(cast.status, JSON.stringify(cast.body)).toBe(404);
		expect(
			((await ok(reader, "GET", "/sessions")) as { character_id: string }[]).map((s) => s.character_id),
		).not.toContain(id);

		// Its owner still sees it, flagged, and may chat with it; so do admins.
		expect(await ok(owner, "GET", `/characters/id/${id}`)).toMatchObject({ id, hidden: true });
		expect(await listed(owner, name)).toEqual([id]);
		const ownChat = await chat(owner, id);
		expect(ownChat).toBeInstanceOf(ChatSocket);
		await (ownChat as ChatSocket).close();
		expect(await ok(admin, "GET", `/characters/id/${id}`)).toMatchObject({ id, hidden: true });
		expect(await listed(admin, name)).toEqual([id]);
		// The owner cannot lift it.
		await ok(owner, "PATCH", `/characters/id/${id}`, { hidden: false, is_public: true });
		expect((await as(reader, "GET", `/characters/id/${id}`)).status).toBe(404);

		const resolved = await ok(admin, "PATCH", `/admin/reports/${filed.body.id}`, {
			resolved: true,
			resolution: "Hidden",
		});
		expect(resolved).toMatchObject({ resolved: true, resolved_by: admin.username, resolution: "Hidden" });
		expect(await ok(admin, "GET", `/admin/reports?status=open&character_id=${id}`)).toEqual([]);
		// Resolved, the reporter may report it again (had they still seen it); unhidden, they see it again.
		await ok(admin, "PATCH", `/admin/characters/${id}`, { hidden: false });
		expect((await as(reader, "GET", `/characters/id/${id}`)).status).toBe(200);
		expect((await as(reader, "POST", `/characters/id/${id}/report`, { reason: "back" })).status).toBe(201);
	});

	it("should answer 404 for a report of a character the reporter cannot see, or that does not exist", async () => {
		const secret = (await ok(owner, "POST", "/characters", { name: "Diary", system_prompt: "p", is_public: false })).id;
		for (const id of [secret, "00000000-0000-4000-8000-000000000000"]) {
			const res = await as(reader, "POST", `/characters/id/${id}/report`, { reason: "curious" });
			expect(res.status).toBe(404);
			expect(res.body.code).toBe("CHARACTER_NOT_FOUND");
		}
	});

	it("should bound a report's reason and how many reports a user files", async () => {
		const id = await newCharacter(owner);
		for (const reason of ["", "   ", "x".repeat(1001), 42])
			expect((await as(reader, "POST", `/characters/id/${id}/report`, { reason })).status).toBe(422);
		const busy = await signUp();
		const ids = await Promise.all(Array.from({ length: REPORTS_PER_HOUR + 1 }, () => newCharacter(owner)));
		const answers = [];
		for (const target of ids)
			answers.push((await as(busy, "POST", `/characters/id/${target}/report`, { reason: "spam" })).status);
		expect(answers).toEqual([...Array<number>(REPORTS_PER_HOUR).fill(201), 429]);
	});
});

describe("NSFW", () => {
	it("should show an NSFW character only to users who opted in, its owner and admins", async () => {
		const name = `Tavern dancer ${uniqueName("c")}`;
		const id = await newCharacter(owner, name);
		expect(await ok(admin, "PATCH", `/admin/characters/${id}`, { nsfw: true })).toMatchObject({ nsfw: true });

		const viewer = await signUp();
		expect(await ok(viewer, "GET", "/me")).toMatchObject({ show_nsfw: false });
		expect((await as(viewer, "GET", `/characters/id/${id}`)).status).toBe(404);
		expect(await listed(viewer, name)).toEqual([]);
		expect(await chat(viewer, id)).toBe(404);

		expect(await ok(viewer, "PATCH", "/me", { show_nsfw: true })).toMatchObject({ show_nsfw: true });
		expect(await ok(viewer, "GET", "/me")).toMatchObject({ show_nsfw: true });
		expect(await ok(viewer, "GET", `/characters/id/${id}`)).toMatchObject({ id, nsfw: true });
		expect(await listed(viewer, name)).toEqual([id]);
		const socket = await chat(viewer, id);
		expect(socket).toBeInstanceOf(ChatSocket);
		// The opted-in user's messages are answered (ai-consumer reads the opt-in too).
		(socket as ChatSocket).send({ content: "Hello" });
		await (socket as ChatSocket).next((f) => f.type === "ai" && f.reply_to !== null);
		await (socket as ChatSocket).close();

		await ok(viewer, "PATCH", "/me", { show_nsfw: false });
		expect((await as(viewer, "GET", `/characters/id/${id}`)).status).toBe(404);
		expect((await as(viewer, "PATCH", "/me", { show_nsfw: null })).status).toBe(422);
		expect(await ok(owner, "GET", `/characters/id/${id}`)).toMatchObject({ nsfw: true });
		expect(await listed(admin, name)).toEqual([id]);
	});
});

describe("admin routes", () => {
	it("should refuse users with 403 and the anonymous with 401 on every admin route", async () => {
		const id = await newCharacter(owner);
		const report = await ok(reader, "POST", `/characters/id/${id}/report`, { reason: "meh" });
		const routes: [string, string, unknown?][] = [
			["GET", "/admin/reports"],
			["PATCH", `/admin/reports/${report.id}`, { resolved: true }],
			["PATCH", `/admin/characters/${id}`, { hidden: true }],
			["DELETE", `/admin/characters/${id}`],
		];
		for (const [method, path, json] of routes) {
			for (const who of [reader, owner]) {
				const res = await as(who, method, path, json);
				expect([method, path, res.status, res.body.code]).toEqual([method, path, 403, "FORBIDDEN"]);
			}
			expect((await call(method, path, { json })).status).toBe(401);
		}
		expect(await ok(reader, "GET", `/characters/id/${id}`)).toMatchObject({ hidden: false });
		expect(await ok(admin, "GET", `/admin/reports?status=open&character_id=${id}`)).toHaveLength(1);
	});

	it("should let an admin delete anyone's character, and answer 404 for unknown ids and reports", async () => {
		const id = await newCharacter(owner);
		expect((await as(admin, "DELETE", `/admin/characters/${id}`)).status).toBe(204);
		expect((await as(owner, "GET", `/characters/id/${id}`)).status).toBe(404);
		for (const [method, path, json] of [
			["DELETE", `/admin/characters/${id}`],
			["PATCH", `/admin/characters/${id}`, { hidden: true }],
			["PATCH", `/admin/reports/${id}`, { resolved: true }],
		] as const)
			expect((await as(admin, method, path, json)).status).toBe(404);
		expect((await as(admin, "PATCH", `/admin/characters/${id}`, {})).status).toBe(422);
		expect((await as(admin, "PATCH", `/admin/reports/${id}`, { resolved: false })).status).toBe(422);
	});
});
