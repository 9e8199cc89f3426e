/**
 * Personas over REST and WebSocket, in embedded mode (one broker, the real gateway, sockets and PostgreSQL): a
 * default made at sign-up (or when first needed by an older account), one default at a time, someone else's persona
 * a 404 everywhere, a session's persona chosen at the handshake or with PATCH /sessions/:id and shown by GET
 * /sessions, the greeting calling the user by it, a deleted one falling back to the default, and persona images.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import sharp from "sharp";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { PERSONA_AVATAR_MAX_BYTES } from "../../src/domain/personas.js";
import { testConfig, uniqueName } from "../support/config.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { noisePortrait } from "../support/card-images.js";

let broker: ServiceBroker;
let sequelize: Sequelize;
let wsBase = "";
/** A public character whose greeting and alternate greeting name the user. */
let characterId = "";
const { call, login } = restClient(() => gatewayOrigin(broker));

interface Account {
	id: string;
	token: string;
}

const as = (who: Account, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token: who.token, json });

async function newPersona(who: Account, fields: Record<string, unknown>): Promise<Reply["body"]> {
	const made = await as(who, "POST", "/personas", fields);
	expect(made.status, JSON.stringify(made.body)).toBe(201);
	return made.body;
}

async function defaultsOf(userId: string): Promise<string[]> {
	const [rows] = (await sequelize.query(`SELECT name FROM personas WHERE user_id = $1 AND is_default`, {
		bind: [userId],
	})) as [{ name: string }[], unknown];
	return rows.map((r) => r.name);
}

/** Opens a chat; `query` is appended to the handshake URL. */
async function chat(who: Account, query = ""): Promise<{ socket: ChatSocket; hello: Frame }> {
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(who.token)}${query}`);
	return { socket, hello: await socket.next((f) => f.type === "connection") };
}

/** The status a refused handshake was answered with. */
async function refusal(who: Account, query: string): Promise<number> {
	try {
		const { socket } = await chat(who, query);
		await socket.close();
		return 101;
	} catch (err) {
		return (err as { status: number }).status;
	}
}

/** A chat in which the user said something (GET /sessions lists it), the socket closed. */
async function story(who: Account, query = ""): Promise<string> {
	const { socket, hello } = await chat(who, query);
	socket.send({ content: "Hello there" });
	await socket.next((f) => f.type === "ai" && f.reply_to !== null);
	await socket.close();
	return hello.session_id as string;
}

const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString("base64")}`;

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("personas"), CHAT_MESSAGES_PER_MINUTE: "1000" }), {
		logger: false,
	});
	await broker.start();
	sequelize = (broker.getLocalService("personas") as unknown as DbThis).db.sequelize;
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	const owner = await login("Owner");
	const character = await as(owner, "POST", "/characters", {
		name: `Innkeeper ${uniqueName("c")}`,
		system_prompt: "You keep an inn.",
		greeting: "Welcome in, {{user}}! Sit by the fire.",
		alternate_greetings: ["Back again, {{user}}?"],
		description: "An innkeeper for tests.",
		is_public: true,
	});
	expect(character.status, JSON.stringify(character.body)).toBe(201);
	characterId = character.body.id;
});

afterAll(() => broker?.stop());

