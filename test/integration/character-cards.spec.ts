/**
 * Character card import/export over real HTTP: gateway + auth + characters on one broker, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { crc32 } from "node:zlib";
import extractChunks from "png-chunks-extract";
import encodeChunks from "png-chunks-encode";
import { decode as decodeText, encode as encodeText } from "png-chunk-text";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient, type Reply } from "../support/rest-client.js";

let broker: ServiceBroker;
let base = "";

beforeAll(async () => {
	broker = createBroker(testConfig({ SERVICES: "api,auth,characters" }), { logger: false });
	await broker.start();
	base = gatewayOrigin(broker);
});

afterAll(() => broker.stop());

const { call, login } = restClient(() => base);

const importPng = (token: string, png: Buffer) =>
	call("POST", "/characters/import", { token, body: png, type: "image/png" });

/** A V3 card with every spec field and some app extensions, named uniquely. */
function richCard(name = `Card ${uniqueName("n")}`) {
	return {
		spec: "chara_card_v3",
		spec_version: "3.0",
		data: {
			name,
			description: "{{char}} keeps the archive. Ünïcödé ✓",
			personality: "meticulous",
			scenario: "{{user}} visits the archive at night.",
			first_mes: "*Looks up from a ledger.* We're closed. Mostly.",
			mes_example: "<START>\n{{user}}: Hello?\n{{char}}: Shh.",
			creator_notes: "notes",
			system_prompt: "Write {{char}}'s reply. {{original}}",
			post_history_instructions: "Keep it short.",
			alternate_greetings: ["*A lamp flickers.*"],
			character_book: {
				name: "Lore",
				extensions: {},
				entries: [
					{ keys: ["ledger"], content: "The ledger is old.", extensions: {}, enabled: true, insertion_order: 0 },
				],
			},
			tags: ["archive", "mystery"],
			creator: "tester",
			character_version: "2",
			extensions: { talkativeness: "0.4", depth_prompt: { prompt: "Quiet.", depth: 4 } },
			assets: [{ type: "icon", uri: "ccdefault:", name: "main", ext: "png" }],
			nickname: "Archivist",
			creator_notes_multilingual: { en: "notes" },
			source: ["https://example.org/archivist"],
			group_only_greetings: [],
			creation_date: 1_700_000_000,
			modification_date: 1_700_000_100,
		},
	};
}

/** A PNG as SillyTavern exported V2 cards before V3: an image with one `chara` chunk. */
function sillyTavernV2Png(card: unknown): Buffer {
	const header = Buffer.alloc(13);
	header.writeUInt32BE(1, 0);
	header.writeUInt32BE(1, 4);
	header.set([8, 2], 8);
	return Buffer.from(
		encodeChunks([
			{ name: "IHDR", data: header },
			// One red pixel: filter byte 0, then RGB, deflated (stored block).
			{
				name: "IDAT",
				data: Buffer.from([0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0x00, 0xff, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00]),
			},
			encodeText("chara", Buffer.from(JSON.stringify(card)).toString("base64")),
			{ name: "IEND", data: new Uint8Array(0) },
		]),
	);
}

function textChunks(png: Buffer): Record<string, unknown> {
	return Object.fromEntries(
		extractChunks(png)
			.filter((c) => c.name === "tEXt")
			.map((c) => {
				const { keyword, text } = decodeText(c.data);
				return [keyword, JSON.parse(Buffer.from(text, "base64").toString("utf8"))];
			}),
	);
}

