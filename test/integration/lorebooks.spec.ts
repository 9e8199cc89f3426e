/**
 * Lorebooks over real HTTP (gateway + auth + characters + lorebooks on one broker, real PostgreSQL): CRUD, import of
 * SillyTavern and V2 files, export as either, privacy between users, attaching books to a character, the caps, and
 * the books LorebookStore.activeFor gives the chat pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import { LorebookStore } from "../../src/adapters/lorebook-store.js";
import { LorebookEvent } from "../../src/domain/lorebook.js";
import { MAX_LORE_ENTRIES } from "../../src/domain/lorebook-format.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";
import { stEntry } from "../support/lorebook-files.js";

let broker: ServiceBroker;
let base = "";
let sequelize: Sequelize;
const events: unknown[] = [];

beforeAll(async () => {
	const config = testConfig({ SERVICES: "api,auth,characters,lorebooks", NAMESPACE: uniqueName("lore") });
	broker = createBroker(config, { logger: false });
	broker.createService({
		name: "lorebook-listener",
		events: { [LorebookEvent.Changed]: (ctx: { params: unknown }) => void events.push(ctx.params) },
	});
	await broker.start();
	base = gatewayOrigin(broker);
	sequelize = (broker.getLocalService("lorebooks") as unknown as DbThis).db.sequelize;
});

afterAll(() => broker.stop());

const { call, login } = restClient(() => base);

/** A SillyTavern world-info file as SillyTavern exports it (the fields of 1.12). */
function stFile(): Record<string, unknown> {
	return {
		entries: {
			"0": stEntry(0, { key: ["Eldoria", "the realm"], comment: "Realm", content: "Eldoria is a river kingdom." }),
			"1": stEntry(1, { key: ["/queen\\s+\\w+/i"], comment: "Queen", content: "Queen Maren rules.", position: 1 }),
			"2": stEntry(2, { comment: "Note", content: "It rains.", constant: true, position: 4, depth: 2, role: 1 }),
			"3": stEntry(3, { key: ["dragon"], keysecondary: ["cave"], comment: "Off", content: "x", disable: true }),
		},
	};
}

/** A V2 character_book as a card editor writes it. */
const v2Book = () => ({
	name: "Harbour lore",
	description: "The docks",
	scan_depth: 3,
	token_budget: 600,
	recursive_scanning: false,
	extensions: { source: "editor" },
	entries: [
		{
			keys: ["harbour"],
			content: "Ships from the south.",
			extensions: { depth: 4 },
			enabled: true,
			insertion_order: 5,
			case_sensitive: false,
			name: "Harbour",
			priority: 10,
			id: 1,
			comment: "",
			selective: false,
			secondary_keys: [],
			constant: false,
			position: "before_char",
		},
		{ keys: ["tide"], content: "Twice a day.", extensions: {}, enabled: true, insertion_order: 6 },
	],
});

const create = (token: string, body: Record<string, unknown>) =>
	call("POST", "/lorebooks", { token, json: { name: `Book ${uniqueName("b")}`, ...body } });