describe("default persona", () => {
	it("should be made at sign-up, named after the user's display name", async () => {
		const me = await login("Mira Vale");
		expect(await defaultsOf(me.id)).toEqual(["Mira Vale"]);
		const list = await as(me, "GET", "/personas");
		expect(list.status).toBe(200);
		expect(list.body).toEqual([
			{
				id: expect.any(String),
				name: "Mira Vale",
				description: "",
				is_default: true,
				has_avatar: false,
				lorebook_ids: [],
				created_at: expect.any(String),
				updated_at: expect.any(String),
			},
		]);
	});

	it("should be made when first needed for an account that has none (older than personas)", async () => {
		const me = await login("Old Timer");
		const sessionId = await story(me);
		await sequelize.query(`DELETE FROM personas WHERE user_id = $1`, { bind: [me.id] });
		expect(await defaultsOf(me.id)).toEqual([]);

		const sessions = await as(me, "GET", "/sessions");
		expect(sessions.body[0]).toMatchObject({ id: sessionId, persona: { name: "Old Timer" }, lorebook_ids: [] });
		const list = await as(me, "GET", "/personas");
		expect(list.body).toMatchObject([{ id: sessions.body[0].persona.id, name: "Old Timer", is_default: true }]);
		expect(await defaultsOf(me.id)).toEqual(["Old Timer"]);

		await sequelize.query(`DELETE FROM personas WHERE user_id = $1`, { bind: [me.id] });
		const { socket, hello } = await chat(me);
		expect(hello.persona).toMatchObject({ name: "Old Timer" });
		await socket.close();
		expect(await defaultsOf(me.id)).toEqual(["Old Timer"]);
	});

	it("should make one default however many first reads race for it", async () => {
		const me = await login("Racer");
		await sequelize.query(`DELETE FROM personas WHERE user_id = $1`, { bind: [me.id] });
		const lists = await Promise.all(Array.from({ length: 6 }, () => as(me, "GET", "/personas")));
		expect(lists.map((l) => l.status)).toEqual(Array(6).fill(200));
		expect(new Set(lists.map((l) => l.body[0].id)).size).toBe(1);
		expect(await defaultsOf(me.id)).toEqual(["Racer"]);
	});
});

describe("persona CRUD", () => {
	it("should create, read, change and list personas, the default first", async () => {
		const me = await login("Cass");
		const knight = await newPersona(me, { name: "  Sir Cass  ", description: "A knight errant." });
		expect(knight).toMatchObject({ name: "Sir Cass", description: "A knight errant.", is_default: false });
		expect((await as(me, "GET", `/personas/${knight.id}`)).body).toEqual(knight);

		const changed = await as(me, "PATCH", `/personas/${knight.id}`, { description: "A knight, retired." });
		expect(changed.status).toBe(200);
		expect(changed.body).toMatchObject({ name: "Sir Cass", description: "A knight, retired." });

		const list = await as(me, "GET", "/personas");
		expect(list.body.map((p: { name: string }) => p.name)).toEqual(["Cass", "Sir Cass"]);
	});

	it("should keep one default: a new or changed default replaces the old one", async () => {
		const me = await login("Dana");
		const bard = await newPersona(me, { name: "Bard", is_default: true });
		expect(bard.is_default).toBe(true);
		expect(await defaultsOf(me.id)).toEqual(["Bard"]);
		const list = await as(me, "GET", "/personas");
		expect(list.body.map((p: { name: string; is_default: boolean }) => [p.name, p.is_default])).toEqual([
			["Bard", true],
			["Dana", false],
		]);

		const original = list.body[1];
		expect((await as(me, "PATCH", `/personas/${original.id}`, { is_default: true })).body.is_default).toBe(true);
		expect(await defaultsOf(me.id)).toEqual(["Dana"]);
		// false says nothing: a default is replaced by making another one the default.
		await as(me, "PATCH", `/personas/${original.id}`, { is_default: false });
		expect(await defaultsOf(me.id)).toEqual(["Dana"]);

		const racing = await Promise.all(
			["A", "B", "C", "D"].map((name) => as(me, "POST", "/personas", { name, is_default: true })),
		);
		expect(racing.map((r) => r.status)).toEqual([201, 201, 201, 201]);
		expect(await defaultsOf(me.id)).toHaveLength(1);
	});

	it("should delete a persona, pass the default on to the oldest other one, and keep the only one", async () => {
		const me = await login("Eli");
		const [original] = (await as(me, "GET", "/personas")).body;
		const second = await newPersona(me, { name: "Second" });
		await newPersona(me, { name: "Third" });
		expect((await as(me, "DELETE", `/personas/${original.id}`)).status).toBe(204);
		expect(await defaultsOf(me.id)).toEqual(["Second"]);
		expect((await as(me, "GET", `/personas/${original.id}`)).status).toBe(404);

		const third = (await as(me, "GET", "/personas")).body[1];
		expect((await as(me, "DELETE", `/personas/${third.id}`)).status).toBe(204);
		const last = await as(me, "DELETE", `/personas/${second.id}`);
		expect(last.status).toBe(409);
		expect(last.body.code).toBe("LAST_PERSONA");
		expect((await as(me, "GET", "/personas")).body).toMatchObject([{ id: second.id, is_default: true }]);
	});

	it("should refuse a missing or too long name, a too long description and wrong types", async () => {
		const me = await login();
		const bad = [
			{},
			{ name: "" },
			{ name: "   " },
			{ name: "x".repeat(65) },
			{ name: "Ok", description: "d".repeat(4001) },
			{ name: 5 },
			{ name: "Ok", is_default: "yes" },
			{ name: "Ok", lorebook_ids: "x" },
		];
		for (const body of bad) expect((await as(me, "POST", "/personas", body)).status, JSON.stringify(body)).toBe(422);
		expect((await as(me, "GET", "/personas")).body).toHaveLength(1);
	});

	it("should answer someone else's persona as a missing one, on every route", async () => {
		const owner = await login("Owner of it");
		const other = await login("Prober");
		const secret = await newPersona(owner, {
			name: "Secret",
			avatar: dataUrl("image/png", await noisePortrait(40, 40)),
		});
		const otherSession = await story(other);
		const probes = [
			await as(other, "GET", `/personas/${secret.id}`),
			await as(other, "PATCH", `/personas/${secret.id}`, { name: "Mine now" }),
			await as(other, "PATCH", `/personas/${secret.id}`, { is_default: true }),
			await as(other, "DELETE", `/personas/${secret.id}`),
			await as(other, "GET", `/personas/${secret.id}/avatar`),
			await as(other, "PATCH", `/sessions/${otherSession}`, { persona_id: secret.id }),
		];
		for (const probe of probes) expect([probe.status, probe.body?.code]).toEqual([404, "PERSONA_NOT_FOUND"]);
		const missing = await as(other, "GET", `/personas/${crypto.randomUUID()}`);
		expect(missing.body).toMatchObject({ code: "PERSONA_NOT_FOUND" });
		expect(Object.keys(missing.body).sort()).toEqual(Object.keys(probes[0].body).sort());

		expect(await refusal(other, `&persona_id=${secret.id}`)).toBe(404);
		expect(await refusal(other, `&session_id=${otherSession}&persona_id=${secret.id}`)).toBe(404);
		expect(await refusal(other, `&persona_id=not-a-uuid`)).toBe(400);
		expect((await as(owner, "GET", `/personas/${secret.id}`)).body).toMatchObject({
			name: "Secret",
			is_default: false,
		});
		expect((await as(other, "GET", `/sessions/${otherSession}`)).body.persona.name).toBe("Prober");
	});
});