describe("card import", () => {
	it("should import a JSON card as a private character owned by the caller", async () => {
		const { id, token } = await login();
		const card = richCard();
		const res = await call("POST", "/characters/import", { token, json: card });
		expect(res.status).toBe(201);
		expect(res.headers.get("location")).toBe(`/characters/id/${res.body.id}`);
		expect(res.body).toMatchObject({
			name: card.data.name,
			greeting: card.data.first_mes,
			personality: "meticulous",
			tags: ["archive", "mystery"],
			extensions: card.data.extensions,
			has_avatar: false,
			created_by: id,
			is_public: false,
			slug: expect.stringMatching(/^card-n-[a-z0-9-]+$/),
		});
		expect(res.body).not.toHaveProperty("avatar");
		expect((await call("GET", `/characters/id/${res.body.id}`, { token })).body).toEqual(res.body);
		// Private until its owner shares it: nobody else sees it.
		expect((await call("GET", `/characters/id/${res.body.id}`, { token: (await login()).token })).status).toBe(404);
	});

	it("should import a public character with ?public=true", async () => {
		const { token } = await login();
		const res = await call("POST", "/characters/import?public=true", { token, json: richCard() });
		expect(res).toMatchObject({ status: 201, body: { is_public: true } });
		expect((await call("GET", `/characters/id/${res.body.id}`, { token: (await login()).token })).status).toBe(200);
	});

	it("should import a SillyTavern V2 PNG and keep its image as the avatar", async () => {
		const { token } = await login();
		const card = {
			spec: "chara_card_v2",
			spec_version: "2.0",
			data: { name: `Png ${uniqueName("p")}`, description: "From a PNG", first_mes: "Hi!" },
		};
		const png = sillyTavernV2Png(card);
		const res = await importPng(token, png);
		expect(res).toMatchObject({
			status: 201,
			body: { name: card.data.name, description: "From a PNG", greeting: "Hi!", has_avatar: true },
		});
		// No system prompt in the card: one is derived, and the export gives back the empty one.
		expect(res.body.system_prompt).toBe(`You are ${card.data.name}.`);

		const exported = await call("GET", `/characters/id/${res.body.id}/card.png`, { token });
		const original = extractChunks(png).filter((c) => c.name !== "tEXt");
		expect(extractChunks(exported.bytes).filter((c) => c.name !== "tEXt")).toEqual(original);
		expect(textChunks(exported.bytes).chara).toMatchObject({
			spec: "chara_card_v2",
			data: { ...card.data, system_prompt: "" },
		});
	});

	it("should let create and update set the card fields", async () => {
		const { token } = await login();
		const created = await call("POST", "/characters", {
			token,
			json: {
				name: `Plain ${uniqueName("c")}`,
				system_prompt: "Be plain.",
				personality: "plain",
				mes_example: "<START>\n",
				tags: ["a"],
			},
		});
		expect(created).toMatchObject({
			status: 201,
			body: { personality: "plain", mes_example: "<START>\n", tags: ["a"], alternate_greetings: [] },
		});
		const patched = await call("PATCH", `/characters/id/${created.body.id}`, {
			token,
			json: { scenario: "A field.", alternate_greetings: ["Yo"], creator: "me" },
		});
		expect(patched).toMatchObject({
			status: 200,
			body: { scenario: "A field.", alternate_greetings: ["Yo"], creator: "me", personality: "plain" },
		});
		const card = await call("GET", `/characters/id/${created.body.id}/card.json`, { token });
		expect(card.body.data).toMatchObject({
			scenario: "A field.",
			alternate_greetings: ["Yo"],
			creator: "me",
			system_prompt: "Be plain.",
		});
		const bad = await call("PATCH", `/characters/id/${created.body.id}`, { token, json: { tags: "a,b" } });
		expect(bad).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
	});
});

