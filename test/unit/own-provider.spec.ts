/**
 * Users' own provider keys (issue 17): the key's encryption, what `base_url` may be, the address policy, the fetch
 * that applies it at every connection (DNS rebinding, redirects), and the embedded secrets file gaining SECRETS_KEY.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	decryptKey,
	encryptKey,
	literalAddress,
	normalizeBaseUrl,
	parseSecretsKey,
} from "../../src/domain/own-provider.js";
import { judgeAddress } from "../../src/domain/provider-address.js";
import { checkedAddresses, guardedFetch, type Resolve } from "../../src/adapters/llm/guarded-fetch.js";
import { loadOrCreateLocalSecrets } from "../../src/adapters/local-secrets.js";
import { loadConfig } from "../../src/config.js";

const KEY = Buffer.alloc(32, 7);
const USER = "0b6c5a4e-1f1e-4d2b-9a55-3f0f7c1d2e3f";

describe("own provider keys at rest", () => {
	it("should decrypt what it encrypted, for the same user and SECRETS_KEY only", () => {
		const sealed = encryptKey(KEY, USER, "sk-my-own-key-1234");
		expect(sealed).not.toContain("sk-my-own-key");
		expect(decryptKey(KEY, USER, sealed)).toBe("sk-my-own-key-1234");
		// A fresh IV each time: the same key never seals to the same text.
		expect(encryptKey(KEY, USER, "sk-my-own-key-1234")).not.toBe(sealed);
		expect(() => decryptKey(Buffer.alloc(32, 8), USER, sealed)).toThrow();
		expect(() => decryptKey(KEY, "another-user", sealed)).toThrow();
		const [format, iv, tag, data] = sealed.split(".");
		const flipped = Buffer.from(data, "base64url");
		flipped[0] ^= 1;
		expect(() => decryptKey(KEY, USER, [format, iv, tag, flipped.toString("base64url")].join("."))).toThrow();
	});

	it("should take SECRETS_KEY as 64 hex characters or 32 bytes of base64, and nothing shorter", () => {
		expect(parseSecretsKey("ab".repeat(32))?.length).toBe(32);
		expect(parseSecretsKey(Buffer.alloc(32, 1).toString("base64"))?.length).toBe(32);
		expect(parseSecretsKey("ab".repeat(16))).toBeUndefined();
		expect(parseSecretsKey("not a key")).toBeUndefined();
		const cluster = { CAMEO_MODE: "cluster", TRANSPORTER: "redis://x", JWT_SECRET: "j".repeat(32) };
		const env = { ...cluster, DATABASE_URL: "postgres://x/y", AMQP_URL: "amqp://x", REDIS_URL: "redis://x" };
		expect(() => loadConfig({ ...env, SERVICES: "ai-consumer" })).toThrow(/SECRETS_KEY/);
		expect(() => loadConfig({ ...env, SERVICES: "own-provider" })).toThrow(/SECRETS_KEY/);
		expect(() => loadConfig({ ...env, SERVICES: "ai-consumer", SECRETS_KEY: "short" })).toThrow(/32 bytes/);
		expect(loadConfig({ ...env, SERVICES: "api" }).secretsKey).toBeUndefined();
		expect(loadConfig({ ...env, SERVICES: "ai-consumer", SECRETS_KEY: "ab".repeat(32) }).secretsKey?.length).toBe(32);
	});
});

describe("base_url", () => {
	it.each([
		["http://localhost:11434/v1/", "http://localhost:11434/v1"],
		["https://api.example.com/v1", "https://api.example.com/v1"],
		["HTTPS://API.EXAMPLE.COM", "https://api.example.com/"],
	])("should take %s as %s", (raw, url) => {
		const normalized = normalizeBaseUrl("openai", raw);
		expect("url" in normalized && normalized.url.toString()).toBe(url);
	});

	it.each([
		["openai", "file:///etc/passwd", /http or https/],
		["openai", "ftp://example.com/", /http or https/],
		["openai", "http://user:pw@example.com/v1", /user name or password/],
		["openai", "http://example.com/v1#x", /fragment/],
		["openai", "not a url", /not a URL/],
		["gemini", "https://generativelanguage.googleapis.com", /openai/],
	] as const)("should refuse %s %s", (provider, raw, reason) => {
		const normalized = normalizeBaseUrl(provider, raw);
		expect("refusal" in normalized && normalized.refusal).toMatch(reason);
	});

	it("should see IP literals in every spelling the URL parser turns into one", () => {
		const host = (raw: string) => literalAddress(new URL(raw));
		expect(host("http://2130706433/")).toBe("127.0.0.1");
		expect(host("http://0x7f.1/")).toBe("127.0.0.1");
		expect(host("http://[::ffff:a9fe:a9fe]/")).toBe("::ffff:a9fe:a9fe");
		expect(host("http://example.com/")).toBeUndefined();
	});
});

describe("the address policy", () => {
	it.each([
		"169.254.169.254",
		"169.254.0.1",
		"fd00:ec2::254",
		"168.63.129.16",
		"100.100.100.200",
		"192.0.0.192",
		"::ffff:169.254.169.254",
		"::ffff:a9fe:a9fe",
		"64:ff9b::a9fe:a9fe",
		"2002:a9fe:a9fe::1",
		"fe80::1",
		"0.0.0.0",
		"::",
		"224.0.0.1",
		"255.255.255.255",
		"2001::1",
	])("should always refuse %s", (address) => {
		expect(judgeAddress(address, false).allowed).toBe(false);
		expect(judgeAddress(address, true).allowed).toBe(false);
	});

	it.each(["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.10", "100.64.0.1", "fd12::1", "::ffff:127.0.0.1"])(
		"should refuse %s unless the operator allows private addresses",
		(address) => {
			expect(judgeAddress(address, false)).toMatchObject({
				allowed: false,
				reason: expect.stringMatching(/ALLOW_PRIVATE/),
			});
			expect(judgeAddress(address, true).allowed).toBe(true);
		},
	);

	it.each(["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])("should allow the public address %s", (address) => {
		expect(judgeAddress(address, false).allowed).toBe(true);
	});

	it("should refuse a name when any address it resolves to is refused", async () => {
		const resolve: Resolve = async () => [
			{ address: "8.8.8.8", family: 4 },
			{ address: "169.254.169.254", family: 4 },
		];
		await expect(checkedAddresses("mixed.example", true, resolve)).rejects.toThrow(/metadata/);
		await expect(checkedAddresses("nothing.example", true, async () => [])).rejects.toThrow(/does not resolve/);
	});
});

describe("the guarded fetch", () => {
	let server: Server;
	let port = 0;
	beforeAll(async () => {
		server = createServer((req, res) => {
			if (req.url === "/redirect-to-metadata") {
				res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
				return;
			}
			res.end("hello");
		});
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		port = (server.address() as AddressInfo).port;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it("should reach a private server only when the operator allows it", async () => {
		expect(await (await guardedFetch(true)(`http://127.0.0.1:${port}/`)).text()).toBe("hello");
		await expect(guardedFetch(false)(`http://127.0.0.1:${port}/`)).rejects.toThrow();
		await expect(guardedFetch(false)(`http://localhost:${port}/`)).rejects.toThrow();
	});

	it("should judge the address a name resolves to at each new connection (DNS rebinding)", async () => {
		let answer = "127.0.0.1";
		const resolve: Resolve = async () => [{ address: answer, family: 4 }];
		const fetchIt = guardedFetch(true, resolve);
		// A new connection each time: the server closes it.
		const once = () => fetchIt(`http://rebind.example:${port}/`, { headers: { connection: "close" } });
		expect((await once()).status).toBe(200);
		answer = "169.254.169.254";
		const refusal = await once().catch((err: Error) => err);
		expect(refusal).toBeInstanceOf(Error);
		expect(String((refusal as Error).cause)).toMatch(/metadata/);
	});

	it("should refuse a redirect to a refused address", async () => {
		const refusal = await guardedFetch(true)(`http://127.0.0.1:${port}/redirect-to-metadata`).catch((e: Error) => e);
		expect(refusal).toBeInstanceOf(Error);
		expect(String((refusal as Error).cause)).toMatch(/metadata/);
	});
});

describe("the embedded secrets file", () => {
	it("should gain a SECRETS_KEY, keeping the secrets it held", async () => {
		const dir = await mkdtemp(path.join(tmpdir(), "cameo-secrets-"));
		try {
			const file = path.join(dir, "secrets.json");
			await writeFile(file, JSON.stringify({ jwtSecret: "j".repeat(64), postgresPassword: "pg" }), { mode: 0o600 });
			const secrets = await loadOrCreateLocalSecrets(dir);
			expect(secrets).toMatchObject({ jwtSecret: "j".repeat(64), postgresPassword: "pg" });
			expect(secrets.secretsKey).toMatch(/^[0-9a-f]{64}$/);
			expect(JSON.parse(await readFile(file, "utf8"))).toEqual(secrets);
			expect((await stat(file)).mode & 0o777).toBe(0o600);
			expect(await loadOrCreateLocalSecrets(dir)).toEqual(secrets);
			// Many processes starting at once on a fresh directory agree on one set.
			const fresh = path.join(dir, "fresh");
			const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateLocalSecrets(fresh)));
			for (const s of all) expect(s).toEqual(all[0]);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