describe("lorebooks CRUD", () => {
	it("should create, read, list, change and delete my book", async () => {
		const { token } = await login();
		events.length = 0;
		const made = await create(token, {
			description: "Places",
			entries: [{ keys: ["inn"], content: "The inn is warm.", name: "Inn" }],
		});
		expect(made.status).toBe(201);
		expect(made.headers.get("location")).toBe(`/lorebooks/${made.body.id}`);
		expect(made.body).toMatchObject({ description: "Places", is_public: false, is_own: true, scan_depth: null });
		expect(made.body.entries).toEqual([
			expect.objectContaining({ id: 0, keys: ["inn"], content: "The inn is warm.", name: "Inn", enabled: true }),
		]);
		const got = await call("GET", `/lorebooks/${made.body.id}`, { token });
		expect(got.body).toEqual(made.body);

		const changed = await call("PATCH", `/lorebooks/${made.body.id}`, {
			token,
			json: { scan_depth: 2, entries: [{ keys: ["well"], content: "Deep." }] },
		});
		expect(changed.status).toBe(200);
		expect(changed.body).toMatchObject({ scan_depth: 2, description: "Places" });
		expect(changed.body.entries.map((e: { keys: string[] }) => e.keys)).toEqual([["well"]]);

		const mine = await call("GET", "/lorebooks?scope=mine", { token });
		expect(mine.body).toEqual([
			expect.objectContaining({ id: made.body.id, entry_count: 1, is_own: true, name: made.body.name }),
		]);

		expect((await call("DELETE", `/lorebooks/${made.body.id}`, { token })).status).toBe(204);
		expect((await call("GET", `/lorebooks/${made.body.id}`, { token })).status).toBe(404);
		await expect.poll(() => events.length).toBeGreaterThanOrEqual(3);
		expect(events).toContainEqual({ id: made.body.id });
	});

	it("should refuse a change of nothing, and bad fields, with 422", async () => {
		const { token } = await login();
		const made = await create(token, {});
		const empty = await call("PATCH", `/lorebooks/${made.body.id}`, { token, json: {} });
		expect(empty.status).toBe(422);
		for (const json of [{ name: "" }, { scan_depth: 0 }, { entries: "x" }, { entries: [{ keys: "inn" }] }]) {
			const res = await call("PATCH", `/lorebooks/${made.body.id}`, { token, json });
			expect(res.status, JSON.stringify(json)).toBe(422);
			expect(res.body.code).toBe("VALIDATION_ERROR");
		}
		const bad = await create(token, { entries: [{ keys: ["a"] }, { keys: [7] }] });
		expect(bad.body.errors[0].field).toBe("entries[1].keys[0]");
		const badRegex = await create(token, { entries: [{ keys: ["fine", "/(?<=lookbehind)x/"] }] });
		expect(badRegex.status).toBe(422);
		expect(badRegex.body.errors[0].field).toBe("entries[0].keys[1]");
		const imported = await call("POST", "/lorebooks/import", { token, json: { entries: [{ keys: ["/(a)\\1/"] }] } });
		expect(imported.status).toBe(422);
	});
});

describe("import and export", () => {
	it("should import a SillyTavern file and export it back as it was", async () => {
		const { token } = await login();
		const imported = await call("POST", "/lorebooks/import?name=Eldoria", { token, json: stFile() });
		expect(imported.status).toBe(201);
		expect(imported.body).toMatchObject({ name: "Eldoria", is_public: false, is_own: true });
		expect(imported.body.entries.map((e: { name: string; position: string }) => [e.name, e.position])).toEqual([
			["Realm", "before_char"],
			["Queen", "after_char"],
			["Note", "after_char"],
			["Off", "before_char"],
		]);
		const exported = await call("GET", `/lorebooks/${imported.body.id}/export`, { token });
		expect(exported.status).toBe(200);
		expect(exported.headers.get("content-disposition")).toBe('attachment; filename="eldoria.json"');
		expect(exported.body).toEqual({ name: "Eldoria", ...stFile() });
	});

	it("should import a V2 character_book and export it unchanged", async () => {
		const { token } = await login();
		const imported = await call("POST", "/lorebooks/import", { token, json: v2Book() });
		expect(imported.status).toBe(201);
		expect(imported.body).toMatchObject({ name: "Harbour lore", scan_depth: 3, token_budget: 600 });
		const exported = await call("GET", `/lorebooks/${imported.body.id}/export?format=character_book`, { token });
		expect(exported.headers.get("content-disposition")).toBe('attachment; filename="harbour-lore-character-book.json"');
		expect(exported.body).toEqual(v2Book());
		const asSt = await call("GET", `/lorebooks/${imported.body.id}/export?format=sillytavern`, { token });
		expect(asSt.body.entries["1"]).toMatchObject({ key: ["harbour"], order: 5, position: 0, depth: 4 });
	});

	it("should keep an imported book's export as it was after an edit through the API", async () => {
		const { token } = await login();
		const imported = await call("POST", "/lorebooks/import", { token, json: v2Book() });
		const entries = imported.body.entries;
		entries[1].content = "Three times a day.";
		await call("PATCH", `/lorebooks/${imported.body.id}`, { token, json: { entries } });
		const exported = await call("GET", `/lorebooks/${imported.body.id}/export?format=character_book`, { token });
		const expected = v2Book();
		expected.entries[1].content = "Three times a day.";
		expect(exported.body).toEqual(expected);
	});

	it("should refuse what is not a lorebook, and the caps, with 422; a body over 2 MB with 413", async () => {
		const { token } = await login();
		for (const json of [{ entries: 5 }, { hello: "world" }, { entries: [{ keys: "x" }] }]) {
			const res = await call("POST", "/lorebooks/import", { token, json });
			expect(res.status, JSON.stringify(json)).toBe(422);
		}
		const many = { entries: Array.from({ length: MAX_LORE_ENTRIES + 1 }, (_, id) => ({ id, keys: ["k"] })) };
		const tooMany = await call("POST", "/lorebooks/import", { token, json: many });
		expect(tooMany.status).toBe(422);
		expect(tooMany.body.errors[0].field).toBe("entries");
		const huge = { entries: [{ keys: ["k"], content: "x".repeat(2.2 * 1024 * 1024) }] };
		expect((await call("POST", "/lorebooks/import", { token, json: huge })).status).toBe(413);
		expect((await create(token, { entries: huge.entries })).status).toBe(413);
	});
});