describe("a session's persona", () => {
	it("should greet the user by the persona chosen at the handshake and keep it for the session", async () => {
		const me = await login("Plain Name");
		const rogue = await newPersona(me, { name: "Vex the Rogue" });
		const { socket, hello } = await chat(me, `&persona_id=${rogue.id}`);
		expect(hello.persona).toEqual({ id: rogue.id, name: "Vex the Rogue" });
		const greeting = await socket.next((f) => f.type === "ai" && f.reply_to === null);
		expect(greeting.content).toBe("Welcome in, Vex the Rogue! Sit by the fire.");
		socket.send({ content: "A room, please" });
		await socket.next((f) => f.type === "ai" && f.reply_to !== null);
		await socket.close();

		const listed = await as(me, "GET", "/sessions");
		expect(listed.body[0]).toMatchObject({ id: hello.session_id, persona: { id: rogue.id, name: "Vex the Rogue" } });

		const plain = await chat(me, "&greeting=1");
		expect(plain.hello.persona).toMatchObject({ name: "Plain Name" });
		expect((await plain.socket.next((f) => f.type === "ai" && f.reply_to === null)).content).toBe(
			"Back again, Plain Name?",
		);
		await plain.socket.close();
	});

	it("should switch a resumed session to the persona the handshake names, else keep its own", async () => {
		const me = await login("Switcher");
		const sessionId = await story(me);
		const mage = await newPersona(me, { name: "Mage" });
		const resumed = await chat(me, `&session_id=${sessionId}&persona_id=${mage.id}`);
		expect(resumed.hello).toMatchObject({ resumed: true, persona: { id: mage.id, name: "Mage" } });
		await resumed.socket.close();
		expect((await as(me, "GET", `/sessions/${sessionId}`)).body.persona).toEqual({ id: mage.id, name: "Mage" });

		const again = await chat(me, `&session_id=${sessionId}`);
		expect(again.hello.persona).toEqual({ id: mage.id, name: "Mage" });
		await again.socket.close();
	});

	it("should take a persona with PATCH /sessions/:id, and null for the default", async () => {
		const me = await login("Patcher");
		const sessionId = await story(me);
		const [original] = (await as(me, "GET", "/personas")).body;
		const druid = await newPersona(me, { name: "Druid" });

		const patched = await as(me, "PATCH", `/sessions/${sessionId}`, { persona_id: druid.id });
		expect(patched.status).toBe(200);
		expect(patched.body).toMatchObject({ id: sessionId, persona: { id: druid.id, name: "Druid" }, lorebook_ids: [] });
		expect((await as(me, "GET", "/sessions")).body[0].persona).toEqual({ id: druid.id, name: "Druid" });

		const both = await as(me, "PATCH", `/sessions/${sessionId}`, { title: "By the fire", persona_id: null });
		expect(both.body).toMatchObject({ title: "By the fire", persona: { id: original.id, name: "Patcher" } });
		expect((await as(me, "PATCH", `/sessions/${sessionId}`, {})).status).toBe(422);
		expect((await as(me, "PATCH", `/sessions/${sessionId}`, { persona_id: "nope" })).status).toBe(422);
		expect((await as(me, "PATCH", `/sessions/${sessionId}`, { persona_id: crypto.randomUUID() })).status).toBe(404);
	});

	it("should fall back to the default when the session's persona is deleted", async () => {
		const me = await login("Fallback");
		const monk = await newPersona(me, { name: "Monk" });
		const sessionId = await story(me, `&persona_id=${monk.id}`);
		expect((await as(me, "GET", `/sessions/${sessionId}`)).body.persona.name).toBe("Monk");

		expect((await as(me, "DELETE", `/personas/${monk.id}`)).status).toBe(204);
		expect((await as(me, "GET", `/sessions/${sessionId}`)).body.persona.name).toBe("Fallback");
		const { socket, hello } = await chat(me, `&session_id=${sessionId}`);
		expect(hello.persona).toMatchObject({ name: "Fallback" });
		socket.send({ content: "Still here?" });
		await socket.next((f) => f.type === "ai" && f.reply_to !== null);
		await socket.close();
	});

	it("should keep the persona and books in a branch", async () => {
		const me = await login("Brancher");
		const ranger = await newPersona(me, { name: "Ranger" });
		const sessionId = await story(me, `&persona_id=${ranger.id}`);
		const book = await as(me, "POST", "/lorebooks", { name: "Atlas" });
		expect(book.status, JSON.stringify(book.body)).toBe(201);
		const attached = await as(me, "PATCH", `/sessions/${sessionId}`, { lorebook_ids: [book.body.id] });
		expect(attached.body.lorebook_ids).toEqual([book.body.id]);

		const page = await as(me, "GET", `/sessions/${sessionId}/messages`);
		const last = page.body.messages.at(-1);
		const branch = await as(me, "POST", `/sessions/${sessionId}/branch`, { message_id: last.id });
		expect(branch.status).toBe(201);
		expect(branch.body).toMatchObject({ persona: { id: ranger.id, name: "Ranger" }, lorebook_ids: [book.body.id] });
	});
});

