/**
 * Hostile-input cases for GET /search (issue 16; see hostile-cases.ts for the table's rules). The attacker searches for
 * what the victim wrote ("my private thoughts" in `victimSessionId`) and the victim's rooms hold; tsquery, LIKE, regex
 * and SQL syntax, NUL bytes, huge and odd unicode queries, and out-of-range or forged paging. Each answer is a 422 or a
 * 200 whose hits are all the attacker's own (their chats and the room they are a member of), never a 500, never slow.
 */
import {
	UNAUTHORIZED,
	VALIDATION,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";

export function searchRequests(ctx: HostileContext): RestCase[] {
	const { theirRoom, removedRoom } = ctx.ids;
	const forbidden = new Set([ctx.victimSessionId, theirRoom, removedRoom].filter(Boolean));
	/** A page of hits, none of them in a session of the victim's the attacker may not read. */
	const ownHits = (body: Json): string | undefined => {
		if (!Array.isArray(body?.hits)) return "no hits list";
		const leaked = body.hits.find((h: { session_id: string }) => forbidden.has(h.session_id));
		if (leaked) return `a hit of another user's session: ${JSON.stringify(leaked)}`;
		if (body.next_before !== null && typeof body.next_before !== "string") return "next_before is not a cursor";
		return undefined;
	};
	const found = { status: [], ok: { status: 200, check: ownHits } };
	const get = (
		category: Category,
		name: string,
		query: string,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
	) => ({ category, name: `GET /search?${name}`, method: "GET", path: `/search?${query}`, ...expect }) as RestCase;
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const q = (text: string) => `q=${encodeURIComponent(text)}`;
	const cjk = Array.from({ length: 4000 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join("");

	return [
		// Another user's words, by every way in.
		get("other_users", "q={victim's words}", q("my private thoughts"), found),
		get("other_users", "q={victim's word}&limit=50", `${q("private")}&limit=50`, found),
		get(
			"other_users",
			"q=private&character_id={victim's character}",
			`${q("private")}&character_id=${ctx.victimPublicCharacterId}`,
			found,
		),
		get(
			"other_users",
			"q=private&character_id={victim's private character}",
			`${q("private")}&character_id=${ctx.victimPrivateCharacterId}`,
			found,
		),
		get("other_users", "q={the victim's room title}", q("Victim's room"), found),
		get("other_users", "q={a greeting, as seen in a room one is in}", q("traveller"), found),
		{ ...get("forged_jwt", "q=private without a token", q("private"), UNAUTHORIZED), auth: "none" },

		// Query syntax of PostgreSQL's tsquery, LIKE, regular expressions and SQL, as plain text.
		...[
			"!&|():*",
			"a:* | b:*",
			"private:* & !nothing",
			"((((((((((private",
			"'private' <-> 'thoughts'",
			"' OR 1=1 --",
			"%' OR '1'='1",
			"%%%",
			"___",
			"\\\\\\",
			".*",
			"(a+)+$",
			"'; SELECT pg_sleep(10); --",
			'"unterminated phrase',
			"-private",
			"private OR thoughts",
		].map((text) => get("injection", `q=${text}`, q(text), found)),

		// Length and characters.
		get("huge_bodies", "q={201 characters}", q("x".repeat(201)), invalid("q")),
		get("huge_bodies", "q={8,000 characters}", q("private ".repeat(1000)), invalid("q")),
		// 36 kB of URL: the HTTP parser refuses it (431) before the validator would (422).
		get("unicode", "q={4,000 random CJK}", q(cjk), { status: [422, 431] }),
		get("unicode", "q={200 CJK}", q(cjk.slice(0, 200)), found),
		get("unicode", "q=東", q("東"), found),
		get("unicode", "q={emoji}", q("😀"), found),
		get("unicode", "q={RTL override}", q("\u202Eprivate"), found),
		get("unicode", "q={the highlight markers}", q("\uE000private\uE001"), found),
		{ ...get("unicode", "q={lone surrogate}", "q=%ED%A0%80", { status: [400, 422] }), ok: found.ok },
		get("null_bytes", "q=a%00b", "q=a%00b", { status: [422] }),
		get("null_bytes", "q=private&before=%00", `${q("private")}&before=%00`, { status: [422] }),

		// Parameters out of range or of the wrong type.
		get("wrong_types", "(no q)", "limit=5", invalid("q")),
		get("wrong_types", "q=", "q=", invalid("q")),
		get("wrong_types", "q={spaces}", q("   "), invalid("q")),
		get("wrong_types", "q[]=a&q[]=b", "q[]=a&q[]=b", { status: [400, 422] }),
		...["0", "51", "-1", "1.5", "1e9", "abc", "9999999999999999999999"].map((limit) =>
			get("wrong_types", `q=private&limit=${limit}`, `${q("private")}&limit=${limit}`, invalid("limit")),
		),
		...["1 OR 1=1", "00000000-0000-0000-0000", "../../etc/passwd"].map((id) =>
			get(
				"wrong_types",
				`q=private&character_id=${id}`,
				`${q("private")}&character_id=${encodeURIComponent(id)}`,
				invalid("character_id"),
			),
		),
		...[
			"garbage",
			Buffer.from("0.5:1; DROP TABLE messages").toString("base64url"),
			Buffer.from("-1:1").toString("base64url"),
			Buffer.from("NaN:1").toString("base64url"),
			Buffer.from("1e400:1").toString("base64url"),
			Buffer.from("0.5:99999999999999999999").toString("base64url"),
			"A".repeat(65),
			"a+b/c=",
		].map((before) =>
			get(
				"wrong_types",
				`q=private&before=${before.slice(0, 24)}`,
				`${q("private")}&before=${encodeURIComponent(before)}`,
				invalid("before"),
			),
		),
	];
}