describe("privacy", () => {
	it("should hide another user's private book (404) and let anyone read, but not change, a public one", async () => {
		const owner = await login();
		const other = await login();
		const secret = await create(owner.token, { entries: [{ keys: ["s"], content: "secret" }] });
		const shared = await create(owner.token, { is_public: true });
		for (const [method, path] of [
			["GET", `/lorebooks/${secret.body.id}`],
			["GET", `/lorebooks/${secret.body.id}/export`],
			["PATCH", `/lorebooks/${secret.body.id}`],
			["DELETE", `/lorebooks/${secret.body.id}`],
		]) {
			const res = await call(method, path, {
				token: other.token,
				json: method === "PATCH" ? { name: "x" } : undefined,
			});
			expect(res.status, `${method} ${path}`).toBe(404);
			expect(res.body.code).toBe("LOREBOOK_NOT_FOUND");
		}
		const read = await call("GET", `/lorebooks/${shared.body.id}`, { token: other.token });
		expect(read.body).toMatchObject({ id: shared.body.id, is_own: false, is_public: true });
		expect(
			(await call("PATCH", `/lorebooks/${shared.body.id}`, { token: other.token, json: { name: "x" } })).status,
		).toBe(403);
		expect((await call("DELETE", `/lorebooks/${shared.body.id}`, { token: other.token })).status).toBe(403);
		const listed = await call("GET", "/lorebooks", { token: other.token });
		const ids = listed.body.map((b: { id: string }) => b.id);
		expect(ids).toContain(shared.body.id);
		expect(ids).not.toContain(secret.body.id);
		const publicOnly = await call("GET", "/lorebooks?scope=public", { token: owner.token });
		expect(publicOnly.body.every((b: { is_public: boolean }) => b.is_public)).toBe(true);
		expect((await call("GET", "/lorebooks")).status).toBe(401);
	});
});