describe("lorebooks of a persona and a session", () => {
	it("should attach my books in order, and refuse someone else's private one as missing", async () => {
		const me = await login("Reader");
		const other = await login("Hoarder");
		const [a, b] = await Promise.all(["A", "B"].map((name) => as(me, "POST", "/lorebooks", { name })));
		const hidden = await as(other, "POST", "/lorebooks", { name: "Hidden" });
		const persona = await newPersona(me, { name: "Scholar", lorebook_ids: [b.body.id, a.body.id] });
		expect(persona.lorebook_ids).toEqual([b.body.id, a.body.id]);
		expect((await as(me, "GET", `/personas/${persona.id}`)).body.lorebook_ids).toEqual([b.body.id, a.body.id]);

		const refused = await as(me, "POST", "/personas", { name: "Thief", lorebook_ids: [hidden.body.id] });
		expect([refused.status, refused.body.code]).toEqual([404, "LOREBOOK_NOT_FOUND"]);
		expect((await as(me, "GET", "/personas")).body.map((p: { name: string }) => p.name)).toEqual(["Reader", "Scholar"]);
		const patched = await as(me, "PATCH", `/personas/${persona.id}`, { lorebook_ids: [hidden.body.id], name: "X" });
		expect(patched.status).toBe(404);
		expect((await as(me, "GET", `/personas/${persona.id}`)).body).toMatchObject({
			name: "Scholar",
			lorebook_ids: [b.body.id, a.body.id],
		});
		expect((await as(me, "PATCH", `/personas/${persona.id}`, { lorebook_ids: [] })).body.lorebook_ids).toEqual([]);

		const sessionId = await story(me);
		const onSession = await as(me, "PATCH", `/sessions/${sessionId}`, { lorebook_ids: [hidden.body.id] });
		expect(onSession.status).toBe(404);
		expect((await as(me, "GET", `/sessions/${sessionId}`)).body.lorebook_ids).toEqual([]);
	});
});

