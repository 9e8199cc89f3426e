import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { revokedBy, type TokensRevokedPayload } from "../../src/domain/accounts.js";
import { archiveFileName, archiveName, imageExtension } from "../../src/domain/account-archive.js";
import { zipStream, type ArchiveEntry } from "../../src/adapters/account-export.js";
import { unzip } from "../support/unzip.js";
import { parseRoute } from "../../web/src/routes.js";

const A = "11111111-1111-4111-8111-111111111111";
const B = "22222222-2222-4222-8222-222222222222";

describe("revokedBy", () => {
	const alice = (tokenId?: string) => ({ username: "alice", tokenId });

	it("should take one token's sockets on logout, and no one else's", () => {
		const logout: TokensRevokedPayload = { username: "alice", token_id: A, reason: "Logged out" };
		expect(revokedBy(logout, alice(A))).toBe(true);
		expect(revokedBy(logout, alice(B))).toBe(false);
		expect(revokedBy(logout, alice())).toBe(false);
		expect(revokedBy(logout, { username: "bob", tokenId: A })).toBe(false);
	});

	it("should take all of a user's sockets but the kept token's on a password change, and all on deletion", () => {
		const changed: TokensRevokedPayload = { username: "alice", except_token_id: B, reason: "Password changed" };
		expect(revokedBy(changed, alice(A))).toBe(true);
		expect(revokedBy(changed, alice())).toBe(true);
		expect(revokedBy(changed, alice(B))).toBe(false);
		const deleted: TokensRevokedPayload = { username: "alice", api_keys: true, reason: "Account deleted" };
		expect(revokedBy(deleted, alice(A))).toBe(true);
		expect(revokedBy(deleted, alice(B))).toBe(true);
		expect(revokedBy(deleted, { username: "alicia", tokenId: A })).toBe(false);
	});

	it("should leave API keys' sockets open on a password change or reset, and close them on revocation or deletion", () => {
		const key = { username: "alice", tokenId: A, apiKey: true };
		const changed: TokensRevokedPayload = { username: "alice", except_token_id: B, reason: "Password changed" };
		const reset: TokensRevokedPayload = { username: "alice", reason: "Password reset" };
		expect(revokedBy(changed, key)).toBe(false);
		expect(revokedBy(reset, key)).toBe(false);
		expect(revokedBy(reset, alice(B))).toBe(true);
		expect(revokedBy({ username: "alice", token_id: A, reason: "API key revoked" }, key)).toBe(true);
		expect(revokedBy({ username: "alice", token_id: B, reason: "API key revoked" }, key)).toBe(false);
		expect(revokedBy({ username: "alice", api_keys: true, reason: "Account deleted" }, key)).toBe(true);
	});
});

describe("account archive names", () => {
	it("should name files readably and apart by id, whatever the name", () => {
		expect(archiveName("Mira the Cartographer", A)).toBe("mira-the-cartographer-11111111");
		expect(archiveName("../../etc/passwd", B)).toBe("etc-passwd-22222222");
		expect(archiveName("日本", A)).toMatch(/^[a-z0-9-]*-11111111$/);
		expect(archiveName("", A)).toMatch(/^[a-z0-9-]+-11111111$/);
		expect(archiveFileName("alice", new Date("2026-12-07T18:00:00Z"))).toBe("cameo-alice-2026-12-07.zip");
	});

	it("should tell PNG, JPEG and WebP images from their bytes", () => {
		expect(imageExtension(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]))).toBe("png");
		expect(imageExtension(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("jpg");
		expect(imageExtension(Buffer.from("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp");
		expect(imageExtension(Buffer.from("GIF89a"))).toBe("bin");
	});
});

describe("zipStream", () => {
	async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
		return Buffer.concat(chunks);
	}

	it("should write every entry, in order, and read the next only once the zip took the previous one", async () => {
		const read: string[] = [];
		// Incompressible, so the zip's bytes fill the streams' buffers as they would for a big account.
		const noise = randomBytes(100_000);
		async function* entries(): AsyncGenerator<ArchiveEntry> {
			for (let i = 0; i < 8; i += 1) {
				read.push(`read ${i}`);
				yield { path: `noise-${i}.bin`, data: noise };
			}
			for (let i = 0; i < 5; i += 1) yield { path: `dir/file-${i}.txt`, data: `content ${i} `.repeat(1000) };
			yield { path: "image.png", data: Buffer.from([0x89, 0x50, 0x4e, 0x47]) };
		}
		const out = zipStream(entries(), (err) => {
			throw err;
		});
		// Nobody reads the zip yet: a few entries are read ahead into the streams' buffers, never the whole account.
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(read.length).toBeLessThan(5);
		const files = unzip(await collect(out));
		const names = [...Array(8).keys()].map((i) => `noise-${i}.bin`);
		expect([...files.keys()]).toEqual([...names, ...[0, 1, 2, 3, 4].map((i) => `dir/file-${i}.txt`), "image.png"]);
		expect(files.get("noise-7.bin")).toEqual(noise);
		expect(files.get("dir/file-3.txt")!.toString()).toBe("content 3 ".repeat(1000));
		expect(files.get("image.png")).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
	});

	it("should end the stream with an error when reading fails half-way", async () => {
		const failures: unknown[] = [];
		async function* entries(): AsyncGenerator<ArchiveEntry> {
			yield { path: "a.txt", data: "a" };
			throw new Error("database gone");
		}
		const out = zipStream(entries(), (err) => failures.push(err));
		await expect(collect(out)).rejects.toThrow("database gone");
		expect(failures).toHaveLength(1);
	});
});

describe("the account page's address", () => {
	it("should be #/account, and nothing below it", () => {
		expect(parseRoute("#/account")).toEqual({ name: "account" });
		expect(parseRoute("#/account/")).toEqual({ name: "account" });
		expect(parseRoute("#/account/delete")).toEqual({ name: "not-found" });
	});
});
