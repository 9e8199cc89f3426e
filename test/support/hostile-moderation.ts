/**
 * Hostile-input cases for issue 17's moderation routes (see hostile-cases.ts for the table's rules): reporting a
 * character (POST /characters/id/{id}/report) and the admin routes (GET /admin/reports, PATCH /admin/reports/{id},
 * PATCH and DELETE /admin/characters/{id}). The attacker is no admin: every admin route is 403 to them (422 when the
 * params are malformed: the validator answers before the admin check, and says nothing the OpenAPI document does not),
 * 401 without a token. A character they cannot see is 404 to report, as to GET; nothing they send hides, flags or
 * deletes anything, and no report is filed in someone else's name.
 */
import {
	INVALID_JSON,
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	adminAccessCases,
	deepArray,
	json,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

export function moderationRequests(ctx: HostileContext): RestCase[] {
	const { victimPrivateCharacterId, victimPublicCharacterId, chatCharacterId, ownCharacterId } = ctx;
	const forbidden = { status: [403], code: ["FORBIDDEN"] };
	const forbiddenOrInvalid = { status: [403, 422], code: ["FORBIDDEN", "VALIDATION_ERROR"] };
	const notFound = { status: [404], code: ["CHARACTER_NOT_FOUND"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	/** The attacker's own report, on the character named, never anyone else's; or the hourly budget spent. */
	const ownReport = (characterId: string) => ({
		status: [429],
		code: ["RATE_LIMITED"],
		ok: {
			status: 201,
			check: (body: Json) =>
				body?.character_id === characterId && body?.resolved === false && body?.reporter === undefined
					? undefined
					: `not the attacker's own open report: ${JSON.stringify(body)}`,
		},
	});
	const report = (
		category: Category,
		name: string,
		id: string,
		body: string | undefined,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
	) =>
		({
			category,
			name: `POST /characters/id/${name}/report`,
			method: "POST",
			path: `/characters/id/${id}/report`,
			body,
			...expect,
		}) as RestCase;
	const reason = (value: unknown) => json({ reason: value });
	/** Each admin route with params an admin could send. */
	const adminRoutes: [string, string, string | undefined][] = [
		["GET", "/admin/reports", undefined],
		["GET", "/admin/reports?status=open&limit=100", undefined],
		["PATCH", `/admin/reports/${UNKNOWN_ID}`, json({ resolved: true, resolution: "done" })],
		["PATCH", `/admin/characters/${victimPublicCharacterId}`, json({ hidden: true })],
		["PATCH", `/admin/characters/${victimPublicCharacterId}`, json({ nsfw: true })],
		["PATCH", `/admin/characters/${ownCharacterId}`, json({ hidden: false, nsfw: false })],
		["DELETE", `/admin/characters/${victimPublicCharacterId}`, undefined],
		["DELETE", `/admin/characters/${victimPrivateCharacterId}`, undefined],
	];

	return [
		// Without a token, nothing; not an admin, 403 on every admin route, whatever it names.
		...adminAccessCases(adminRoutes),
		{
			category: "forged_jwt",
			name: `POST /characters/id/${chatCharacterId}/report without a token`,
			method: "POST",
			path: `/characters/id/${chatCharacterId}/report`,
			auth: "none",
			body: reason("spam"),
			...UNAUTHORIZED,
		},
		// A role claimed in the body or the query is a param like any other, never the caller's role.
		{
			category: "other_users",
			name: "PATCH /admin/characters/{victim's} with role: admin in the body",
			method: "PATCH",
			path: `/admin/characters/${victimPublicCharacterId}`,
			body: json({ hidden: true, role: "admin", user: { role: "admin" } }),
			...forbidden,
		},
		{
			category: "other_users",
			name: "GET /admin/reports?role=admin",
			method: "GET",
			path: "/admin/reports?role=admin&user[role]=admin",
			...forbiddenOrInvalid,
		},
		// Malformed params to admin routes: refused either way.
		...(
			[
				["PATCH", "/admin/characters/not-a-uuid", json({ hidden: true })],
				["PATCH", `/admin/characters/${victimPublicCharacterId}`, json({ hidden: "true" })],
				["PATCH", `/admin/characters/${victimPublicCharacterId}`, json({ nsfw: [true] })],
				["PATCH", `/admin/reports/${UNKNOWN_ID}`, json({ resolved: "yes" })],
				["PATCH", `/admin/reports/${UNKNOWN_ID}`, json({ resolved: true, resolution: "r".repeat(1001) })],
				["PATCH", "/admin/reports/..%2f..%2fetc%2fpasswd", json({ resolved: true })],
				["DELETE", "/admin/characters/'%20OR%201=1%20--", undefined],
				["GET", "/admin/reports?status=open'%20OR%20'1'='1", undefined],
				["GET", "/admin/reports?limit=100000", undefined],
				["GET", "/admin/reports?character_id=1%20OR%201%3D1", undefined],
			] as const
		).map(([method, path, body]): RestCase => ({
			category: path.includes("..") ? "path_traversal" : body === undefined ? "injection" : "wrong_types",
			name: `${method} ${path} ${body ?? ""} as a user`,
			method,
			path,
			body,
			...forbiddenOrInvalid,
		})),

		// Reporting what one cannot see: 404, as GET answers.
		report("other_users", "{victim's private}", victimPrivateCharacterId, reason("let me in"), notFound),
		report("other_users", "{unknown}", UNKNOWN_ID, reason("ghost"), notFound),
		// Someone else's name on a report: dropped, the report is the attacker's.
		report(
			"other_users",
			"{public} with reporter_id: victim",
			chatCharacterId,
			json({ reason: "spoofed", reporter_id: ctx.victim.id, reporter: ctx.victim.username, resolved: true }),
			ownReport(chatCharacterId),
		),
		report("path_traversal", "..%2f..%2fadmin", "..%2f..%2fadmin", reason("x"), { status: [404, 422] }),
		report("injection", "' OR 1=1 --", "'%20OR%201=1%20--", reason("x"), { status: [404, 422] }),

		// The reason: a bounded string.
		...(
			[
				["missing", json({})],
				["null", reason(null)],
				["a number", reason(42)],
				["an array", reason(["spam"])],
				["an object", reason({ $ne: "" })],
				["empty", reason("")],
				["blank", reason(" \t\n ")],
				["1001 characters", reason("r".repeat(1001))],
			] as const
		).map(([label, body]) =>
			report("wrong_types", `{public} reason ${label}`, chatCharacterId, body, invalid("reason")),
		),
		report("deep_nesting", "{public} reason as 5000-deep arrays", chatCharacterId, `{"reason": ${deepArray(5000)}}`, {
			status: [413, 422],
		}),
		// Another character than the spoofed case's, so each is the attacker's first report of it (201).
		report(
			"injection",
			"{victim's public} reason of SQL",
			victimPublicCharacterId,
			reason("'); DROP TABLE character_reports; --"),
			ownReport(victimPublicCharacterId),
		),
		report("null_bytes", "{public} reason with a NUL byte", chatCharacterId, reason("a\u0000b"), invalid("reason")),
		report("malformed_json", "{public} a broken body", chatCharacterId, '{"reason": "x"', INVALID_JSON),
		report("huge_bodies", "{public} over 64 kB", chatCharacterId, reason("r".repeat(70 * 1024)), TOO_LARGE),
	];
}
