import { describe, it, expect } from "vitest";
import {
	DEFAULT_PARAMS,
	dummyVerify,
	hashPassword,
	HashingBusyError,
	needsRehash,
	setHashingLimits,
	verifyPassword,
} from "../../src/domain/passwords.js";

// Cheap parameters where the test is about the format, not the cost.
const FAST = { logN: 10, r: 8, p: 1 };

describe("passwords", () => {
	it("should hash with the OWASP parameters in a self-describing format and verify the round trip", async () => {
		const stored = await hashPassword("correct horse battery staple");
		expect(stored).toMatch(/^scrypt\$17\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{86}==$/);
		expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
		expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
		expect(needsRehash(stored)).toBe(false);
	});

	it("should salt every hash", async () => {
		const [a, b] = await Promise.all([hashPassword("same", FAST), hashPassword("same", FAST)]);
		expect(a).not.toBe(b);
		expect(await verifyPassword("same", a)).toBe(true);
		expect(await verifyPassword("same", b)).toBe(true);
	});

	it("should verify hashes made with other parameters and flag them for rehashing", async () => {
		const stored = await hashPassword("pässword", FAST);
		expect(stored.startsWith("scrypt$10$8$1$")).toBe(true);
		expect(await verifyPassword("pässword", stored)).toBe(true);
		// NFKC: the same text typed with a combining diaeresis matches.
		expect(await verifyPassword("pa\u0308ssword", stored)).toBe(true);
		expect(needsRehash(stored)).toBe(true);
		expect(needsRehash(stored, FAST)).toBe(false);
	});

	it("should return false, never throw, for a malformed stored hash", async () => {
		const good = await hashPassword("secret-password", FAST);
		const [, logN, r, p, salt, hash] = good.split("$");
		const malformed: unknown[] = [
			"",
			"garbage",
			"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", // bcrypt
			`argon2$${logN}$${r}$${p}$${salt}$${hash}`,
			`scrypt$${logN}$${r}$${p}$${salt}`,
			`scrypt$${logN}$${r}$${p}$${salt}$${hash}$extra`,
			`scrypt$x$${r}$${p}$${salt}$${hash}`,
			`scrypt$0$${r}$${p}$${salt}$${hash}`,
			`scrypt$40$${r}$${p}$${salt}$${hash}`, // would need terabytes
			`scrypt$${logN}$0$${p}$${salt}$${hash}`,
			`scrypt$${logN}$${r}$-1$${salt}$${hash}`,
			`scrypt$${logN}$${r}$${p}$not*base64$${hash}`,
			`scrypt$${logN}$${r}$${p}$${salt}$`,
			`scrypt$${logN}$${r}$${p}$${salt}$AAAA`, // 3-byte hash
			null,
			undefined,
			42,
		];
		for (const stored of malformed) {
			await expect(verifyPassword("secret-password", stored as string)).resolves.toBe(false);
			expect(needsRehash(stored as string)).toBe(true);
		}
		// A tampered hash of the right length is simply a mismatch.
		const flipped = Buffer.from(hash, "base64");
		flipped[0] ^= 1;
		expect(
			await verifyPassword("secret-password", [`scrypt`, logN, r, p, salt, flipped.toString("base64")].join("$")),
		).toBe(false);
	});

	it("should make dummyVerify do the real scrypt work", async () => {
		const start = performance.now();
		expect(await dummyVerify("whatever-password")).toBe(false);
		// Not a benchmark: N=2^17 scrypt takes hundreds of ms anywhere; an early return would take well under 1 ms.
		expect(performance.now() - start).toBeGreaterThan(20);
		expect(DEFAULT_PARAMS).toEqual({ logN: 17, r: 8, p: 1 });
	});

	it("should refuse a hash at once when the bounded queue is full, and serve the others", async () => {
		setHashingLimits({ concurrency: 1, maxWaiting: 1 });
		try {
			const stored = await hashPassword("queued", FAST);
			const results = await Promise.allSettled([
				hashPassword("a", FAST),
				verifyPassword("queued", stored),
				dummyVerify("c"),
			]);
			expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
			expect((results[1] as PromiseFulfilledResult<boolean>).value).toBe(true);
			expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(HashingBusyError);
			// Slots and queue are free again afterwards.
			await expect(Promise.all([hashPassword("d", FAST), hashPassword("e", FAST)])).resolves.toHaveLength(2);
		} finally {
			setHashingLimits({ concurrency: 2, maxWaiting: 8 });
		}
	});
});
