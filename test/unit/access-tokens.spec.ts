import { afterEach, describe, it, expect, vi } from "vitest";
import { createHmac } from "node:crypto";
import jwt from "jsonwebtoken";
import {
	InvalidTokenError,
	legacyTokenId,
	signAccessToken,
	verifyAccessToken,
} from "../../src/domain/access-tokens.js";
import { isUuid } from "../../src/domain/uuid.js";

const SECRET = "unit-test-secret-that-is-at-least-32-chars";
const SUBJECT = { userId: "0b0c6a5e-4f7e-4a51-9d43-5a2f1f0d9c11", username: "alice" };

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A correctly HS256-signed token with exactly these claims (jsonwebtoken's sign would refuse some of them). */
function signRaw(claims: object, secret = SECRET): string {
	const body = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}`;
	return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

function expectInvalid(token: string, reason: "expired" | "invalid", secret = SECRET) {
	try {
		verifyAccessToken(token, secret);
	} catch (err) {
		expect(err).toBeInstanceOf(InvalidTokenError);
		expect((err as InvalidTokenError).reason).toBe(reason);
		return;
	}
	throw new Error("token was accepted");
}

describe("tokens", () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it("should sign HS256 tokens with sub, uid, iat, exp, jti and gen and verify the round trip", () => {
		const token = signAccessToken({ ...SUBJECT, generation: 3 }, SECRET, 1800);
		expect(JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
		const claims = verifyAccessToken(token, SECRET);
		expect(claims).toEqual({
			sub: "alice",
			uid: SUBJECT.userId,
			iat: expect.any(Number),
			exp: claims.iat + 1800,
			jti: expect.any(String),
			gen: 3,
		});
		expect(isUuid(claims.jti)).toBe(true);
		expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(5);
	});

	it("should give every token its own id, even two signed in the same second", () => {
		const ids = new Set(
			Array.from({ length: 20 }, () => verifyAccessToken(signAccessToken(SUBJECT, SECRET, 60), SECRET).jti),
		);
		expect(ids.size).toBe(20);
		expect(verifyAccessToken(signAccessToken(SUBJECT, SECRET, 60), SECRET).gen).toBe(0);
	});

	it("should give a token from before ids a stable UUID-shaped id of its own, and generation 0", () => {
		const now = Math.floor(Date.now() / 1000);
		const old = signRaw({ sub: "alice", uid: SUBJECT.userId, iat: now, exp: now + 600 });
		const other = signRaw({ sub: "alice", uid: SUBJECT.userId, iat: now - 1, exp: now + 600 });
		const claims = verifyAccessToken(old, SECRET);
		expect(claims.jti).toBe(legacyTokenId(old));
		expect(isUuid(claims.jti)).toBe(true);
		expect(claims.gen).toBe(0);
		expect(verifyAccessToken(other, SECRET).jti).not.toBe(claims.jti);
	});

	it("should refuse an expired token with reason 'expired'", () => {
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(new Date("2024-01-01T00:00:00Z"));
		const token = signAccessToken(SUBJECT, SECRET, 60);
		vi.setSystemTime(new Date("2024-01-01T00:00:59Z"));
		expect(verifyAccessToken(token, SECRET).sub).toBe("alice");
		vi.setSystemTime(new Date("2024-01-01T00:01:01Z"));
		expectInvalid(token, "expired");
	});

	it("should refuse a token signed with another secret", () => {
		expectInvalid(signAccessToken(SUBJECT, "another-secret-that-is-also-32-chars-long", 60), "invalid");
	});

	it("should refuse an unsigned alg:none token", () => {
		const now = Math.floor(Date.now() / 1000);
		const payload = b64url({ sub: "alice", uid: SUBJECT.userId, iat: now, exp: now + 600 });
		expectInvalid(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.`, "invalid");
		expectInvalid(`${b64url({ alg: "none" })}.${payload}`, "invalid");
	});

	it("should refuse a token whose payload was tampered with", () => {
		const [header, , signature] = signAccessToken(SUBJECT, SECRET, 60).split(".");
		const now = Math.floor(Date.now() / 1000);
		const forged = b64url({ sub: "admin", uid: SUBJECT.userId, iat: now, exp: now + 600 });
		expectInvalid(`${header}.${forged}.${signature}`, "invalid");
	});

	it("should refuse other algorithms even with the right secret", () => {
		const token = jwt.sign({ sub: "alice", uid: SUBJECT.userId }, SECRET, { algorithm: "HS512", expiresIn: 60 });
		expectInvalid(token, "invalid");
	});

	it("should refuse validly signed tokens with missing or wrong claims", () => {
		const now = Math.floor(Date.now() / 1000);
		const good = { sub: "alice", uid: SUBJECT.userId, iat: now, exp: now + 600 };
		const bad: object[] = [
			{ ...good, exp: undefined }, // would never expire
			{ ...good, iat: undefined },
			{ ...good, sub: undefined },
			{ ...good, sub: 42 },
			{ ...good, sub: "" },
			{ ...good, uid: undefined },
			{ ...good, uid: "not-a-uuid" },
			{ ...good, uid: 7 },
			{ ...good, exp: "tomorrow" },
			{ ...good, jti: "not-a-uuid" },
			{ ...good, jti: 5 },
			{ ...good, gen: -1 },
			{ ...good, gen: 1.5 },
			{ ...good, gen: "1" },
		];
		for (const claims of bad) expectInvalid(signRaw(claims), "invalid");
		expectInvalid(signRaw(["alice"]), "invalid");
		const withId = { ...good, jti: "7d6f1c2a-1b2c-4d3e-8f40-5a6b7c8d9e0f", gen: 2 };
		expect(verifyAccessToken(signRaw(withId), SECRET)).toEqual(withId);
	});

	it("should refuse garbage", () => {
		for (const token of ["", "abc", "a.b.c", "..", `${"x".repeat(100)}.${"y".repeat(100)}.${"z".repeat(43)}`]) {
			expectInvalid(token, "invalid");
		}
		expectInvalid(123 as unknown as string, "invalid");
	});

	it("should refuse to sign or verify with an empty secret or a bad ttl", () => {
		expect(() => signAccessToken(SUBJECT, "", 60)).toThrow(/secret/);
		expect(() => verifyAccessToken("a.b.c", "")).toThrow(/secret/);
		expect(() => signAccessToken(SUBJECT, SECRET, 0)).toThrow(/ttl/);
		expect(() => signAccessToken(SUBJECT, SECRET, 1.5)).toThrow(/ttl/);
	});
});