describe("card export", () => {
	it("should export the V3 card as a JSON attachment, losslessly", async () => {
		const { token } = await login();
		const card = richCard();
		const imported = await call("POST", "/characters/import", { token, json: card });
		const res = await call("GET", `/characters/id/${imported.body.id}/card.json`, { token });
		expect(res.status).toBe(200);
		expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${imported.body.slug}.json"`);
		expect(res.body).toEqual(card);
	});

	it("should export a PNG carrying chara (V2) and ccv3 (V3) that imports back to the same card", async () => {
		const { token } = await login();
		const card = richCard();
		const first = await call("POST", "/characters/import", { token, json: card });
		const png = await call("GET", `/characters/id/${first.body.id}/card.png`, { token });
		expect(png.status).toBe(200);
		expect(png.headers.get("content-type")).toBe("image/png");
		expect(png.headers.get("content-disposition")).toBe(`attachment; filename="${first.body.slug}.png"`);
		const texts = textChunks(png.bytes);
		expect(texts.ccv3).toEqual(card);
		expect(texts.chara).toEqual({ ...card, spec: "chara_card_v2", spec_version: "2.0" });

		const second = await importPng(token, png.bytes);
		expect(second).toMatchObject({ status: 201, body: { name: card.data.name, has_avatar: true } });
		expect(second.body.slug).not.toBe(first.body.slug);
		expect((await call("GET", `/characters/id/${second.body.id}/card.json`, { token })).body).toEqual(card);
		// The placeholder image travelled with it.
		const again = await call("GET", `/characters/id/${second.body.id}/card.png`, { token });
		expect(extractChunks(again.bytes).filter((c) => c.name === "IDAT")).toEqual(
			extractChunks(png.bytes).filter((c) => c.name === "IDAT"),
		);
	});

	it("should follow the visibility rules of get", async () => {
		const owner = await login();
		const other = await login();
		const imported = await call("POST", "/characters/import", { token: owner.token, json: richCard() });
		await call("PATCH", `/characters/id/${imported.body.id}`, { token: owner.token, json: { is_public: false } });
		for (const format of ["json", "png"]) {
			const path = `/characters/id/${imported.body.id}/card.${format}`;
			expect((await call("GET", path, { token: owner.token })).status).toBe(200);
			expect(await call("GET", path, { token: other.token })).toMatchObject({
				status: 404,
				body: { code: "CHARACTER_NOT_FOUND" },
			});
			expect((await call("GET", path)).status).toBe(401);
		}
		const unknown = await call("GET", "/characters/id/00000000-0000-4000-8000-000000000000/card.json", {
			token: owner.token,
		});
		expect(unknown).toMatchObject({ status: 404, body: { code: "CHARACTER_NOT_FOUND" } });
		const gif = await call("GET", `/characters/id/${imported.body.id}/card.gif`, { token: owner.token });
		expect(gif).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
	});
});

