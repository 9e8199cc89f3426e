/**
 * Hostile-input cases for issue 18's personal API keys (see hostile-cases.ts for the table's rules): POST and GET
 * /me/api-keys, DELETE /me/api-keys/{id}, and keys as Bearer tokens and in the chat handshake: malformed ones with the
 * prefix, a revoked one, a live one trying to mint another. prepareApiKeys makes the keys they need; the only keys the
 * table itself makes are the attacker's (two accepted creations, well under the cap of 20).
 */
import { API_KEY_PREFIX } from "../../src/domain/api-keys.js";
import {
	INVALID_JSON,
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	deepArray,
	json,
	type Category,
	type HandshakeCase,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

const NIL = "00000000-0000-4000-8000-000000000000";

/** A live key of the attacker's, a revoked one, and the id of one of the victim's. */
export async function prepareApiKeys(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const make = async (token: string, name: string) => {
		const made = await asUser(token, "POST", "/me/api-keys", { name });
		if (made.status !== 201) throw new Error(`prepareApiKeys: ${made.status} ${JSON.stringify(made.body)}`);
		return made.body as { id: string; key: string };
	};
	const [live, revoked, victims] = [
		await make(ctx.attacker.token, "Attacker's script"),
		await make(ctx.attacker.token, "Revoked"),
		await make(ctx.victim.token, "Victim's bot"),
	];
	const gone = await asUser(ctx.attacker.token, "DELETE", `/me/api-keys/${revoked.id}`);
	if (gone.status !== 204) throw new Error(`prepareApiKeys: DELETE ${gone.status}`);
	return { attackerApiKey: live.key, revokedApiKey: revoked.key, victimApiKeyId: victims.id };
}

/** Keys that are no key: each must be refused as any bad token is. */
function badKeys(ctx: HostileContext): [string, string][] {
	return [
		["the prefix alone", API_KEY_PREFIX],
		["the prefix and 5,000 characters", API_KEY_PREFIX + "A".repeat(5000)],
		["one character too long", `${ctx.ids.attackerApiKey}A`],
		["one character short", ctx.ids.attackerApiKey.slice(0, -1)],
		["non-base64url characters", API_KEY_PREFIX + "!+/=".repeat(11).slice(0, 43)],
		["SQL after the prefix", `${API_KEY_PREFIX}' OR '1'='1' --`],
		["a revoked key", ctx.ids.revokedApiKey],
		["the prefix in capitals", ctx.ids.attackerApiKey.toUpperCase()],
	];
}

export function apiKeyRequests(ctx: HostileContext): RestCase[] {
	const { victim } = ctx;
	const post = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
	) =>
		({
			category,
			name: `POST /me/api-keys ${name}`,
			method: "POST",
			path: "/me/api-keys",
			body,
			...expect,
		}) as RestCase;
	const remove = (
		category: Category,
		name: string,
		id: string,
		expect: Pick<RestCase, "status" | "code">,
	): RestCase => ({
		category,
		name: `DELETE /me/api-keys/{${name}}`,
		method: "DELETE",
		path: `/me/api-keys/${id}`,
		...expect,
	});
	const invalidName = { ...VALIDATION, field: "name" };
	const notFound = { status: [404], code: ["API_KEY_NOT_FOUND"] };
	/** The attacker's new key: named as asked, never one the request brought along, nobody else's. */
	const madeOwn = (name: string) => ({
		status: [],
		ok: {
			status: 201,
			check: (body: Json) =>
				body?.name !== name
					? `named ${JSON.stringify(body?.name)}`
					: !/^cameo_sk_[A-Za-z0-9_-]{43}$/.test(body?.key ?? "") || body.key.includes("forged")
						? `key ${JSON.stringify(body?.key)}`
						: body.user_id !== undefined
							? "answered with a user id"
							: undefined,
		},
	});

	return [
		// Without a token, nothing; with a key, nothing either: only a login manages keys.
		...(
			[
				["POST", "/me/api-keys", json({ name: "x" })],
				["GET", "/me/api-keys", undefined],
				["DELETE", `/me/api-keys/${ctx.ids.victimApiKeyId}`, undefined],
			] as const
		).flatMap(([method, path, body]): RestCase[] => [
			{
				category: "forged_jwt",
				name: `${method} ${path} without a token`,
				method,
				path,
				auth: "none",
				body,
				...UNAUTHORIZED,
			},
			{
				category: "forged_jwt",
				name: `${method} ${path} with an API key`,
				method,
				path,
				auth: { header: `Bearer ${ctx.ids.attackerApiKey}` },
				body,
				status: [403],
				code: ["LOGIN_REQUIRED"],
			},
		]),
		...badKeys(ctx).map(([label, key]): RestCase => ({
			category: "forged_jwt",
			name: `GET /me with a key: ${label}`,
			method: "GET",
			path: "/me",
			auth: { header: `Bearer ${key}` },
			...UNAUTHORIZED,
		})),

		// The name: wrong types, out of bounds, malformed, huge, nested, NUL.
		...(
			[
				["a number", 42],
				["an array", ["a"]],
				["an object", { a: 1 }],
				["null", null],
				["true", true],
				["empty", ""],
				["blank", " \t\n "],
				["101 characters", "x".repeat(101)],
			] as const
		).map(([label, name]) => post("wrong_types", `name ${label}`, json({ name }), invalidName)),
		post("wrong_types", "without a name", json({}), invalidName),
		post("malformed_json", "truncated", '{"name": "x', INVALID_JSON),
		post("huge_bodies", "name of 100 kB", json({ name: "x".repeat(100 * 1024) }), TOO_LARGE),
		post("deep_nesting", "name nested 40 deep", `{"name": ${deepArray(40)}}`, { status: [422] }),
		post("null_bytes", "name with a NUL", json({ name: "Bo\u0000t" }), { status: [422] }),
		// Extra fields are dropped: the key is the attacker's own, made here, whatever the body claims.
		post(
			"other_users",
			"naming the victim and bringing a key",
			json({ name: "Mine", user_id: victim.id, username: victim.username, key: `${API_KEY_PREFIX}forged` }),
			madeOwn("Mine"),
		),
		post(
			"injection",
			"name of SQL",
			json({ name: "'); DROP TABLE api_keys; --" }),
			madeOwn("'); DROP TABLE api_keys; --"),
		),

		// Ids: someone else's key is unknown, as is any other id; no id reaches the database unchecked.
		remove("other_users", "the victim's key", ctx.ids.victimApiKeyId, notFound),
		remove("other_users", "an unknown key", NIL, notFound),
		remove("wrong_types", "not a UUID", "not-a-uuid", VALIDATION),
		remove("injection", "SQL", encodeURIComponent("' OR 1=1--"), VALIDATION),
		remove("path_traversal", "../..", "..%2f..%2fme", { status: [400, 404, 422] }),
		remove("unicode", "an emoji", "%F0%9F%98%80", VALIDATION),
	];
}

/** The chat handshake with keys that are no key, in the URL and as a header. */
export function apiKeyHandshakes(ctx: HostileContext): HandshakeCase[] {
	const c = ctx.chatCharacterId;
	return badKeys(ctx).flatMap(([label, key]): HandshakeCase[] => [
		{
			category: "forged_jwt",
			name: `API key in the URL: ${label}`,
			path: `/ws/${c}?token=${encodeURIComponent(key)}`,
			status: [401],
		},
		{
			category: "forged_jwt",
			name: `API key as a header: ${label}`,
			path: `/ws/${c}`,
			headers: { Authorization: `Bearer ${key}` },
			status: [401],
		},
	]);
}