describe("books of a character", () => {
	async function ownCharacter(token: string, card?: unknown): Promise<string> {
		const res = card
			? await call("POST", "/characters/import", { token, json: card })
			: await call("POST", "/characters", {
					token,
					json: { name: `Lore ${uniqueName("c")}`, system_prompt: "You are a test.", is_public: true },
				});
		expect(res.status).toBe(201);
		return res.body.id;
	}

	it("should attach my and public books to my character, in order, and show them to me only", async () => {
		const me = await login();
		const other = await login();
		const characterId = await ownCharacter(me.token);
		const mine = await create(me.token, {});
		const theirsPublic = await create(other.token, { is_public: true });
		const theirsPrivate = await create(other.token, {});
		const ids = [theirsPublic.body.id, mine.body.id];
		events.length = 0;
		const res = await call("PATCH", `/characters/id/${characterId}`, { token: me.token, json: { lorebook_ids: ids } });
		expect(res.status).toBe(200);
		expect(res.body.lorebook_ids).toEqual(ids);
		await expect.poll(() => events).toContainEqual({});
		expect((await call("GET", `/characters/id/${characterId}`, { token: me.token })).body.lorebook_ids).toEqual(ids);
		const seen = await call("GET", `/characters/id/${characterId}`, { token: other.token });
		expect(seen.body).not.toHaveProperty("lorebook_ids");

		const refused = await call("PATCH", `/characters/id/${characterId}`, {
			token: me.token,
			json: { lorebook_ids: [theirsPrivate.body.id], name: "Renamed" },
		});
		expect(refused.status).toBe(404);
		expect(refused.body.code).toBe("LOREBOOK_NOT_FOUND");
		const after = await call("GET", `/characters/id/${characterId}`, { token: me.token });
		expect(after.body).toMatchObject({ lorebook_ids: ids });
		expect(after.body.name).not.toBe("Renamed");

		const notMine = await call("PATCH", `/characters/id/${characterId}`, {
			token: other.token,
			json: { lorebook_ids: [theirsPublic.body.id] },
		});
		expect(notMine.status).toBe(403);
		const tooMany = Array.from({ length: 21 }, () => mine.body.id);
		const over = await call("PATCH", `/characters/id/${characterId}`, {
			token: me.token,
			json: { lorebook_ids: tooMany },
		});
		expect(over.status).toBe(422);

		await call("DELETE", `/lorebooks/${mine.body.id}`, { token: me.token });
		const gone = await call("GET", `/characters/id/${characterId}`, { token: me.token });
		expect(gone.body.lorebook_ids).toEqual([theirsPublic.body.id]);
		const cleared = await call("PATCH", `/characters/id/${characterId}`, {
			token: me.token,
			json: { lorebook_ids: [] },
		});
		expect(cleared.body.lorebook_ids).toEqual([]);
	});

	it("should give the pipeline the card's book first, then the character's, persona's and session's, each once", async () => {
		const me = await login();
		const other = await login();
		const card = {
			spec: "chara_card_v2",
			spec_version: "2.0",
			data: { name: `Carded ${uniqueName("c")}`, first_mes: "Hi.", character_book: v2Book() },
		};
		const characterId = await ownCharacter(me.token, card);
		const [a, b, c] = await Promise.all([create(me.token, {}), create(me.token, {}), create(me.token, {})]);
		const leaving = await create(other.token, { is_public: true });
		const store = new LorebookStore(sequelize);
		const [[persona]] = (await sequelize.query(`INSERT INTO personas (user_id, name) VALUES ($1, 'Me') RETURNING id`, {
			bind: [me.id],
		})) as [{ id: string }[], unknown];
		const [[session]] = (await sequelize.query(
			`INSERT INTO chat_sessions (username, character_id)
			SELECT username, $2 FROM users WHERE id = $1 RETURNING id`,
			{ bind: [me.id, characterId] },
		)) as [{ id: string }[], unknown];
		const viewer = { id: me.id, role: "user" };
		await store.attach({ kind: "character", id: characterId }, viewer, [b.body.id, leaving.body.id]);
		await store.attach({ kind: "persona", id: persona.id }, viewer, [a.body.id, b.body.id]);
		await store.attach({ kind: "session", id: session.id }, viewer, [c.body.id, a.body.id]);
		expect(await store.attached({ kind: "session", id: session.id })).toEqual([c.body.id, a.body.id]);

		const active = await store.activeFor({ characterId, personaId: persona.id, sessionId: session.id });
		expect(active.map((book) => book.id)).toEqual([null, b.body.id, leaving.body.id, a.body.id, c.body.id]);
		expect(active[0]).toMatchObject({ name: card.data.name, scan_depth: 3 });
		expect(active[0].entries.map((e) => e.keys)).toEqual([["harbour"], ["tide"]]);

		// Made private by its owner, a book stops reaching others' chats.
		await call("PATCH", `/lorebooks/${leaving.body.id}`, { token: other.token, json: { is_public: false } });
		const later = await store.activeFor({ characterId, personaId: null, sessionId: null });
		expect(later.map((book) => book.id)).toEqual([null, b.body.id]);
	});
});