describe("hostile imports", () => {
	let token = "";
	beforeAll(async () => {
		token = (await login()).token;
	});

	const good = () => sillyTavernV2Png({ spec: "chara_card_v2", data: { name: `Hostile ${uniqueName("h")}` } });
	const withChara = (text: string) =>
		Buffer.from(encodeChunks(extractChunks(good()).map((c) => (c.name === "tEXt" ? encodeText("chara", text) : c))));
	const nested = (depth: number): unknown => (depth === 0 ? 1 : { n: nested(depth - 1) });

	it("should answer each with a 4xx, a reason and a stable code, never a 500", async () => {
		const crcBroken = good();
		crcBroken[40] ^= 0xff; // inside IDAT's data
		const cases: {
			what: string;
			png?: Buffer;
			json?: unknown;
			body?: string;
			type?: string;
			status: number;
			code: string;
			detail?: RegExp;
		}[] = [
			{ what: "not a PNG", png: Buffer.from("just some text"), status: 400, code: "INVALID_PNG", detail: /Not a PNG/ },
			{ what: "an empty PNG body", png: Buffer.alloc(0), status: 400, code: "INVALID_PNG" },
			{ what: "a truncated chunk", png: good().subarray(0, 50), status: 400, code: "INVALID_PNG", detail: /truncated/ },
			{ what: "a CRC error", png: crcBroken, status: 400, code: "INVALID_PNG", detail: /checksum/ },
			{ what: "a 20 MB upload", png: Buffer.alloc(20 * 1024 * 1024), status: 413, code: "PAYLOAD_TOO_LARGE" },
			{
				what: "invalid base64 in the chunk",
				png: withChara("%%% not base64 %%%"),
				status: 422,
				code: "INVALID_CARD",
				detail: /base64/,
			},
			{
				what: "invalid JSON in the chunk",
				png: withChara(Buffer.from("{oops").toString("base64")),
				status: 422,
				code: "INVALID_CARD",
				detail: /JSON/,
			},
			{
				what: "a PNG without a card",
				png: Buffer.from(encodeChunks(extractChunks(good()).filter((c) => c.name !== "tEXt"))),
				status: 422,
				code: "INVALID_CARD",
				detail: /no character card/,
			},
			{
				what: "an invalid JSON body",
				body: '{"spec": "chara_card_v2",',
				type: "application/json",
				status: 400,
				code: "INVALID_JSON",
			},
			{
				what: "a JSON body over 2 MB",
				body: JSON.stringify({ name: "x".repeat(3 * 1024 * 1024) }),
				type: "application/json",
				status: 413,
				code: "PAYLOAD_TOO_LARGE",
			},
			{
				what: "JSON that is not a card",
				json: { hello: "world" },
				status: 422,
				code: "INVALID_CARD",
				detail: /Not a character card/,
			},
			{ what: "a JSON array", json: [richCard()], status: 422, code: "INVALID_CARD", detail: /must be a JSON object/ },
			{
				what: "an unknown spec",
				json: { spec: "chara_card_v9", data: { name: "x" } },
				status: 422,
				code: "INVALID_CARD",
				detail: /Unknown card spec/,
			},
			{
				what: "a missing name",
				json: { spec: "chara_card_v2", spec_version: "2.0", data: { description: "nameless" } },
				status: 422,
				code: "INVALID_CARD",
				detail: /no name/,
			},
			{
				what: "wrong types",
				json: { spec: "chara_card_v2", data: { name: "x", tags: "a,b" } },
				status: 422,
				code: "INVALID_CARD",
				detail: /data\.tags must be an array/,
			},
			{
				what: "deeply nested extensions",
				json: { spec: "chara_card_v2", data: { name: "x", extensions: nested(30) } },
				status: 422,
				code: "INVALID_CARD",
				detail: /nested/,
			},
			{
				what: "absurdly nested JSON",
				body: `{"spec":"chara_card_v2","data":{"name":"x","extensions":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}}`,
				type: "application/json",
				status: 422,
				code: "INVALID_CARD",
				detail: /nested/,
			},
			{
				what: "the reserved extension",
				json: { spec: "chara_card_v2", data: { name: "x", extensions: { cameo_card_extra: {} } } },
				status: 422,
				code: "INVALID_CARD",
				detail: /reserved/,
			},
			{ what: "a text body", body: "name: x", type: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
			{
				what: "a form body",
				body: "name=x",
				type: "application/x-www-form-urlencoded",
				status: 415,
				code: "UNSUPPORTED_MEDIA_TYPE",
			},
		];
		for (const c of cases) {
			const res = c.png
				? await importPng(token, c.png)
				: await call("POST", "/characters/import", { token, json: c.json, body: c.body, type: c.type });
			expect({ what: c.what, status: res.status, code: res.body?.code }).toEqual({
				what: c.what,
				status: c.status,
				code: c.code,
			});
			expect(typeof res.body.detail, c.what).toBe("string");
			if (c.detail) expect(res.body.detail, c.what).toMatch(c.detail);
			expect(res.bytes.toString("utf8"), c.what).not.toMatch(/at .*\.(js|ts):\d+|node_modules/);
		}
	});

	it("should ask for a token before looking at the body", async () => {
		const res = await call("POST", "/characters/import", { body: "whatever", type: "text/plain" });
		expect(res).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
	});

	it("should keep a path-traversal name as plain text with a safe slug and file name", async () => {
		const res = await call("POST", "/characters/import", {
			token,
			json: { spec: "chara_card_v2", data: { name: "../../etc/passwd" } },
		});
		expect(res).toMatchObject({
			status: 201,
			body: { name: "../../etc/passwd", slug: expect.stringMatching(/^etc-passwd(-\d+)?$/) },
		});
		const exported = await call("GET", `/characters/id/${res.body.id}/card.png`, { token });
		expect(exported.headers.get("content-disposition")).toBe(`attachment; filename="${res.body.slug}.png"`);
		expect(textChunks(exported.bytes).ccv3).toMatchObject({ data: { name: "../../etc/passwd" } });
	});

	it("should take exactly one of card and png when called directly", async () => {
		const user = { id: (await login()).id, username: "direct", role: "user" };
		for (const params of [{}, { card: richCard(), png: good().toString("base64") }]) {
			await expect(broker.call("characters.importCard", params, { meta: { user } })).rejects.toMatchObject({
				code: 422,
				type: "VALIDATION_ERROR",
			});
		}
		await expect(broker.call("characters.importCard", { png: "***" }, { meta: { user } })).rejects.toMatchObject({
			code: 400,
			type: "INVALID_PNG",
		});
		await expect(broker.call("characters.importCard", { card: richCard() })).rejects.toMatchObject({ code: 401 });
	});
});

describe("multipart uploads", () => {
	let token = "";
	beforeAll(async () => {
		token = (await login()).token;
	});

	/** POST /characters/import with a form as a browser or `curl -F` builds it. */
	async function importForm(form: FormData, query = ""): Promise<Reply> {
		const res = await fetch(`${base}/characters/import${query}`, {
			method: "POST",
			headers: { Authorization: `Bearer ${token}` },
			body: form,
		});
		const bytes = Buffer.from(await res.arrayBuffer());
		return {
			status: res.status,
			headers: res.headers,
			bytes,
			body: bytes.length ? JSON.parse(bytes.toString("utf8")) : null,
		};
	}

	const formWith = (...parts: [string, Blob | string, string?][]) => {
		const form = new FormData();
		for (const [name, value, filename] of parts) {
			if (typeof value === "string") form.append(name, value);
			else form.append(name, value, filename);
		}
		return form;
	};

	it("should import a card PNG sent as the file part, whatever its declared type and name", async () => {
		const name = `Form ${uniqueName("f")}`;
		const png = sillyTavernV2Png({ spec: "chara_card_v2", data: { name, first_mes: "Hi!" } });
		const res = await importForm(
			formWith(
				["file", new Blob([png], { type: "application/octet-stream" }), "../../card.json"],
				["file_type", "png"],
			),
		);
		expect(res).toMatchObject({ status: 201, body: { name, greeting: "Hi!", has_avatar: true, is_public: false } });
		const exported = await call("GET", `/characters/id/${res.body.id}/card.png`, { token });
		expect(textChunks(exported.bytes).ccv3).toMatchObject({ data: { name } });
	});

	it("should import a JSON card sent as a file part or as a plain field, public with ?public=true", async () => {
		const card = richCard();
		const asFile = await importForm(
			formWith(["file", new Blob([JSON.stringify(card)], { type: "application/json" }), "card.json"]),
			"?public=true",
		);
		expect(asFile).toMatchObject({ status: 201, body: { name: card.data.name, has_avatar: false, is_public: true } });
		const asField = await importForm(formWith(["file", JSON.stringify(richCard("Field card"))]));
		expect(asField).toMatchObject({ status: 201, body: { name: "Field card" } });
	});

	it("should refuse a form without a file part, with several files, or with a part over the limit, saying why", async () => {
		const png = () => new Blob([sillyTavernV2Png({ spec: "chara_card_v2", data: { name: "x" } })]);
		const cases: [string, FormData, number, string, RegExp][] = [
			["no file part", formWith(["avatar", png(), "a.png"]), 422, "INVALID_FORM", /no "file" part/],
			["an empty form", formWith(["note", "hello"]), 422, "INVALID_FORM", /no "file" part/],
			[
				"two files",
				formWith(["file", png(), "a.png"], ["file", png(), "b.png"]),
				422,
				"INVALID_FORM",
				/one card per request/,
			],
			[
				"a file and another file",
				formWith(["file", png(), "a.png"], ["extra", png(), "b.png"]),
				422,
				"INVALID_FORM",
				/one card per request/,
			],
			[
				"a 9 MB file part",
				formWith(["file", new Blob([Buffer.alloc(9 * 1024 * 1024)]), "big.png"]),
				413,
				"PAYLOAD_TOO_LARGE",
				/./,
			],
			[
				"a 3 MB JSON file part",
				formWith(["file", new Blob([JSON.stringify({ name: "x".repeat(3 * 1024 * 1024) })]), "big.json"]),
				413,
				"CARD_TOO_LARGE",
				/at most 2097152/,
			],
			[
				"a file that is neither PNG nor JSON",
				formWith(["file", new Blob(["GIF89a..."]), "a.gif"]),
				422,
				"INVALID_CARD",
				/neither a PNG image nor a JSON card/,
			],
		];
		for (const [what, form, status, code, detail] of cases) {
			const res = await importForm(form);
			expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status, code });
			expect(res.body.detail, what).toMatch(detail);
		}
	});
});

