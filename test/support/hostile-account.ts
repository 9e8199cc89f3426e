/**
 * Hostile-input cases for issue 16's account routes (see hostile-cases.ts for the table's rules): PATCH /me,
 * DELETE /me, POST /logout, GET /me/export. Every case runs with the attacker's token, so none may succeed at
 * anything that would end it: no right password is ever sent (a wrong one is 403, or 429 once the budget is spent),
 * and POST /logout is only sent without a valid token. Nobody can rename or delete another account through them.
 */
import {
	INVALID_JSON,
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	deepArray,
	json,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";

export function accountRequests(ctx: HostileContext): RestCase[] {
	const { attacker, victim } = ctx;
	const wrongPassword = { status: [403, 429], code: ["WRONG_PASSWORD", "RATE_LIMITED"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	/** The attacker's own profile, unchanged: a field naming someone else is dropped, never applied. */
	const stillMe = {
		status: [],
		ok: {
			status: 200,
			check: (body: Json) =>
				body?.username === attacker.username && body?.id === attacker.id
					? body.access_token === undefined
						? undefined
						: "a token was issued without a password change"
					: `answered for someone else: ${JSON.stringify(body)}`,
		},
	};
	const patch = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
	) => ({ category, name: `PATCH /me ${name}`, method: "PATCH", path: "/me", body, ...expect }) as RestCase;
	const remove = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field">,
	) => ({ category, name: `DELETE /me ${name}`, method: "DELETE", path: "/me", body, ...expect }) as RestCase;

	return [
		// Without a token, nothing: each route.
		...(
			[
				["PATCH", "/me", json({ name: "Nobody" })],
				["DELETE", "/me", json({ password: "whatever123" })],
				["POST", "/logout", undefined],
				["GET", "/me/export", undefined],
			] as const
		).map(([method, path, body]): RestCase => ({
			category: "forged_jwt",
			name: `${method} ${path} without a token`,
			method,
			path,
			auth: "none",
			body,
			...UNAUTHORIZED,
		})),
		{
			category: "forged_jwt",
			name: "POST /logout with the victim's token in the body",
			method: "POST",
			path: "/logout",
			auth: "none",
			body: json({ token: victim.token }),
			...UNAUTHORIZED,
		},

		// Someone else's account: fields naming them are dropped; the answer is the attacker's own profile.
		patch("other_users", "{username: victim}", json({ username: victim.username }), stillMe),
		patch("other_users", "{id: victim}", json({ id: victim.id, user_id: victim.id }), stillMe),
		remove(
			"other_users",
			"{username: victim, password: wrong}",
			json({ username: victim.username, password: "x" }),
			wrongPassword,
		),
		patch(
			"other_users",
			"a new password with a wrong current one",
			json({ current_password: "not the password", new_password: "taken over at last" }),
			wrongPassword,
		),

		// Wrong types and out of range, refused before any password is checked.
		...[
			["a number", 42],
			["an array", ["a"]],
			["an object", { a: 1 }],
			["null", null],
			["true", true],
			["empty", ""],
			["blank", " \t\n "],
			["101 characters", "x".repeat(101)],
		].map(([label, name]) => patch("wrong_types", `name ${label}`, json({ name }), invalid("name"))),
		patch(
			"wrong_types",
			"new_password of 7 characters",
			json({ current_password: "x", new_password: "1234567" }),
			invalid("new_password"),
		),
		patch(
			"wrong_types",
			"new_password a number",
			json({ current_password: "x", new_password: 12345678 }),
			invalid("new_password"),
		),
		patch(
			"wrong_types",
			"current_password an array",
			json({ current_password: ["x"], new_password: "12345678a" }),
			invalid("current_password"),
		),
		patch(
			"wrong_types",
			"new_password null",
			json({ current_password: "x", new_password: null }),
			invalid("new_password"),
		),
		patch(
			"wrong_types",
			"current_password null",
			json({ current_password: null, new_password: "12345678a" }),
			invalid("current_password"),
		),
		patch(
			"wrong_types",
			"new_password without the current one",
			json({ new_password: "12345678a" }),
			invalid("current_password"),
		),
		remove("wrong_types", "without a password", json({}), invalid("password")),
		remove("wrong_types", "password a number", json({ password: 12345678 }), invalid("password")),
		remove("wrong_types", "password empty", json({ password: "" }), invalid("password")),
		remove("wrong_types", "password of 257 characters", json({ password: "x".repeat(257) }), invalid("password")),

		// Malformed, huge, nested, NUL bytes, injection.
		patch("malformed_json", "truncated", '{"name":', INVALID_JSON),
		remove("malformed_json", "truncated", '{"password": "x', INVALID_JSON),
		patch("huge_bodies", "name of 100 kB", json({ name: "x".repeat(100 * 1024) }), TOO_LARGE),
		remove("huge_bodies", "password of 100 kB", json({ password: "x".repeat(100 * 1024) }), TOO_LARGE),
		patch("deep_nesting", "name nested 40 deep", `{"name": ${deepArray(40)}}`, { status: [422] }),
		patch("null_bytes", "name with a NUL", json({ name: "Ma\u0000llory" }), { status: [422] }),
		remove("null_bytes", "password with a NUL", json({ password: "pass\u0000word" }), { status: [422] }),
		remove("injection", "password of SQL", json({ password: "' OR '1'='1' --" }), wrongPassword),
	];
}