describe("persona images", () => {
	it("should store an image sent as a data: URL and serve it to its owner only, as a small WebP", async () => {
		const me = await login("Painter");
		const other = await login("Peeker");
		const jpeg = await noisePortrait(300, 400, "jpeg");
		const persona = await newPersona(me, { name: "Portrait", avatar: dataUrl("image/jpeg", jpeg) });
		expect(persona.has_avatar).toBe(true);
		const [[stored]] = (await sequelize.query(`SELECT avatar FROM personas WHERE id = $1`, {
			bind: [persona.id],
		})) as [{ avatar: Buffer }[], unknown];
		expect((await sharp(stored.avatar).metadata()).format).toBe("png");

		const image = await call("GET", `/personas/${persona.id}/avatar?size=64`, { token: me.token });
		expect(image.status).toBe(200);
		expect(image.headers.get("content-type")).toContain("image/webp");
		expect(await sharp(image.bytes).metadata()).toMatchObject({ format: "webp", width: 64, height: 64 });
		const etag = image.headers.get("etag")!;
		const again = await call("GET", `/personas/${persona.id}/avatar?size=64`, {
			token: me.token,
			headers: { "If-None-Match": etag },
		});
		expect(again.status).toBe(304);
		expect((await call("GET", `/personas/${persona.id}/avatar?size=7`, { token: me.token })).status).toBe(422);
		expect((await call("GET", `/personas/${persona.id}/avatar`, { token: other.token })).status).toBe(404);
		expect((await call("GET", `/personas/${persona.id}/avatar`)).status).toBe(401);

		const removed = await as(me, "PATCH", `/personas/${persona.id}`, { avatar: null });
		expect(removed.body.has_avatar).toBe(false);
		const gone = await call("GET", `/personas/${persona.id}/avatar`, { token: me.token });
		expect([gone.status, gone.body.code]).toEqual([404, "NOT_FOUND"]);
	});

	it("should take an image up to 512 kB, and refuse what is not a PNG, JPEG or WebP image", async () => {
		const me = await login("Picky");
		const big = await noisePortrait(400, 400, "png");
		expect(big.length).toBeGreaterThan(400 * 1024);
		expect(big.length).toBeLessThanOrEqual(PERSONA_AVATAR_MAX_BYTES);
		expect((await newPersona(me, { name: "Big", avatar: dataUrl("image/png", big) })).has_avatar).toBe(true);

		const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==", "base64");
		const cases: [string, number, string?][] = [
			[dataUrl("image/png", Buffer.from("not an image at all")), 422, "INVALID_IMAGE"],
			[dataUrl("image/png", gif), 422, "INVALID_IMAGE"],
			[dataUrl("image/gif", gif), 422, "VALIDATION_ERROR"],
			[dataUrl("text/plain", Buffer.from("hello")), 422, "VALIDATION_ERROR"],
			["data:image/png;base64,", 422, "VALIDATION_ERROR"],
			["data:image/png;base64,%%%", 422, "VALIDATION_ERROR"],
			["https://example.com/me.png", 422, "VALIDATION_ERROR"],
			[dataUrl("image/png", Buffer.concat([big, Buffer.alloc(PERSONA_AVATAR_MAX_BYTES)])), 413],
		];
		for (const [avatar, status, code] of cases) {
			const refused = await as(me, "POST", "/personas", { name: "Refused", avatar });
			expect([refused.status, code && refused.body.code], avatar.slice(0, 40)).toEqual([status, code]);
		}
		expect((await as(me, "GET", "/personas")).body.map((p: { name: string }) => p.name)).toEqual(["Picky", "Big"]);
	});
});