describe("import limits", () => {
	let limited: ServiceBroker;
	let limitedBase = "";
	beforeAll(async () => {
		limited = createBroker(
			testConfig({
				SERVICES: "api,auth,characters",
				CHARACTERS_MAX_MB_PER_USER: "1",
				CHARACTER_IMPORTS_PER_MINUTE: "4",
			}),
			{ logger: false, nodeID: `limits-${uniqueName("n")}` },
		);
		await limited.start();
		limitedBase = gatewayOrigin(limited);
	});
	afterAll(() => limited.stop());

	const post = async (path: string, token: string, body: Buffer | string, type: string) => {
		const res = await fetch(limitedBase + path, {
			method: "POST",
			headers: { Authorization: `Bearer ${token}`, "Content-Type": type },
			body,
		});
		return { status: res.status, body: (await res.json()) as Reply["body"] };
	};
	async function limitedLogin(): Promise<string> {
		const username = uniqueName();
		await post(
			"/register",
			"",
			JSON.stringify({ username, name: "Limits", password: "a long enough password" }),
			"application/json",
		);
		return (
			await post("/login", "", JSON.stringify({ username, password: "a long enough password" }), "application/json")
		).body.access_token;
	}
	/** A card PNG whose image (an unknown ancillary chunk) takes `bytes`. */
	const bigPng = (bytes: number) => {
		const png = sillyTavernV2Png({ spec: "chara_card_v2", data: { name: `Big ${uniqueName("b")}` } });
		const chunks = extractChunks(png);
		return Buffer.from(
			encodeChunks([...chunks.slice(0, -1), { name: "zzZz", data: new Uint8Array(bytes) }, chunks[chunks.length - 1]]),
		);
	};

	it("should refuse (413) an import that takes the user over their storage quota, avatar included", async () => {
		const token = await limitedLogin();
		expect((await post("/characters/import", token, bigPng(700 * 1024), "image/png")).status).toBe(201);
		const over = await post("/characters/import", token, bigPng(400 * 1024), "image/png");
		expect(over).toMatchObject({
			status: 413,
			body: { code: "STORAGE_QUOTA_EXCEEDED", detail: expect.stringMatching(/at most 1048576 are allowed per user/) },
		});
		// A small card still fits, and another user has a quota of their own.
		expect((await post("/characters/import", token, JSON.stringify(richCard()), "application/json")).status).toBe(201);
		expect((await post("/characters/import", await limitedLogin(), bigPng(400 * 1024), "image/png")).status).toBe(201);
	});

	it("should rate-limit imports per user (429 with Retry-After), not per server", async () => {
		const token = await limitedLogin();
		const statuses = [];
		for (let i = 0; i < 6; i += 1)
			statuses.push((await post("/characters/import", token, JSON.stringify(richCard()), "application/json")).status);
		expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
		const refused = await fetch(`${limitedBase}/characters/import`, {
			method: "POST",
			headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
			body: "{}",
		});
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(
			(await post("/characters/import", await limitedLogin(), JSON.stringify(richCard()), "application/json")).status,
		).toBe(201);
	});

	it("should refuse a PNG of 250,000 chunks without stalling the event loop", async () => {
		const token = await limitedLogin();
		// An empty private chunk: length 0, type, CRC of the type.
		const tiny = Buffer.alloc(12);
		tiny.write("pRiV", 4, "latin1");
		tiny.writeUInt32BE(crc32(Buffer.from("pRiV", "latin1")), 8);
		const flood = sillyTavernV2Png({ spec: "chara_card_v2", data: { name: "Flood" } });
		const body = Buffer.concat([
			flood.subarray(0, 33),
			Buffer.concat(Array<Buffer>(250_000).fill(tiny)),
			flood.subarray(33),
		]);
		let worst = 0;
		let done = false;
		const probe = (async () => {
			while (!done) {
				const started = performance.now();
				await fetch(`${limitedBase}/health`);
				worst = Math.max(worst, performance.now() - started);
			}
		})();
		const res = await post("/characters/import", token, body, "image/png");
		done = true;
		await probe;
		expect(res).toMatchObject({ status: 422, body: { code: "TOO_MANY_PNG_CHUNKS" } });
		// It blocked the loop for 1.5-2 s before the chunk limit.
		expect(worst).toBeLessThan(200);
	});
});
