import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/domain/access-tokens.js";
import {
	API_KEY_PREFIX,
	apiKeyHint,
	hashApiKey,
	isApiKeyToken,
	isWellFormedApiKey,
	lastUseStale,
	LAST_USED_RESOLUTION_MS,
	newApiKey,
	toApiKeyView,
} from "../../src/domain/api-keys.js";

describe("API keys", () => {
	it("should make distinct keys of the prefix and 32 random bytes in base64url", () => {
		const keys = new Set(Array.from({ length: 200 }, newApiKey));
		expect(keys.size).toBe(200);
		for (const key of keys) {
			expect(key).toMatch(/^cameo_sk_[A-Za-z0-9_-]{43}$/);
			expect(Buffer.from(key.slice(API_KEY_PREFIX.length), "base64url")).toHaveLength(32);
			expect(isApiKeyToken(key) && isWellFormedApiKey(key)).toBe(true);
		}
	});

	it("should never take a JWT for a key", () => {
		const jwt = signAccessToken({ userId: "0b0c6a5e-4f7e-4a51-9d43-5a2f1f0d9c11", username: "a" }, "x".repeat(32), 60);
		expect(isApiKeyToken(jwt)).toBe(false);
	});

	it("should refuse keys that newApiKey cannot have made", () => {
		const key = newApiKey();
		for (const bad of [
			API_KEY_PREFIX,
			`${key}A`,
			key.slice(0, -1),
			`${key.slice(0, -1)}+`,
			`${key.slice(0, -1)}=`,
			`${key.slice(0, -1)}\u0000`,
			` ${key}`,
			key.toUpperCase(),
			`CAMEO_SK_${key.slice(API_KEY_PREFIX.length)}`,
		])
			expect(isWellFormedApiKey(bad), bad).toBe(false);
	});

	it("should store a digest that differs per key and never contains it", () => {
		const [a, b] = [newApiKey(), newApiKey()];
		expect(hashApiKey(a)).toMatch(/^[0-9a-f]{64}$/);
		expect(hashApiKey(a)).toBe(hashApiKey(a));
		expect(hashApiKey(a)).not.toBe(hashApiKey(b));
		expect(hashApiKey(a)).not.toContain(a.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 8));
		expect(apiKeyHint(a)).toBe(a.slice(-4));
	});

	it("should record a use again only once a minute has passed", () => {
		const now = Date.now();
		expect(lastUseStale(null, now)).toBe(true);
		expect(lastUseStale(new Date(now - 5_000), now)).toBe(false);
		expect(lastUseStale(new Date(now - LAST_USED_RESOLUTION_MS), now)).toBe(true);
	});

	it("should list a key by its hint, never the key", () => {
		const created = new Date("2026-01-02T03:04:05Z");
		const view = toApiKeyView({ id: "k", name: "Bot", hint: "abcd", created_at: created, last_used_at: null });
		expect(view).toEqual({ id: "k", name: "Bot", hint: "abcd", created_at: created.toISOString(), last_used_at: null });
	});
});
