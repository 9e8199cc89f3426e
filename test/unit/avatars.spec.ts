import { describe, expect, it } from "vitest";
import {
	AVATAR_STORED_SIDE,
	avatarEtag,
	avatarSize,
	avatarUploadType,
	derivedAvatarKey,
	etagMatches,
} from "../../src/domain/avatars.js";
import { MAX_AVATAR_BYTES } from "../../src/domain/card-png.js";

const id = "0b6c2a8e-4f3e-4d7a-9a55-1c2d3e4f5a6b";

describe("avatar sizes", () => {
	it("should take 64, 128 and 256 (as numbers or query strings), 128 when none is given", () => {
		expect([avatarSize(64), avatarSize("128"), avatarSize("256"), avatarSize(undefined)]).toEqual([64, 128, 256, 128]);
		for (const bad of [0, 100, 1024, "abc", -128, 128.5]) expect(avatarSize(bad)).toBeUndefined();
	});

	it("should store uploads small enough that even noise fits the avatar limit as a PNG", () => {
		expect(AVATAR_STORED_SIDE ** 2 * 4 + AVATAR_STORED_SIDE + 64 * 1024).toBeLessThan(MAX_AVATAR_BYTES);
	});
});

describe("avatar ETags", () => {
	const updated = new Date("2026-12-07T08:00:00.000Z");

	it("should differ per size and per version, and be a quoted strong tag", () => {
		const tag = avatarEtag(id, updated, 64);
		expect(tag).toMatch(/^"[^"]+"$/);
		expect(avatarEtag(id, updated, 128)).not.toBe(tag);
		expect(avatarEtag(id, new Date(updated.getTime() + 1), 64)).not.toBe(tag);
		expect(avatarEtag(id, updated.toISOString(), 64)).toBe(tag);
	});

	it("should match If-None-Match lists, weak tags and *, and nothing else", () => {
		const tag = avatarEtag(id, updated, 64);
		expect(etagMatches(tag, tag)).toBe(true);
		expect(etagMatches(`"a", W/${tag}`, tag)).toBe(true);
		expect(etagMatches("*", tag)).toBe(true);
		expect(etagMatches(undefined, tag)).toBe(false);
		expect(etagMatches("", tag)).toBe(false);
		expect(etagMatches(avatarEtag(id, updated, 128), tag)).toBe(false);
		expect(etagMatches(tag.slice(1, -1), tag)).toBe(false);
	});

	it("should key the derived cache by character, version and size", () => {
		const keys = new Set([
			derivedAvatarKey(id, updated, 64),
			derivedAvatarKey(id, updated, 128),
			derivedAvatarKey(id, new Date(updated.getTime() + 1), 64),
			derivedAvatarKey(id.replace("0b", "0c"), updated, 64),
		]);
		expect(keys.size).toBe(4);
	});
});

describe("avatar upload types", () => {
	it("should take PNG, JPEG and WebP, with parameters and in any case", () => {
		expect(avatarUploadType("image/png")).toBe("image/png");
		expect(avatarUploadType("IMAGE/JPEG; charset=binary")).toBe("image/jpeg");
		expect(avatarUploadType("image/webp")).toBe("image/webp");
		for (const bad of [undefined, "", "image/gif", "application/json", "image/png+xml", "text/plain"])
			expect(avatarUploadType(bad)).toBeUndefined();
	});
});
