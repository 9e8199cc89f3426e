/**
 * The REST surface over real HTTP: gateway + auth + characters on one broker, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";

let broker: ServiceBroker;
let base = "";

beforeAll(async () => {
	await ensureWebBuild();
	broker = createBroker(testConfig({ SERVICES: "api,auth,characters", AUTH_RATE_LIMIT: "1000" }), { logger: false });
	await broker.start();
	base = gatewayOrigin(broker);
});

afterAll(() => broker.stop());

async function call(
	method: string,
	path: string,
	opts: { token?: string; json?: unknown; form?: string; raw?: string } = {},
) {
	const headers: Record<string, string> = {};
	let body: string | undefined;
	if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
	if (opts.json !== undefined) {
		headers["Content-Type"] = "application/json";
		body = JSON.stringify(opts.json);
	}
	if (opts.form !== undefined) {
		headers["Content-Type"] = "application/x-www-form-urlencoded";
		body = opts.form;
	}
	if (opts.raw !== undefined) {
		headers["Content-Type"] = "application/json";
		body = opts.raw;
	}
	const res = await fetch(base + path, { method, headers, body });
	const text = await res.text();
	return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text };
}

async function registerAndLogin(name = uniqueName()) {
	const password = "a long enough password";
	const reg = await call("POST", "/register", { json: { username: name, name: "Test User", password } });
	expect(reg.status).toBe(201);
	const login = await call("POST", "/login", {
		form: `username=${name}&password=${encodeURIComponent(password)}&grant_type=password`,
	});
	expect(login.status).toBe(200);
	return { username: name, id: reg.body.id as string, token: login.body.access_token as string };
}

describe("auth endpoints", () => {
	it("should register, log in with the OAuth2 form and with JSON, and return me", async () => {
		const username = uniqueName();
		const reg = await call("POST", "/register", { json: { username, name: "Ada", password: "password123" } });
		expect(reg).toMatchObject({ status: 201, body: { username, name: "Ada", id: expect.any(String) } });
		expect(reg.body).not.toHaveProperty("hashed_password");

		const form = await call("POST", "/login", {
			form: `grant_type=password&username=${username}&password=password123&scope=`,
		});
		expect(form).toMatchObject({ status: 200, body: { token_type: "bearer", access_token: expect.any(String) } });
		const json = await call("POST", "/login", { json: { username, password: "password123" } });
		expect(json.status).toBe(200);

		const me = await call("GET", "/me", { token: json.body.access_token });
		expect(me).toMatchObject({ status: 200, body: { id: reg.body.id, username, name: "Ada" } });
	});

	it("should refuse a duplicate username with 409", async () => {
		const { username } = await registerAndLogin();
		const dup = await call("POST", "/register", { json: { username, name: "Other", password: "password123" } });
		expect(dup).toMatchObject({ status: 409, body: { code: "USER_EXISTS", detail: expect.any(String) } });
	});

	it("should answer wrong credentials with 401 and WWW-Authenticate", async () => {
		const res = await call("POST", "/login", { form: "username=nobody_here&password=whatever1" });
		expect(res).toMatchObject({ status: 401, body: { code: "INVALID_CREDENTIALS" } });
		expect(res.headers.get("www-authenticate")).toBe("Bearer");
	});

	it("should keep the seed's internal /token and /validate endpoints", async () => {
		const { username, token } = await registerAndLogin();
		const tokenRes = await call("POST", "/token", { form: `username=${username}&password=a+long+enough+password` });
		expect(tokenRes).toMatchObject({ status: 200, body: { token_type: "bearer" } });
		const validated = await call("POST", "/validate", { json: { token } });
		expect(validated).toMatchObject({ status: 200, body: { username } });
		const viaHeader = await call("POST", "/validate", { token });
		expect(viaHeader).toMatchObject({ status: 200, body: { username } });
		const forged = await call("POST", "/validate", { json: { token: token.slice(0, -4) + "AAAA" } });
		expect(forged).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
	});

	it("should answer bad input with a JSON 4xx and never a stack trace", async () => {
		const cases: { path: string; raw?: string; json?: unknown; status: number; code: string }[] = [
			{ path: "/register", raw: '{"username": "abc",', status: 400, code: "INVALID_JSON" },
			{ path: "/register", json: {}, status: 422, code: "VALIDATION_ERROR" },
			{ path: "/register", json: { username: 42, name: [], password: true }, status: 422, code: "VALIDATION_ERROR" },
			{
				path: "/register",
				json: { username: "x".repeat(10_000), name: "n", password: "password123" },
				status: 422,
				code: "VALIDATION_ERROR",
			},
			{
				path: "/register",
				json: { username: "ünïcødé", name: "n", password: "password123" },
				status: 422,
				code: "VALIDATION_ERROR",
			},
			{
				path: "/register",
				json: { username: "x'; DROP TABLE users;--", name: "n", password: "password123" },
				status: 422,
				code: "VALIDATION_ERROR",
			},
			{
				path: "/register",
				raw: JSON.stringify({ username: "big", name: "x".repeat(20_000), password: "password123" }),
				status: 413,
				code: "PAYLOAD_TOO_LARGE",
			},
			{ path: "/login", json: { username: ["a"], password: {} }, status: 422, code: "VALIDATION_ERROR" },
		];
		for (const c of cases) {
			const res = await call("POST", c.path, { raw: c.raw, json: c.json });
			expect({ path: c.path, status: res.status, code: res.body?.code }).toEqual({
				path: c.path,
				status: c.status,
				code: c.code,
			});
			expect(typeof res.body.detail).toBe("string");
			expect(res.text).not.toMatch(/at .*\.(js|ts):\d+|node_modules/);
		}
		const health = await call("GET", "/health");
		expect(health.status).toBe(200);
	});

	it("should answer unknown paths with a JSON 404", async () => {
		const res = await call("GET", "/no/such/thing");
		expect(res).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
	});
});

describe("character endpoints", () => {
	it("should require a bearer token", async () => {
		for (const path of ["/characters", "/api/characters", "/me"]) {
			const res = await call("GET", path);
			expect(res.status, path).toBe(401);
			expect(res.headers.get("www-authenticate")).toBe("Bearer");
		}
		const bad = await call("GET", "/characters", { token: "not.a.jwt" });
		expect(bad.status).toBe(401);
	});

	it("should list the seeded characters and get one by id, also on the seed's /api paths", async () => {
		const { token } = await registerAndLogin();
		const list = await call("GET", "/characters", { token });
		expect(list.status).toBe(200);
		expect(list.body.length).toBeGreaterThanOrEqual(4);
		const first = list.body[0];
		// The list has summaries; the whole character is one GET away.
		expect(first).toMatchObject({ id: expect.any(String), name: expect.any(String), greeting: expect.any(String) });
		expect(first).not.toHaveProperty("system_prompt");

		const one = await call("GET", `/characters/id/${first.id}`, { token });
		expect(one).toMatchObject({ status: 200, body: { id: first.id, system_prompt: expect.any(String) } });
		const legacy = await call("GET", `/api/characters/id/${first.id}`, { token });
		expect(legacy).toMatchObject({ status: 200, body: { id: first.id } });
		expect((await call("GET", "/api/characters", { token })).body.length).toBe(list.body.length);
	});

	it("should answer 404 for an unknown id and 422 for a non-UUID", async () => {
		const { token } = await registerAndLogin();
		const unknown = await call("GET", "/characters/id/00000000-0000-4000-8000-000000000000", { token });
		expect(unknown).toMatchObject({ status: 404, body: { code: "CHARACTER_NOT_FOUND" } });
		const notUuid = await call("GET", "/characters/id/not-a-uuid", { token });
		expect(notUuid).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
	});

	it("should let the creator edit and delete, hide private ones from others, and refuse others' edits", async () => {
		const owner = await registerAndLogin();
		const other = await registerAndLogin();
		const created = await call("POST", "/characters", {
			token: owner.token,
			json: {
				name: "Quiet Archivist",
				system_prompt: "You are a quiet archivist.",
				greeting: "Shh. Welcome.",
				is_public: false,
			},
		});
		expect(created).toMatchObject({
			status: 201,
			body: { name: "Quiet Archivist", is_public: false, created_by: owner.id },
		});
		const id = created.body.id as string;

		expect((await call("GET", `/characters/id/${id}`, { token: other.token })).status).toBe(404);
		const othersList = await call("GET", "/characters", { token: other.token });
		expect(othersList.body.map((c: { id: string }) => c.id)).not.toContain(id);

		const patch = await call("PATCH", `/characters/id/${id}`, {
			token: owner.token,
			json: { is_public: true, description: "Keeper of records" },
		});
		expect(patch).toMatchObject({ status: 200, body: { is_public: true, description: "Keeper of records" } });
		const forbidden = await call("PATCH", `/characters/id/${id}`, { token: other.token, json: { name: "Mine now" } });
		expect(forbidden).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
		expect((await call("DELETE", `/characters/id/${id}`, { token: other.token })).status).toBe(403);

		const del = await call("DELETE", `/characters/id/${id}`, { token: owner.token });
		expect(del.status).toBe(204);
		expect((await call("GET", `/characters/id/${id}`, { token: owner.token })).status).toBe(404);
	});

	it("should create through the seed's POST /api/characters", async () => {
		const { token } = await registerAndLogin();
		const res = await call("POST", "/api/characters", {
			token,
			json: { name: "Legacy Bard", system_prompt: "You sing." },
		});
		expect(res).toMatchObject({
			status: 201,
			body: { name: "Legacy Bard", slug: expect.stringMatching(/^legacy-bard/) },
		});
	});
});

describe("rate limiting", () => {
	it("should answer 429 with Retry-After once a client bursts past the login limit", async () => {
		const limited = createBroker(testConfig({ SERVICES: "api,auth", AUTH_RATE_LIMIT: "3" }), { logger: false });
		await limited.start();
		try {
			const url = `${gatewayOrigin(limited)}/login`;
			const statuses: number[] = [];
			for (let i = 0; i < 5; i++) {
				const res = await fetch(url, {
					method: "POST",
					headers: { "Content-Type": "application/json" },
					body: '{"username":"nobody","password":"nope-nope"}',
				});
				statuses.push(res.status);
				if (res.status === 429) {
					expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
					expect(await res.json()).toMatchObject({ code: "RATE_LIMITED" });
				}
			}
			expect(statuses).toEqual([401, 401, 401, 429, 429]);
		} finally {
			await limited.stop();
		}
	});
});

describe("browser hardening", () => {
	const SECURITY = ["content-security-policy", "x-content-type-options", "referrer-policy"];

	it("should send the security headers with the page, its assets, API answers and errors", async () => {
		const page = await fetch(`${base}/`);
		const html = await page.text();
		const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
		expect(assets.length).toBeGreaterThan(0);
		for (const path of ["/", ...assets, "/api-docs.html", "/health", "/openapi.json", "/no-such-path", "/characters"]) {
			const res = await fetch(base + path);
			const headers = Object.fromEntries(SECURITY.map((name) => [name, res.headers.get(name)]));
			expect(headers, path).toEqual({
				"content-security-policy": expect.stringContaining("frame-ancestors 'none'"),
				"x-content-type-options": "nosniff",
				"referrer-policy": "no-referrer",
			});
		}
	});

	it("should run the built web client under its Content-Security-Policy", async () => {
		const browser = await launchChromium();
		try {
			const page = await browser.newPage();
			const refusals: string[] = [];
			page.on("console", (msg) => {
				if (/Content Security Policy|Refused to/i.test(msg.text())) refusals.push(msg.text());
			});
			await page.goto(`${base}/`);
			// The sign-up form is rendered by the bundle and styled by its stylesheet.
			await page.getByRole("tab", { name: "Sign up" }).waitFor({ timeout: 10_000 });
			expect(refusals).toEqual([]);
		} finally {
			await browser.close();
		}
	});

	it("should keep a plain X-Request-ID and replace anything else with an id of its own", async () => {
		const requestId = async (value: string) =>
			(await fetch(`${base}/health`, { headers: { "X-Request-ID": value } })).headers.get("x-request-id");
		expect(await requestId("trace-42.a_b")).toBe("trace-42.a_b");
		for (const hostile of ['x" level="fatal', "a".repeat(65), "two words", "a,b"]) {
			expect(await requestId(hostile), hostile).toMatch(/^[0-9a-f-]{36}$/);
		}
	});
});
