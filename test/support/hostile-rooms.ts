/**
 * Hostile-input cases for issue 15's room routes (see hostile-cases.ts for the table's rules). `prepareRooms` sets up,
 * as the attacker and the victim, what the cases aim at: the victim's room the attacker is not in, one the attacker
 * was removed from, one the attacker is a member of, the attacker's own room, and invites that expired or are used
 * up; its ids land in `ctx.ids`. No case may add the attacker to a room of the victim's or the victim to one of theirs.
 */
import {
	INVALID_JSON,
	TOO_LARGE,
	VALIDATION,
	json,
	storedForm,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
	restCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

/** Runs SQL on the test database (to expire an invite or use it up without waiting). */
export type RunSql = (sql: string, bind: unknown[]) => Promise<unknown>;

export async function prepareRooms(ctx: HostileContext, asUser: AsUser, sql: RunSql): Promise<Record<string, string>> {
	const ok = async (token: string, method: string, path: string, body?: unknown) => {
		const res = await asUser(token, method, path, body);
		if (res.status >= 300) throw new Error(`prepareRooms: ${method} ${path} ${res.status} ${JSON.stringify(res.body)}`);
		return res.body as Json;
	};
	const victim = ctx.victim.token;
	const attacker = ctx.attacker.token;
	const cast = { character_ids: [ctx.victimPublicCharacterId, ctx.victimPrivateCharacterId] };
	const theirRoom = (await ok(victim, "POST", "/sessions", { ...cast, title: "Victim's room" })).id;
	const removedRoom = (await ok(victim, "POST", "/sessions", cast)).id;
	const memberRoom = (await ok(victim, "POST", "/sessions", cast)).id;
	const ownRoom = (
		await ok(attacker, "POST", "/sessions", { character_ids: [ctx.chatCharacterId, ctx.ownCharacterId] })
	).id;
	const invite = async (room: string, body: Record<string, unknown>) =>
		(await ok(victim, "POST", `/sessions/${room}/invites`, body)).code as string;

	const removedInvite = await invite(removedRoom, { max_uses: null });
	await ok(attacker, "POST", `/invites/${removedInvite}/accept`);
	await ok(victim, "DELETE", `/sessions/${removedRoom}/members/${ctx.attacker.username}`);
	const memberInvite = await invite(memberRoom, { max_uses: null });
	await ok(attacker, "POST", `/invites/${memberInvite}/accept`);

	const theirInvite = await invite(theirRoom, { max_uses: 5 });
	const expiredInvite = await invite(theirRoom, { max_uses: null, expires_in_seconds: 60 });
	await sql(`UPDATE session_invites SET expires_at = now() - interval '1 second' WHERE code = $1`, [expiredInvite]);
	const usedInvite = await invite(theirRoom, { max_uses: 1 });
	await sql(`UPDATE session_invites SET uses = 1 WHERE code = $1`, [usedInvite]);
	const ownInvite = (await ok(attacker, "POST", `/sessions/${ownRoom}/invites`, {})).code as string;
	const [greeting] = (await ok(victim, "GET", `/sessions/${memberRoom}/messages`)).messages as { id: string }[];
	return {
		theirRoom,
		removedRoom,
		memberRoom,
		ownRoom,
		removedInvite,
		memberInvite,
		theirInvite,
		expiredInvite,
		usedInvite,
		ownInvite,
		memberRoomGreeting: greeting.id,
	};
}

export function roomRequests(ctx: HostileContext): RestCase[] {
	const { theirRoom, removedRoom, memberRoom, ownRoom, removedInvite, theirInvite, expiredInvite, usedInvite } =
		ctx.ids;
	const { ownInvite, memberRoomGreeting } = ctx.ids;
	if (!theirRoom) return [];
	const theirs = `/sessions/${theirRoom}`;
	const removed = `/sessions/${removedRoom}`;
	const member = `/sessions/${memberRoom}`;
	const own = `/sessions/${ownRoom}`;
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	const notOwner = { status: [403], code: ["NOT_ROOM_OWNER"] };
	const inviteNotFound = { status: [404], code: ["INVITE_NOT_FOUND"] };
	const inviteExpired = { status: [410], code: ["INVITE_EXPIRED"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const victim = ctx.victim.username;
	const create = (
		category: Category,
		name: string,
		body: unknown,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
	) => restCase(category, `/sessions ${name}`, "POST", "/sessions", body, expect);
	const room = { character_ids: [ctx.chatCharacterId] };
	/** Every route of a room, as `who` reaches it (a room not theirs: 404 on each). */
	const everyRoute = (label: string, path: string, expect: Pick<RestCase, "status" | "code">) => [
		restCase("other_users", `${label}`, "GET", path, undefined, expect),
		restCase("other_users", `${label}/messages`, "GET", `${path}/messages`, undefined, expect),
		restCase("other_users", `${label} persona`, "PATCH", path, { persona_id: null }, expect),
		restCase("other_users", `${label} title`, "PATCH", path, { title: "Mine now" }, expect),
		restCase("other_users", `${label}`, "DELETE", path, undefined, expect),
		restCase(
			"other_users",
			`${label} add myself`,
			"POST",
			`${path}/members`,
			{ username: ctx.attacker.username },
			expect,
		),
		restCase("other_users", `${label}/members/me`, "DELETE", `${path}/members/me`, undefined, expect),
		restCase("other_users", `${label}/members/{owner}`, "DELETE", `${path}/members/${victim}`, undefined, expect),
		restCase("other_users", `${label}/invites`, "POST", `${path}/invites`, { max_uses: null }, expect),
		restCase("other_users", `${label}/invites`, "GET", `${path}/invites`, undefined, expect),
		restCase("other_users", `${label}/invites/{code}`, "DELETE", `${path}/invites/${theirInvite}`, undefined, expect),
		restCase("other_users", `${label}/memory`, "GET", `${path}/memory`, undefined, expect),
	];
	const wrongTypes: [string, unknown][] = [
		["number", 42],
		["boolean", true],
		["string", "x"],
		["operator object", { $ne: "" }],
	];

	/** A wrong value for a number field: numbers are right there. */
	const notANumber = (kind: string, value: unknown) => (kind === "number" ? "42" : value);
	return [
		// Rooms not theirs: unknown alike, whether never in it or removed from it.
		...everyRoute("/sessions/{their room}", theirs, sessionNotFound),
		...everyRoute("/sessions/{room removed from}", removed, sessionNotFound),
		restCase(
			"other_users",
			"/invites/{of a room removed from}/accept",
			"POST",
			`/invites/${removedInvite}/accept`,
			undefined,
			inviteNotFound,
		),
		restCase(
			"other_users",
			"/invites/{expired}/accept",
			"POST",
			`/invites/${expiredInvite}/accept`,
			undefined,
			inviteExpired,
		),
		restCase(
			"other_users",
			"/invites/{used up}/accept",
			"POST",
			`/invites/${usedInvite}/accept`,
			undefined,
			inviteExpired,
		),
		restCase(
			"other_users",
			"/invites/{unknown}/accept",
			"POST",
			`/invites/${"Z".repeat(24)}/accept`,
			undefined,
			inviteNotFound,
		),
		create(
			"other_users",
			"with their private character",
			{ character_ids: [ctx.victimPrivateCharacterId] },
			{
				status: [404],
				code: ["CHARACTER_NOT_FOUND"],
			},
		),
		restCase(
			"other_users",
			"/sessions/{own room} cast with their private character",
			"PATCH",
			own,
			{
				character_ids: [ctx.chatCharacterId, ctx.victimPrivateCharacterId],
			},
			{ status: [404], code: ["CHARACTER_NOT_FOUND"] },
		),
		restCase(
			"other_users",
			"/sessions/{own room}/invites/{their code}",
			"DELETE",
			`${own}/invites/${theirInvite}`,
			undefined,
			inviteNotFound,
		),
		// A member: reads the room, does nothing its owner does.
		restCase("other_users", "/sessions/{member of}", "GET", member, undefined, {
			status: [200],
			ok: { status: 200, check: (b: Json) => (b?.owner === victim ? undefined : `owner ${JSON.stringify(b?.owner)}`) },
		}),
		restCase("other_users", "/sessions/{member of} title", "PATCH", member, { title: "Mine now" }, notOwner),
		restCase("other_users", "/sessions/{member of} reply_mode", "PATCH", member, { reply_mode: "manual" }, notOwner),
		restCase(
			"other_users",
			"/sessions/{member of} cast",
			"PATCH",
			member,
			{ character_ids: [ctx.chatCharacterId] },
			notOwner,
		),
		restCase("other_users", "/sessions/{member of} lorebooks", "PATCH", member, { lorebook_ids: [] }, notOwner),
		restCase(
			"other_users",
			"/sessions/{member of}/branch",
			"POST",
			`${member}/branch`,
			{ message_id: memberRoomGreeting },
			notOwner,
		),
		restCase("other_users", "/sessions/{member of}", "DELETE", member, undefined, sessionNotFound),
		restCase("other_users", "/sessions/{member of}/memory", "GET", `${member}/memory`, undefined, sessionNotFound),
		restCase(
			"other_users",
			"/sessions/{member of}/members",
			"POST",
			`${member}/members`,
			{ username: ctx.attacker.username },
			notOwner,
		),
		restCase(
			"other_users",
			"/sessions/{member of}/members/{owner}",
			"DELETE",
			`${member}/members/${victim}`,
			undefined,
			notOwner,
		),
		restCase("other_users", "/sessions/{member of}/invites", "POST", `${member}/invites`, {}, notOwner),
		restCase("other_users", "/sessions/{member of}/invites", "GET", `${member}/invites`, undefined, notOwner),
		restCase(
			"other_users",
			"/sessions/{member of}/invites/{code}",
			"DELETE",
			`${member}/invites/${theirInvite}`,
			undefined,
			notOwner,
		),

		// Wrong types for every field of the room routes.
		...wrongTypes.flatMap(([kind, value]) => [
			create("wrong_types", `character_ids as ${kind}`, { character_ids: value }, invalid("character_ids")),
			create("wrong_types", `reply_mode as ${kind}`, { ...room, reply_mode: value }, invalid("reply_mode")),
			create("wrong_types", `persona_id as ${kind}`, { ...room, persona_id: value }, invalid("persona_id")),
			restCase(
				"wrong_types",
				`/sessions/{own room} reply_mode as ${kind}`,
				"PATCH",
				own,
				{ reply_mode: value },
				invalid("reply_mode"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own room} character_ids as ${kind}`,
				"PATCH",
				own,
				{ character_ids: value },
				invalid("character_ids"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own room}/members username as ${kind}`,
				"POST",
				`${own}/members`,
				{ username: kind === "string" ? [value] : value },
				invalid("username"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own room}/invites max_uses as ${kind}`,
				"POST",
				`${own}/invites`,
				{ max_uses: notANumber(kind, value) },
				invalid("max_uses"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own room}/invites expires_in_seconds as ${kind}`,
				"POST",
				`${own}/invites`,
				{ expires_in_seconds: notANumber(kind, value) },
				invalid("expires_in_seconds"),
			),
		]),
		create("wrong_types", "without character_ids", {}, invalid("character_ids")),
		create("wrong_types", "character_ids null", { character_ids: null }, invalid("character_ids")),
		create(
			"wrong_types",
			"character_ids of non-UUIDs",
			{ character_ids: ["../../etc/passwd"] },
			invalid("character_ids"),
		),
		create(
			"wrong_types",
			"character_ids twice the same",
			{ character_ids: [ctx.chatCharacterId, ctx.chatCharacterId] },
			invalid("character_ids"),
		),
		create("wrong_types", "empty title", { ...room, title: "   " }, invalid("title")),
		create("wrong_types", "unknown reply_mode", { ...room, reply_mode: "everyone" }, invalid("reply_mode")),
		restCase(
			"wrong_types",
			"/sessions/{own room} reply_mode null",
			"PATCH",
			own,
			{ reply_mode: null },
			invalid("reply_mode"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room} empty cast",
			"PATCH",
			own,
			{ character_ids: [] },
			invalid("character_ids"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/members without username",
			"POST",
			`${own}/members`,
			{},
			invalid("username"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/invites max_uses 0",
			"POST",
			`${own}/invites`,
			{ max_uses: 0 },
			invalid("max_uses"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/invites max_uses 1.5",
			"POST",
			`${own}/invites`,
			{ max_uses: 1.5 },
			invalid("max_uses"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/invites max_uses -1",
			"POST",
			`${own}/invites`,
			{ max_uses: -1 },
			invalid("max_uses"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/invites expiring in 59 s",
			"POST",
			`${own}/invites`,
			{ expires_in_seconds: 59 },
			invalid("expires_in_seconds"),
		),
		restCase(
			"wrong_types",
			"/sessions/{not a uuid}/members",
			"POST",
			"/sessions/not-a-uuid/members",
			{ username: victim },
			invalid("id"),
		),
		restCase(
			"wrong_types",
			"/sessions/{not a uuid}/members/me",
			"DELETE",
			"/sessions/12345/members/me",
			undefined,
			invalid("id"),
		),
		restCase("wrong_types", "/sessions/{not a uuid}/invites", "GET", "/sessions/xyz/invites", undefined, invalid("id")),
		restCase(
			"wrong_types",
			"/invites/{not a code}/accept",
			"POST",
			"/invites/a%20b%21/accept",
			undefined,
			invalid("code"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/members/{unknown}",
			"DELETE",
			`${own}/members/nobody_here`,
			undefined,
			{
				status: [404],
				code: ["MEMBER_NOT_FOUND"],
			},
		),
		restCase(
			"wrong_types",
			"/sessions/{own room}/members/{myself}",
			"DELETE",
			`${own}/members/${ctx.attacker.username}`,
			undefined,
			{
				status: [409],
				code: ["OWNER_CANNOT_LEAVE"],
			},
		),
		restCase("wrong_types", "/sessions/{own room}/members/me as owner", "DELETE", `${own}/members/me`, undefined, {
			status: [409],
			code: ["OWNER_CANNOT_LEAVE"],
		}),
		restCase(
			"wrong_types",
			"/sessions/{own chat}/invites, not a room",
			"POST",
			`/sessions/${ctx.ownSessionId}/invites`,
			{},
			{
				status: [409],
				code: ["NOT_A_ROOM"],
			},
		),
		restCase("malformed_json", "/sessions truncated", "POST", "/sessions", '{"character_ids": ["', INVALID_JSON),
		restCase(
			"malformed_json",
			"/sessions/{own room}/invites two documents",
			"POST",
			`${own}/invites`,
			'{"max_uses": 1}{"max_uses": 2}',
			INVALID_JSON,
		),
		restCase(
			"malformed_json",
			"/sessions/{own room}/members top-level string",
			"POST",
			`${own}/members`,
			'"username"',
			{
				status: [400, 422],
			},
		),

		// Huge values and bodies.
		create("huge_bodies", "with 9 characters", { character_ids: uuids(9) }, invalid("character_ids")),
		create("huge_bodies", "with 1000 characters", { character_ids: uuids(1000) }, invalid("character_ids")),
		create("huge_bodies", "with 5000 characters", { character_ids: uuids(5000) }, TOO_LARGE),
		create("huge_bodies", "title of 121 characters", { ...room, title: "t".repeat(121) }, invalid("title")),
		restCase(
			"huge_bodies",
			"/sessions/{own room} cast of 1000",
			"PATCH",
			own,
			{ character_ids: uuids(1000) },
			invalid("character_ids"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/members username of 10 000",
			"POST",
			`${own}/members`,
			{ username: "u".repeat(10_000) },
			invalid("username"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/invites max_uses 1001",
			"POST",
			`${own}/invites`,
			{ max_uses: 1001 },
			invalid("max_uses"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/invites max_uses 1e308",
			"POST",
			`${own}/invites`,
			{ max_uses: 1e308 },
			invalid("max_uses"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/invites expiring past 30 days",
			"POST",
			`${own}/invites`,
			{ expires_in_seconds: 30 * 24 * 3600 + 1 },
			invalid("expires_in_seconds"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/invites expiring in 1e20 s",
			"POST",
			`${own}/invites`,
			{ expires_in_seconds: 1e20 },
			invalid("expires_in_seconds"),
		),
		restCase(
			"huge_bodies",
			"/invites/{code of 5000}/accept",
			"POST",
			`/invites/${"A".repeat(5000)}/accept`,
			undefined,
			invalid("code"),
		),
		restCase(
			"huge_bodies",
			"/sessions/{own room}/invites/{code of 5000}",
			"DELETE",
			`${own}/invites/${"A".repeat(5000)}`,
			undefined,
			invalid("code"),
		),

		// Text the database cannot store, and text that must stay text.
		create("null_bytes", "title with NUL", { ...room, title: "a\u0000b" }, invalid("title")),
		restCase(
			"null_bytes",
			"/sessions/{own room}/members username with NUL",
			"POST",
			`${own}/members`,
			{ username: `${victim}\u0000` },
			invalid("username"),
		),
		restCase(
			"injection",
			"/sessions/{own room}/members username as SQL",
			"POST",
			`${own}/members`,
			{ username: "' OR '1'='1" },
			{
				status: [404],
				code: ["USER_NOT_FOUND"],
			},
		),
		restCase(
			"injection",
			"/sessions/{own room}/members username as a LIKE pattern",
			"POST",
			`${own}/members`,
			{ username: "%" },
			{
				status: [404],
				code: ["USER_NOT_FOUND"],
			},
		),
		restCase(
			"injection",
			"/invites/{SQL}/accept",
			"POST",
			`/invites/${encodeURIComponent("' OR '1'='1")}/accept`,
			undefined,
			invalid("code"),
		),
		restCase(
			"injection",
			"/sessions/{own room}/invites/{SQL}",
			"DELETE",
			`${own}/invites/${encodeURIComponent("x' OR 'a'='a")}`,
			undefined,
			invalid("code"),
		),
		create(
			"injection",
			"titled as SQL, stored as text",
			{ ...room, title: "'); DROP TABLE session_members; --" },
			{
				...VALIDATION,
				ok: { status: 201, check: (b: Json) => readsBack(b?.title, "'); DROP TABLE session_members; --") },
			},
		),
		create(
			"unicode",
			"titled with RTL and emoji",
			{ ...room, title: "Zoë 🗡️ \u202Eevil\u202C" },
			{
				...VALIDATION,
				ok: { status: 201, check: (b: Json) => readsBack(b?.title, storedForm("Zoë 🗡️ \u202Eevil\u202C")) },
			},
		),
		restCase("path_traversal", "/invites/{..}/accept", "POST", "/invites/..%2F..%2Fsessions/accept", undefined, {
			status: [404, 422],
		}),
		restCase(
			"path_traversal",
			"/sessions/{own room}/members/{..}",
			"DELETE",
			`${own}/members/..%2F..%2Fetc`,
			undefined,
			{ status: [404, 422] },
		),
		restCase(
			"path_traversal",
			"/sessions/{own room}/invites/{own code}/..",
			"DELETE",
			`${own}/invites/${ownInvite}/..`,
			undefined,
			{ status: [404, 422] },
		),
	];
}

function uuids(count: number): string[] {
	return Array.from({ length: count }, () => crypto.randomUUID());
}

function readsBack(actual: unknown, expected: string): string | undefined {
	return actual === expected ? undefined : `title reads back as ${JSON.stringify(actual)}, sent ${json(expected)}`;
}
