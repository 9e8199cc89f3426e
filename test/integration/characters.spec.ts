/**
 * The characters service against the run's real PostgreSQL, with the in-memory cacher. Other files share the
 * database, so every name and slug here is unique and assertions never assume an otherwise empty table.
 */
import { crc32, deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Service } from "moleculer";
import charactersService from "../../services/characters.service.js";
import { acquireDatabase, releaseDatabase, type Database } from "../../src/adapters/database.js";
import {
	SUMMARY_TEXT_CHARS,
	toCharacterSummary,
	type Caller,
	type CharacterView,
} from "../../src/domain/characters.js";
import { SEED_CHARACTERS, type SeedCharacter } from "../../src/domain/seed-characters.js";
import { testConfig, uniqueName } from "../support/config.js";
import { up } from "../../models/migrations/0007-character-avatars-and-slugs.js";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

describe("characters service", () => {
	const broker = new ServiceBroker({ logger: false, cacher: "Memory" });
	// The model a character names must be allowed (the offline model's name, or these).
	const config = testConfig({ LLM_ALLOWED_MODELS: "gemini-2.5-pro" });
	const service = broker.createService(charactersService(config)) as Service & {
		seed(characters?: readonly SeedCharacter[]): Promise<void>;
	};
	let db: Database;
	let owner: Caller;
	let other: Caller;
	let admin: Caller;

	async function insertUser(role: Caller["role"]): Promise<Caller> {
		const username = uniqueName(role === "admin" ? "adm" : "usr");
		const row = await db.models.User.create({ username, name: username, hashed_password: "not-a-real-hash", role });
		return { id: row.id, username, role };
	}

	/** A lowercase token unique to this call, usable in names and slugs. */
	const token = (prefix: string) =>
		uniqueName(prefix)
			.toLowerCase()
			.replace(/[^a-z0-9]/g, "");

	const as = (user: Caller | undefined, meta: Record<string, unknown> = {}) => ({ meta: { ...meta, user } });

	function create(user: Caller, params: Record<string, unknown> = {}): Promise<CharacterView> {
		return broker.call(
			"characters.create",
			{ name: `Char ${token("n")}`, system_prompt: "You are a test character.", ...params },
			as(user),
		);
	}

	beforeAll(async () => {
		await broker.start();
		db = await acquireDatabase(testConfig(), quiet);
		[owner, other, admin] = await Promise.all([insertUser("user"), insertUser("user"), insertUser("admin")]);
	});

	afterAll(async () => {
		await broker.stop();
		await releaseDatabase();
	});

	describe("seeding", () => {
		it("should have inserted every seed character, public, active and ownerless", async () => {
			const rows = await db.models.Character.findAll({ where: { slug: SEED_CHARACTERS.map((c) => c.slug) } });
			expect(rows.map((r) => r.slug).sort()).toEqual(SEED_CHARACTERS.map((c) => c.slug).sort());
			for (const row of rows) expect(row).toMatchObject({ created_by: null, is_public: true, is_active: true });
			const view = await broker.call<CharacterView, { id: string }>("characters.get", { id: rows[0].id }, as(other));
			expect(view.system_prompt.length).toBeGreaterThan(100);
		});

		it("should add nothing when seeding again", async () => {
			const count = () => db.models.Character.count({ where: { slug: SEED_CHARACTERS.map((c) => c.slug) } });
			const before = await count();
			await Promise.all([service.seed(), service.seed()]);
			expect(await count()).toBe(before);
			expect(before).toBe(SEED_CHARACTERS.length);
		});

		it("should never overwrite a seed character an admin has edited", async () => {
			const seed: SeedCharacter = {
				name: "Seed Test",
				slug: token("seed"),
				description: "d",
				system_prompt: "original",
				greeting: "hi",
			};
			await service.seed([seed]);
			const row = await db.models.Character.findOne({ where: { slug: seed.slug } });
			expect(row?.created_by).toBeNull();
			await expect(
				broker.call("characters.update", { id: row?.id, system_prompt: "edited" }, as(owner)),
			).rejects.toMatchObject({ code: 403 });
			await broker.call("characters.update", { id: row?.id, system_prompt: "edited" }, as(admin));
			await service.seed([seed]);
			const after = await broker.call<CharacterView, { id: string }>("characters.resolve", { id: row!.id });
			expect(after.system_prompt).toBe("edited");
		});
	});

	describe("CRUD by the owner", () => {
		it("should create, read, update and delete", async () => {
			const meta = { user: owner } as Record<string, unknown>;
			const name = `Owner Test ${token("o")}`;
			const created = await broker.call<CharacterView, object>(
				"characters.create",
				{ name, system_prompt: "  You are kind.  ", description: "A test.", greeting: "Hello!" },
				{ meta },
			);
			expect(meta.$statusCode).toBe(201);
			expect(created).toMatchObject({
				name,
				system_prompt: "You are kind.",
				description: "A test.",
				greeting: "Hello!",
				is_public: true,
				is_active: true,
				created_by: owner.id,
			});
			expect(created.slug).toMatch(/^owner-test-[a-z0-9]+$/);
			expect(new Date(created.created_at).toISOString()).toBe(created.created_at);
			expect(Object.keys(created).sort()).toEqual([
				"alternate_greetings",
				"character_version",
				"created_at",
				"created_by",
				"creator",
				"creator_notes",
				"description",
				"extensions",
				"greeting",
				"has_avatar",
				"hidden",
				"id",
				"is_active",
				"is_public",
				"llm_model",
				"lorebook_ids",
				"max_output_tokens",
				"mes_example",
				"name",
				"nsfw",
				"personality",
				"post_history_instructions",
				"scenario",
				"slug",
				"system_prompt",
				"tags",
				"temperature",
				"updated_at",
			]);

			expect(await broker.call("characters.get", { id: created.id }, as(owner))).toEqual(created);

			const updated = await broker.call<CharacterView, object>(
				"characters.update",
				{ id: created.id, greeting: "Hi again", is_public: false, created_by: other.id },
				as(owner),
			);
			expect(updated).toMatchObject({
				greeting: "Hi again",
				is_public: false,
				created_by: owner.id,
				slug: created.slug,
				name,
			});

			const removeMeta = { user: owner } as Record<string, unknown>;
			expect(await broker.call("characters.remove", { id: created.id }, { meta: removeMeta })).toBeNull();
			expect(removeMeta.$statusCode).toBe(204);
			await expect(broker.call("characters.get", { id: created.id }, as(owner))).rejects.toMatchObject({
				code: 404,
				type: "CHARACTER_NOT_FOUND",
			});
		});

		it("should derive distinct slugs among one owner's characters, even concurrently, whatever others have", async () => {
			const name = `Twin ${token("t")}`;
			const first = await create(owner, { name, is_public: false });
			const rest = await Promise.all([create(owner, { name }), create(owner, { name }), create(owner, { name })]);
			const base = first.slug;
			expect(rest.map((c) => c.slug).sort()).toEqual([`${base}-2`, `${base}-3`, `${base}-4`]);
			// Slugs are per owner: the owner's private one makes no difference to anyone else's.
			expect((await Promise.all([create(other, { name }), create(admin, { name })])).map((c) => c.slug)).toEqual([
				base,
				base,
			]);
		});

		it("should derive a slug from names with no Latin letters", async () => {
			const created = await create(owner, { name: "クロ" });
			expect(created.slug).toMatch(/^character(-\d+)?$/);
		});
	});

	describe("permissions", () => {
		it("should forbid another user to change or delete a public character (403)", async () => {
			const c = await create(owner);
			await expect(broker.call("characters.update", { id: c.id, name: "Hijacked" }, as(other))).rejects.toMatchObject({
				code: 403,
				type: "FORBIDDEN",
			});
			await expect(broker.call("characters.remove", { id: c.id }, as(other))).rejects.toMatchObject({
				code: 403,
				type: "FORBIDDEN",
			});
			expect(await broker.call("characters.get", { id: c.id }, as(other))).toMatchObject({ name: c.name });
		});

		it("should hide a private character from another user (404 in get, update and remove; absent in list)", async () => {
			const c = await create(owner, { is_public: false });
			for (const [action, params] of [
				["get", { id: c.id }],
				["update", { id: c.id, name: "x" }],
				["remove", { id: c.id }],
			] as const) {
				await expect(broker.call(`characters.${action}`, params, as(other))).rejects.toMatchObject({
					code: 404,
					type: "CHARACTER_NOT_FOUND",
				});
			}
			await expect(broker.call("characters.get", { id: c.id })).rejects.toMatchObject({ code: 404 });
			expect(await broker.call("characters.list", { q: c.name }, as(other))).toEqual([]);
			expect(await broker.call("characters.list", { q: c.name }, as(owner))).toEqual([toCharacterSummary(c)]);
		});

		it("should hide an inactive character from others but not from its owner", async () => {
			const c = await create(owner, { is_active: false });
			await expect(broker.call("characters.get", { id: c.id }, as(other))).rejects.toMatchObject({ code: 404 });
			expect(await broker.call("characters.get", { id: c.id }, as(owner))).toEqual(c);
		});

		it("should let an admin see, change and delete anyone's private character", async () => {
			const c = await create(owner, { is_public: false });
			expect(await broker.call("characters.list", { q: c.name }, as(admin))).toEqual([toCharacterSummary(c)]);
			expect(await broker.call("characters.update", { id: c.id, description: "moderated" }, as(admin))).toMatchObject({
				description: "moderated",
				created_by: owner.id,
			});
			expect(await broker.call("characters.remove", { id: c.id }, as(admin))).toBeNull();
			await expect(broker.call("characters.get", { id: c.id }, as(owner))).rejects.toMatchObject({ code: 404 });
		});

		it("should require a user for writes (401)", async () => {
			await expect(broker.call("characters.create", { name: "Anon", system_prompt: "p" })).rejects.toMatchObject({
				code: 401,
				type: "UNAUTHORIZED",
			});
			const c = await create(owner);
			await expect(broker.call("characters.remove", { id: c.id })).rejects.toMatchObject({ code: 401 });
		});
	});

	describe("validation and conflicts", () => {
		it("should reject a malformed id (422)", async () => {
			for (const action of ["get", "remove", "resolve"]) {
				await expect(broker.call(`characters.${action}`, { id: "nope" }, as(owner))).rejects.toMatchObject({
					code: 422,
					name: "ValidationError",
				});
			}
		});

		it("should reject bad fields and an empty update (422)", async () => {
			const bad = [
				{ name: "" },
				{ name: "   " },
				{ name: "x".repeat(81) },
				{ slug: "Not Lower" },
				{ system_prompt: "x".repeat(20_001) },
				{ is_public: "yes" },
			];
			for (const params of bad)
				await expect(create(owner, params)).rejects.toMatchObject({ code: 422, name: "ValidationError" });
			const c = await create(owner);
			await expect(broker.call("characters.update", { id: c.id }, as(owner))).rejects.toMatchObject({
				code: 422,
				type: "VALIDATION_ERROR",
			});
		});

		it("should answer 409 for an explicit slug the caller already uses, on create and on update, and only then", async () => {
			const slug = token("slug");
			const first = await create(owner, { slug, is_public: false });
			expect(first.slug).toBe(slug);
			await expect(create(owner, { slug })).rejects.toMatchObject({ code: 409, type: "SLUG_TAKEN", data: { slug } });
			// Someone else's (private) character with that slug is none of the caller's business.
			expect((await create(other, { slug })).slug).toBe(slug);
			const second = await create(owner);
			await expect(broker.call("characters.update", { id: second.id, slug }, as(owner))).rejects.toMatchObject({
				code: 409,
				type: "SLUG_TAKEN",
			});
		});

		it("should answer 404 for an unknown id", async () => {
			await expect(broker.call("characters.get", { id: UNKNOWN_ID }, as(admin))).rejects.toMatchObject({ code: 404 });
			await expect(broker.call("characters.update", { id: UNKNOWN_ID, name: "x" }, as(admin))).rejects.toMatchObject({
				code: 404,
			});
		});
	});

	describe("caching", () => {
		it("should serve reads from the cache and clear it on every write", async () => {
			const c = await create(owner, { name: `Cached ${token("c")}` });
			await broker.call("characters.get", { id: c.id }, as(owner));
			await broker.call("characters.list", { q: c.name }, as(owner));
			// Behind the service's back: the cached answers must not see this.
			await db.models.Character.update({ greeting: "sneaky" }, { where: { id: c.id } });
			expect(await broker.call("characters.get", { id: c.id }, as(owner))).toMatchObject({ greeting: c.greeting });

			await broker.call("characters.update", { id: c.id, name: `${c.name} Renamed` }, as(owner));
			expect(await broker.call("characters.get", { id: c.id }, as(owner))).toMatchObject({
				name: `${c.name} Renamed`,
				greeting: "sneaky",
			});
			expect(await broker.call("characters.list", { q: c.name }, as(owner))).toMatchObject([
				{ name: `${c.name} Renamed` },
			]);
			expect(await broker.call("characters.resolve", { id: c.id })).toMatchObject({ name: `${c.name} Renamed` });
		});

		it("should not serve one caller's cached view to another", async () => {
			const c = await create(owner, { is_public: false });
			await broker.call("characters.get", { id: c.id }, as(owner));
			await expect(broker.call("characters.get", { id: c.id }, as(other))).rejects.toMatchObject({ code: 404 });
		});
	});

	describe("list", () => {
		it("should search names case-insensitively, order by name and page", async () => {
			const tag = token("q");
			for (const prefix of ["Cc", "aa", "Bb"]) await create(owner, { name: `${prefix} ${tag}` });
			const all = await broker.call<CharacterView[], object>("characters.list", { q: tag.toUpperCase() }, as(other));
			expect(all.map((c) => c.name)).toEqual([`aa ${tag}`, `Bb ${tag}`, `Cc ${tag}`]);
			const page = await broker.call<CharacterView[], object>(
				"characters.list",
				{ q: tag, limit: "1", offset: "1" },
				as(other),
			);
			expect(page.map((c) => c.name)).toEqual([`Bb ${tag}`]);
		});

		it("should treat LIKE wildcards in q as text", async () => {
			expect(await broker.call("characters.list", { q: `%${token("none")}` }, as(owner))).toEqual([]);
			expect(await broker.call("characters.list", { q: "_%_%_%_%_%_%_%_%" }, as(owner))).toEqual([]);
		});

		it("should list public active characters, including the seeds, and bound limit", async () => {
			const seeds = await broker.call<CharacterView[], object>(
				"characters.list",
				{ q: SEED_CHARACTERS[0].name },
				as(other),
			);
			expect(seeds.map((c) => c.slug)).toContain(SEED_CHARACTERS[0].slug);
			await expect(broker.call("characters.list", { limit: 101 }, as(owner))).rejects.toMatchObject({ code: 422 });
			const inactive = await create(owner, { is_active: false });
			const page = await broker.call<CharacterView[], object>("characters.list", { limit: 100 }, as(other));
			expect(page.every((c) => c.is_public && c.is_active)).toBe(true);
			expect(page.map((c) => c.id)).not.toContain(inactive.id);
		});
	});

	describe("list summaries", () => {
		it("should list summary fields only, with the description and greeting cut to a preview", async () => {
			const long = "é".repeat(20_000);
			const c = await create(owner, {
				name: `Big ${token("b")}`,
				description: long,
				greeting: long,
				system_prompt: long,
				mes_example: long,
				tags: ["big"],
			});
			const [listed] = await broker.call<Record<string, unknown>[], object>(
				"characters.list",
				{ q: c.name },
				as(owner),
			);
			expect(Object.keys(listed).sort()).toEqual([
				"created_at",
				"created_by",
				"creator",
				"description",
				"greeting",
				"has_avatar",
				"hidden",
				"id",
				"is_active",
				"is_public",
				"name",
				"nsfw",
				"slug",
				"tags",
				"updated_at",
			]);
			expect(listed).toMatchObject({
				id: c.id,
				tags: ["big"],
				has_avatar: false,
				description: `${"é".repeat(SUMMARY_TEXT_CHARS - 1)}…`,
			});
			expect(listed.greeting).toBe(listed.description);
			// The whole character stays one GET away.
			expect(await broker.call("characters.get", { id: c.id }, as(owner))).toMatchObject({
				description: long,
				system_prompt: long,
			});
		});

		it("should keep a page of 100 big characters small", async () => {
			const tag = token("page");
			const long = "x".repeat(20_000);
			const fields = {
				description: long,
				greeting: long,
				system_prompt: long,
				mes_example: long,
				personality: long.slice(0, 10_000),
				scenario: long.slice(0, 10_000),
			};
			await Promise.all(Array.from({ length: 20 }, (_, i) => create(owner, { name: `${tag} ${i}`, ...fields })));
			const page = await broker.call<unknown[], object>("characters.list", { q: tag, limit: 100 }, as(owner));
			expect(page).toHaveLength(20);
			// 20 x 120 kB of text before; about 1 kB each now.
			expect(JSON.stringify(page).length).toBeLessThan(20 * 1024);
		});
	});

	describe("storage quota", () => {
		const quotaBroker = new ServiceBroker({ logger: false, cacher: "Memory", nodeID: `quota-${token("n")}` });
		quotaBroker.createService(charactersService(testConfig({ CHARACTERS_MAX_MB_PER_USER: "1" })));
		beforeAll(() => quotaBroker.start());
		afterAll(() => quotaBroker.stop());

		it("should refuse (413) a create or an update that takes the user over CHARACTERS_MAX_MB_PER_USER, and only the user", async () => {
			const user = await insertUser("user");
			const text = "x".repeat(20_000);
			const big = {
				description: text,
				greeting: text,
				system_prompt: text,
				mes_example: text,
				post_history_instructions: text,
				creator_notes: text,
			};
			const made = [];
			for (let i = 0; i < 8; i += 1)
				made.push(
					await quotaBroker.call<CharacterView, object>(
						"characters.create",
						{ name: `Quota ${token("q")}`, ...big },
						as(user),
					),
				);
			// 8 x 120 kB: the ninth passes 1 MB.
			await expect(
				quotaBroker.call("characters.create", { name: `Quota ${token("q")}`, ...big }, as(user)),
			).rejects.toMatchObject({ code: 413, type: "STORAGE_QUOTA_EXCEEDED" });
			const small = await quotaBroker.call<CharacterView, object>(
				"characters.create",
				{ name: `Quota ${token("q")}`, system_prompt: "short" },
				as(user),
			);
			const grow = {
				description: text,
				greeting: text,
				mes_example: text,
				post_history_instructions: text,
				creator_notes: text,
			};
			await expect(quotaBroker.call("characters.update", { id: small.id, ...grow }, as(user))).rejects.toMatchObject({
				code: 413,
			});
			// Shrinking is always allowed, and frees room.
			await quotaBroker.call("characters.update", { id: made[0].id, description: "", greeting: "" }, as(user));
			await quotaBroker.call("characters.update", { id: small.id, scenario: "y".repeat(10_000) }, as(user));
			// Another user has their own quota.
			await quotaBroker.call(
				"characters.create",
				{ name: `Quota ${token("q")}`, ...big },
				as(await insertUser("user")),
			);
		});
	});

	describe("migration 0007", () => {
		/** A PNG as an older import stored it: the image with its other text chunks, plus `flood` empty chunks, `size` pixels a side. */
		function storedPng(flood: number, size = 1): Buffer {
			const chunk = (type: string, data: Buffer) => {
				const head = Buffer.alloc(8);
				head.writeUInt32BE(data.length, 0);
				head.write(type, 4, "latin1");
				const crc = Buffer.alloc(4);
				crc.writeUInt32BE(crc32(data, crc32(Buffer.from(type, "latin1"))), 0);
				return Buffer.concat([head, data, crc]);
			};
			const header = Buffer.alloc(13);
			header.writeUInt32BE(size, 0);
			header.writeUInt32BE(size, 4);
			header.set([8, 6], 8);
			const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
			return Buffer.concat([
				signature,
				chunk("IHDR", header),
				...Array<Buffer>(flood).fill(chunk("pRiV", Buffer.alloc(0))),
				chunk("IDAT", deflateSync(Buffer.alloc(5))),
				chunk("tEXt", Buffer.from("Comment\0old")),
				chunk("IEND", Buffer.alloc(0)),
			]);
		}

		it("should strip stored avatars of their text chunks once, and drop those the import would refuse", async () => {
			const ids = await Promise.all(
				[storedPng(0), storedPng(250_000), storedPng(0, 100_000)].map(async (avatar) => {
					const c = await create(owner);
					await db.models.Character.update({ avatar }, { where: { id: c.id } });
					return c.id;
				}),
			);
			await up({ name: "0007-character-avatars-and-slugs", context: db.sequelize.getQueryInterface() });
			const rows = await Promise.all(ids.map((id) => db.models.Character.unscoped().findByPk(id)));
			const [plain, flood, bomb] = rows.map((row) => row?.avatar ?? null);
			expect(plain?.includes("tEXt")).toBe(false);
			expect(plain?.subarray(-8, -4).toString("latin1")).toBe("IEND");
			expect([flood, bomb]).toEqual([null, null]);
			// Export is now a concatenation, whatever was stored.
			const exported = await broker.call<Buffer, object>(
				"characters.exportCard",
				{ id: ids[1], format: "png" },
				as(owner),
			);
			expect(exported.subarray(1, 4).toString("latin1")).toBe("PNG");
		});
	});

	describe("resolve", () => {
		it("should return any character, private ones included, or null", async () => {
			const c = await create(owner, { is_public: false, is_active: false });
			// Only its owner's views list the lorebooks attached to it.
			expect(await broker.call("characters.resolve", { id: c.id })).toEqual({ ...c, lorebook_ids: undefined });
			expect(await broker.call("characters.resolve", { id: UNKNOWN_ID })).toBeNull();
		});
	});

	describe("model settings", () => {
		it("should keep a character's own model, temperature and output limit, and clear them with null", async () => {
			const c = await create(owner, { llm_model: "gemini-2.5-pro", temperature: 0.3, max_output_tokens: 300 });
			expect(c).toMatchObject({ llm_model: "gemini-2.5-pro", temperature: 0.3, max_output_tokens: 300 });
			const cleared = await broker.call(
				"characters.update",
				{ id: c.id, llm_model: null, temperature: null },
				as(owner),
			);
			expect(cleared).toMatchObject({ llm_model: null, temperature: null, max_output_tokens: 300 });
			for (const bad of [{ temperature: 3 }, { max_output_tokens: 0 }, { llm_model: "rm -rf /" }]) {
				await expect(broker.call("characters.update", { id: c.id, ...bad }, as(owner))).rejects.toMatchObject({
					code: 422,
				});
			}
		});
	});
});
