/**
 * Hostile-input cases for issue 17's admin, registration and password-reset routes (see hostile-cases.ts for the
 * table's rules): GET /admin/users, PATCH /admin/users/{username}, POST /admin/users/{username}/password-reset,
 * GET /admin/stats, POST, GET and DELETE /admin/invites, POST /password-reset, POST /register's `invite`, and GET
 * /config (public: whatever is sent, it says who may sign up and nothing else). The
 * attacker is no admin: every admin route is 403 to them (422 when the params are malformed: the validator answers
 * before the admin check), 401 without a token; a role claimed in a body is a param, never the caller's role. Reset
 * guesses name a user who does not exist, so no real account's failed-login budget is spent; no case registers anyone.
 */
import {
	FORBIDDEN,
	INVALID_JSON,
	TOO_LARGE,
	VALIDATION,
	adminAccessCases,
	deepArray,
	json,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";

const GHOST = "ghost_of_nobody";

export function adminRequests(ctx: HostileContext): RestCase[] {
	const { attacker, victim } = ctx;
	const forbiddenOrInvalid = { status: [403, 422], code: ["FORBIDDEN", "VALIDATION_ERROR"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const resetRefused = { status: [403, 429], code: ["RESET_CODE_INVALID", "RATE_LIMITED"] };
	/** Each admin route with params an admin could send. */
	const adminRoutes: [string, string, string | undefined][] = [
		["GET", "/admin/users", undefined],
		["GET", `/admin/users?q=${victim.username}&limit=10&offset=0`, undefined],
		["PATCH", `/admin/users/${victim.username}`, json({ disabled: true })],
		["PATCH", `/admin/users/${attacker.username}`, json({ role: "admin" })],
		["PATCH", `/admin/users/${attacker.username}`, json({ tokens_per_day: 0, messages_per_minute: null })],
		["POST", `/admin/users/${victim.username}/password-reset`, undefined],
		["GET", "/admin/stats?minutes=5", undefined],
		["POST", "/admin/invites", json({ uses: 100, expires_in: 3600 })],
		["GET", "/admin/invites", undefined],
		["DELETE", "/admin/invites/some-code", undefined],
	];
	const reset = (name: string, body: string, expect: Pick<RestCase, "status" | "code" | "field">): RestCase => ({
		category: "other_users",
		name: `POST /password-reset ${name}`,
		method: "POST",
		path: "/password-reset",
		auth: "none",
		body,
		...expect,
	});
	const resetBody = (fields: Record<string, unknown>) =>
		json({ username: GHOST, code: "AAAAAAAAAAAAAAAAAAAAAA", password: "a fine new password", ...fields });

	return [
		// Without a token, nothing; not an admin, 403 on every admin route, whatever it names (their own account too).
		...adminAccessCases(adminRoutes),
		{
			category: "other_users",
			name: "PATCH /admin/users/{attacker} with role: admin claimed for the caller too",
			method: "PATCH",
			path: `/admin/users/${attacker.username}`,
			body: json({ role: "admin", user: { role: "admin" }, meta: { user: { role: "admin" } } }),
			...FORBIDDEN,
		},
		{
			category: "other_users",
			name: "GET /admin/users?role=admin",
			method: "GET",
			path: "/admin/users?role=admin&user[role]=admin",
			...forbiddenOrInvalid,
		},
		// Malformed params to admin routes: refused either way.
		...(
			[
				["PATCH", `/admin/users/${victim.username}`, json({ disabled: "true" })],
				["PATCH", `/admin/users/${victim.username}`, json({ role: "root" })],
				["PATCH", `/admin/users/${victim.username}`, json({ tokens_per_day: -1 })],
				["PATCH", `/admin/users/${victim.username}`, json({ messages_per_minute: "5" })],
				["PATCH", `/admin/users/${victim.username}`, json({ messages_per_minute: 1e12 })],
				["PATCH", `/admin/users/${"u".repeat(100)}`, json({ disabled: false })],
				["PATCH", "/admin/users/..%2f..%2fetc%2fpasswd", json({ disabled: true })],
				["POST", "/admin/users/'%20OR%201=1%20--/password-reset", undefined],
				["GET", "/admin/users?q='%20OR%20'1'='1", undefined],
				["GET", "/admin/users?limit=100000", undefined],
				["GET", "/admin/users?offset=-1", undefined],
				["GET", "/admin/stats?minutes=999999", undefined],
				["POST", "/admin/invites", json({ uses: 0 })],
				["POST", "/admin/invites", json({ expires_in: "1h" })],
				["POST", "/admin/invites", json({ uses: [1] })],
				["DELETE", `/admin/invites/${"c".repeat(100)}`, undefined],
				["DELETE", "/admin/invites/'%20OR%201=1%20--", undefined],
			] as const
		).map(([method, path, body]): RestCase => ({
			category: path.includes("..") ? "path_traversal" : body === undefined ? "injection" : "wrong_types",
			name: `${method} ${path} ${body ?? ""} as a user`,
			method,
			path,
			body,
			...forbiddenOrInvalid,
		})),
		{
			category: "malformed_json",
			name: "POST /admin/invites a broken body",
			method: "POST",
			path: "/admin/invites",
			body: '{"uses": 1',
			...INVALID_JSON,
		},
		{
			category: "huge_bodies",
			name: "PATCH /admin/users/{victim} over 16 kB",
			method: "PATCH",
			path: `/admin/users/${victim.username}`,
			body: json({ disabled: true, pad: "p".repeat(20 * 1024) }),
			...TOO_LARGE,
		},
		{
			category: "deep_nesting",
			name: "POST /admin/invites uses as 5000-deep arrays",
			method: "POST",
			path: "/admin/invites",
			body: `{"uses": ${deepArray(5000)}}`,
			status: [403, 413, 422],
		},

		// The password reset: no code works but an admin's, and it says nothing about which part was wrong.
		reset("for an unknown user", resetBody({}), resetRefused),
		reset("with SQL for a code", resetBody({ code: "' OR '1'='1" }), resetRefused),
		reset("with SQL for a username", resetBody({ username: "' OR 1=1 --" }), resetRefused),
		reset("with a NUL byte in the code", resetBody({ code: "a\u0000b" }), invalid("code")),
		reset("with the victim's token for a code", resetBody({ code: victim.token.slice(0, 64) }), resetRefused),
		reset("without a code", json({ username: GHOST, password: "a fine new password" }), invalid("code")),
		reset("with a code of the wrong type", resetBody({ code: { $ne: "" } }), invalid("code")),
		reset("with a code too long", resetBody({ code: "c".repeat(65) }), invalid("code")),
		reset("with a short password", resetBody({ password: "short" }), invalid("password")),
		reset("with a username array", resetBody({ username: [GHOST] }), invalid("username")),
		reset("a broken body", '{"username": "x"', INVALID_JSON),
		reset("over 16 kB", resetBody({ password: "p".repeat(20 * 1024) }), TOO_LARGE),

		// GET /config takes nothing: params, a claimed role or a forged token change nothing, and it says only the mode.
		...(
			[
				["with params claiming another mode and a role", "/config?registration=closed&role=admin", "none"],
				["with SQL in its query", "/config?q='%20OR%201=1%20--", "none"],
				["with the attacker's token", "/config", "attacker"],
				["with a forged token", "/config", { header: "Bearer forged.token.here" }],
			] as const
		).map(([label, path, auth]): RestCase => ({
			category: "injection",
			name: `GET /config ${label}`,
			method: "GET",
			path,
			auth,
			status: [],
			ok: { status: 200, check: onlyRegistration },
		})),

		// An invite that is no string: refused before anything is made (the suite's server is REGISTRATION=open).
		...(
			[
				["a number", 42],
				["an object", { $ne: "" }],
				["empty", ""],
				["65 characters", "i".repeat(65)],
			] as const
		).map(([label, invite]): RestCase => ({
			category: "wrong_types",
			name: `POST /register invite ${label}`,
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: "hostile_invitee", name: "Invitee", password: "a fine new password", invite }),
			...invalid("invite"),
		})),
	];
}

/** The suite's server is REGISTRATION=open, and GET /config answers that alone. */
function onlyRegistration(body: Json): string | undefined {
	return JSON.stringify(body) === '{"registration":"open"}' ? undefined : `answered ${JSON.stringify(body)}`;
}
