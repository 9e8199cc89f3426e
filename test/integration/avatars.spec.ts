/**
 * Character images over real HTTP (gateway + auth + characters + avatars on one broker, real PostgreSQL): the small
 * derived image per size with ETag/304, the visibility rule of GET /characters/id/{id}, uploads normalised to the
 * card PNG's avatar, removal, and refusals of hostile bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { createBroker } from "../../src/broker.js";
import { readCardFromPng } from "../../src/domain/card-png.js";
import { AVATAR_STORED_SIDE } from "../../src/domain/avatars.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { cardPng, noisePortrait } from "../support/card-images.js";
import { restClient } from "../support/rest-client.js";

let broker: ServiceBroker;
let base = "";

beforeAll(async () => {
	broker = createBroker(testConfig({ SERVICES: "api,auth,characters,avatars" }), { logger: false });
	await broker.start();
	base = gatewayOrigin(broker);
});

afterAll(() => broker.stop());

const { call, login } = restClient(() => base);

const createCharacter = async (token: string, fields: Record<string, unknown> = {}) =>
	(await call("POST", "/characters", { token, json: { name: uniqueName("Av"), system_prompt: "x", ...fields } })).body;

describe("derived avatars", () => {
	let owner: { id: string; token: string };
	let stranger: { id: string; token: string };
	let publicId = "";
	let privateId = "";
	let originalBytes = 0;

	beforeAll(async () => {
		[owner, stranger] = await Promise.all([login(), login()]);
		const image = await noisePortrait(800, 1200);
		const card = cardPng(image, { name: uniqueName("Imported"), description: "d", first_mes: "Hi." });
		originalBytes = card.length;
		expect(originalBytes).toBeGreaterThan(2_000_000);
		const imported = await call("POST", "/characters/import?public=true", {
			token: owner.token,
			body: card,
			type: "image/png",
		});
		expect(imported.status).toBe(201);
		expect(imported.body.has_avatar).toBe(true);
		publicId = imported.body.id;
		const hidden = await call("POST", "/characters/import", { token: owner.token, body: card, type: "image/png" });
		privateId = hidden.body.id;
	});

	it("should serve each size as a small square WebP, 128 by default, never the original", async () => {
		for (const size of [64, 128, 256]) {
			const res = await call("GET", `/characters/id/${publicId}/avatar?size=${size}`, { token: stranger.token });
			expect(res.status).toBe(200);
			expect(res.headers.get("content-type")).toBe("image/webp");
			const meta = await sharp(res.bytes).metadata();
			expect([meta.format, meta.width, meta.height]).toEqual(["webp", size, size]);
			expect(res.bytes.length).toBeLessThan(originalBytes / 20);
		}
		const plain = await call("GET", `/characters/id/${publicId}/avatar`, { token: stranger.token });
		expect((await sharp(plain.bytes).metadata()).width).toBe(128);
	});

	it("should answer 304 to a client that has the image, and a new ETag per size and per new image", async () => {
		const first = await call("GET", `/characters/id/${publicId}/avatar?size=64`, { token: owner.token });
		const etag = first.headers.get("etag")!;
		expect(etag).toMatch(/^"[^"]+"$/);
		expect(first.headers.get("cache-control")).toBe("private, no-cache");
		const again = await call("GET", `/characters/id/${publicId}/avatar?size=64`, {
			token: owner.token,
			headers: { "If-None-Match": `"other", W/${etag}` },
		});
		expect(again.status).toBe(304);
		expect(again.bytes.length).toBe(0);
		expect(again.headers.get("etag")).toBe(etag);
		const bigger = await call("GET", `/characters/id/${publicId}/avatar?size=256`, {
			token: owner.token,
			headers: { "If-None-Match": etag },
		});
		expect(bigger.status).toBe(200);
		expect(bigger.headers.get("etag")).not.toBe(etag);

		const put = await call("PUT", `/characters/id/${publicId}/avatar`, {
			token: owner.token,
			body: await noisePortrait(300, 300, "jpeg"),
			type: "image/jpeg",
		});
		expect(put.status).toBe(200);
		const after = await call("GET", `/characters/id/${publicId}/avatar?size=64`, {
			token: owner.token,
			headers: { "If-None-Match": etag },
		});
		expect(after.status).toBe(200);
		expect(after.headers.get("etag")).not.toBe(etag);
	});

	it("should keep a private character's image to its owner (404 for others, 401 without a token)", async () => {
		expect((await call("GET", `/characters/id/${privateId}/avatar`, { token: owner.token })).status).toBe(200);
		const other = await call("GET", `/characters/id/${privateId}/avatar`, { token: stranger.token });
		expect([other.status, other.body.code]).toEqual([404, "CHARACTER_NOT_FOUND"]);
		const anonymous = await call("GET", `/characters/id/${privateId}/avatar`);
		expect(anonymous.status).toBe(401);
		// Made public, it shows; the cached derived image of the owner's request is not a way around the rule.
		await call("PATCH", `/characters/id/${privateId}`, { token: owner.token, json: { is_public: true } });
		expect((await call("GET", `/characters/id/${privateId}/avatar`, { token: stranger.token })).status).toBe(200);
		await call("PATCH", `/characters/id/${privateId}`, { token: owner.token, json: { is_public: false } });
		expect((await call("GET", `/characters/id/${privateId}/avatar`, { token: stranger.token })).status).toBe(404);
	});

	it("should refuse sizes it does not derive", async () => {
		for (const size of ["100", "abc", "1024", "0"]) {
			const res = await call("GET", `/characters/id/${publicId}/avatar?size=${size}`, { token: owner.token });
			expect([size, res.status, res.body.code]).toEqual([size, 422, "VALIDATION_ERROR"]);
		}
	});
});

describe("avatar upload", () => {
	let owner: { id: string; token: string };
	let stranger: { id: string; token: string };

	beforeAll(async () => {
		[owner, stranger] = await Promise.all([login(), login()]);
	});

	it("should store PNG, JPEG and WebP uploads as the card PNG's image, at most 960 pixels a side", async () => {
		const character = await createCharacter(owner.token);
		expect(character.has_avatar).toBe(false);
		expect((await call("GET", `/characters/id/${character.id}/avatar`, { token: owner.token })).status).toBe(404);
		for (const format of ["png", "jpeg", "webp"] as const) {
			const res = await call("PUT", `/characters/id/${character.id}/avatar`, {
				token: owner.token,
				body: await noisePortrait(1500, 1000, format),
				type: `image/${format}`,
			});
			expect([format, res.status, res.body.has_avatar]).toEqual([format, 200, true]);
			const card = await call("GET", `/characters/id/${character.id}/card.png`, { token: owner.token });
			const { card: json, image } = readCardFromPng(card.bytes);
			expect((json as { data: { name: string } }).data.name).toBe(character.name);
			const meta = await sharp(image).metadata();
			expect([meta.format, meta.width, meta.height]).toEqual(["png", AVATAR_STORED_SIDE, 640]);
		}
		const listed = await call("GET", `/characters/id/${character.id}`, { token: owner.token });
		expect(listed.body.has_avatar).toBe(true);
	});

	it("should remove the image, back to the placeholder", async () => {
		const character = await createCharacter(owner.token);
		const path = `/characters/id/${character.id}/avatar`;
		const body = await noisePortrait(200, 200);
		expect((await call("PUT", path, { token: owner.token, body, type: "image/png" })).status).toBe(200);
		expect((await call("DELETE", path, { token: owner.token })).status).toBe(204);
		expect((await call("GET", path, { token: owner.token })).status).toBe(404);
		expect((await call("GET", `/characters/id/${character.id}`, { token: owner.token })).body.has_avatar).toBe(false);
		expect((await call("DELETE", path, { token: owner.token })).status).toBe(204);
	});

	it("should let only the creator change it: 403 on another's public character, 404 on a private one", async () => {
		const visible = await createCharacter(owner.token, { is_public: true });
		const hidden = await createCharacter(owner.token, { is_public: false });
		const body = await noisePortrait(64, 64);
		const put = (id: string) =>
			call("PUT", `/characters/id/${id}/avatar`, { token: stranger.token, body, type: "image/png" });
		expect((await put(visible.id)).status).toBe(403);
		expect((await put(hidden.id)).status).toBe(404);
		expect((await call("DELETE", `/characters/id/${visible.id}/avatar`, { token: stranger.token })).status).toBe(403);
		expect((await call("GET", `/characters/id/${visible.id}`, { token: owner.token })).body.has_avatar).toBe(false);
	});

	it("should refuse hostile bodies with a clear 4xx and keep the image it had", async () => {
		const character = await createCharacter(owner.token);
		const path = `/characters/id/${character.id}/avatar`;
		await call("PUT", path, { token: owner.token, body: await noisePortrait(100, 100), type: "image/png" });
		const before = await call("GET", path, { token: owner.token });
		const bomb = Buffer.from(await noisePortrait(1, 1));
		bomb.writeUInt32BE(100_000, 16);
		bomb.writeUInt32BE(100_000, 20);
		bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)) >>> 0, 29);
		const cases: [string, Buffer, string, number, string][] = [
			["not an image", Buffer.from("hello, I am text"), "image/png", 422, "INVALID_IMAGE"],
			["a decompression bomb", bomb, "image/png", 422, "IMAGE_TOO_LARGE"],
			["too big", Buffer.alloc(9 * 1024 * 1024), "image/png", 413, "PAYLOAD_TOO_LARGE"],
			["wrong content type", await noisePortrait(10, 10), "application/json", 415, "UNSUPPORTED_MEDIA_TYPE"],
			[
				"a GIF",
				await sharp(await noisePortrait(10, 10))
					.gif()
					.toBuffer(),
				"image/png",
				422,
				"INVALID_IMAGE",
			],
		];
		for (const [name, body, type, status, code] of cases) {
			const res = await call("PUT", path, { token: owner.token, body, type });
			expect([name, res.status, res.body?.code, typeof res.body?.detail]).toEqual([name, status, code, "string"]);
		}
		const after = await call("GET", path, { token: owner.token });
		expect(after.bytes.equals(before.bytes)).toBe(true);
	});
});
