import { describe, expect, it } from "vitest";
import {
	changesLimits,
	codeHash,
	effectiveLimits,
	endsAdminship,
	namedAdmin,
	newCode,
	signupMode,
} from "../../src/domain/admin.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { serviceFactories } from "../../services/index.js";
import apiService from "../../services/api.service.js";

const DEFAULTS = { tokens_per_day: 200_000, messages_per_minute: 20 };

describe("per-user limits", () => {
	it("should take a user's own limit where an admin set one, else the default", () => {
		expect(effectiveLimits(undefined, DEFAULTS)).toEqual(DEFAULTS);
		expect(effectiveLimits({ tokens_per_day: null, messages_per_minute: 3 }, DEFAULTS)).toEqual({
			tokens_per_day: 200_000,
			messages_per_minute: 3,
		});
		// 0 is a limit of its own (unlimited tokens), not "unset".
		expect(effectiveLimits({ tokens_per_day: 0, messages_per_minute: null }, DEFAULTS).tokens_per_day).toBe(0);
	});

	it("should say when a change touches the limits (null clears one, so it does)", () => {
		expect(changesLimits({ messages_per_minute: null })).toBe(true);
		expect(changesLimits({ tokens_per_day: 5 })).toBe(true);
		expect(changesLimits({ disabled: true, role: "admin" })).toBe(false);
	});
});

describe("admins", () => {
	it("should know ADMIN_USERNAMES whatever the case", () => {
		expect(namedAdmin(["Alice", "bob"], "alice")).toBe(true);
		expect(namedAdmin(["Alice", "bob"], "BOB")).toBe(true);
		expect(namedAdmin(["Alice"], "alice2")).toBe(false);
	});

	it("should see when a change ends an active admin's adminship", () => {
		const admin = { role: "admin", disabled: false };
		expect(endsAdminship(admin, { role: "user" })).toBe(true);
		expect(endsAdminship(admin, { disabled: true })).toBe(true);
		expect(endsAdminship(admin, { tokens_per_day: 1, role: "admin" })).toBe(false);
		expect(endsAdminship({ role: "user", disabled: false }, { disabled: true })).toBe(false);
		expect(endsAdminship({ role: "admin", disabled: true }, { role: "user" })).toBe(false);
	});
});

describe("registration", () => {
	it("should tell the sign-up form REGISTRATION, but open on a fresh install, whose first account always gets in", () => {
		expect(signupMode("invite", false)).toBe("invite");
		expect(signupMode("closed", false)).toBe("closed");
		expect(signupMode("open", false)).toBe("open");
		expect(signupMode("closed", true)).toBe("open");
		expect(signupMode("invite", true)).toBe("open");
	});
});

describe("one-time codes", () => {
	it("should make distinct URL-safe codes and keep only a hash of them", () => {
		const [a, b] = [newCode(), newCode()];
		expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
		expect(a).not.toBe(b);
		expect(codeHash(a)).toMatch(/^[0-9a-f]{64}$/);
		expect(codeHash(a)).toBe(codeHash(a));
		expect(codeHash(a)).not.toContain(a);
	});
});

describe("configuration", () => {
	const load = (env: Record<string, string>) => loadConfig({ DATABASE_URL: "postgres://x@127.0.0.1/db", ...env });

	it("should default to open registration and no named admins", () => {
		expect(load({})).toMatchObject({ registration: "open", adminUsernames: [] });
	});

	it("should read REGISTRATION and ADMIN_USERNAMES, and refuse what cannot be", () => {
		expect(load({ REGISTRATION: "invite", ADMIN_USERNAMES: " alice, Bob.B ,," })).toMatchObject({
			registration: "invite",
			adminUsernames: ["alice", "Bob.B"],
		});
		expect(() => load({ REGISTRATION: "friends" })).toThrow(ConfigError);
		expect(() => load({ ADMIN_USERNAMES: "alice,not a name" })).toThrow(/ADMIN_USERNAMES/);
	});
});

describe("the admin routes", () => {
	it("should each reach an action marked admin: true (middlewares/admin-only.middleware.ts checks those)", () => {
		const config = loadConfig({ DATABASE_URL: "postgres://x@127.0.0.1/db", JWT_SECRET: "s".repeat(32) });
		const actions = new Map<string, { admin?: boolean }>();
		for (const factory of Object.values(serviceFactories)) {
			const schema = factory(config);
			for (const [name, action] of Object.entries(schema.actions ?? {}))
				actions.set(`${schema.name}.${name}`, action as { admin?: boolean });
		}
		const routes = apiService(config).settings!.routes as { aliases?: Record<string, string> }[];
		const adminAliases = routes
			.flatMap((r) => Object.entries(r.aliases ?? {}))
			.filter(([alias]) => / \/admin\//.test(alias));
		expect(adminAliases.map(([alias]) => alias)).toEqual(
			expect.arrayContaining(["GET /admin/users", "GET /admin/stats"]),
		);
		for (const [alias, action] of adminAliases) expect(actions.get(action)?.admin, `${alias} -> ${action}`).toBe(true);
	});
});
