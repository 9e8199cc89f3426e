/**
 * Hostile-input cases for issue 16's chat import and export routes (see hostile-cases.ts for the table's rules):
 * files that are malformed, huge, deep, full of NULs or of the wrong types, 100,000 lines long, sent as every type,
 * and exports of sessions not the attacker's. Each is refused with its 4xx; none may stall or crash the node.
 */
import {
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	deepArray,
	json,
	restCase,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";

const INVALID_CHAT = { status: [422], code: ["INVALID_CHAT"] };
const EMPTY_CHAT = { status: [422], code: ["EMPTY_CHAT"] };
const CHAT_TOO_LARGE = { status: [413], code: ["CHAT_TOO_LARGE", "PAYLOAD_TOO_LARGE"] };

export function chatTransferRequests(ctx: HostileContext): RestCase[] {
	// Made here, not at load: hostile-cases.js imports this file before its own helpers exist.
	const HEADER = json({ user_name: "unused", character_name: "unused", chat_metadata: {} });
	const lines = (...rest: string[]) => [HEADER, ...rest].join("\n");
	const importPath = `/sessions/import?character_id=${ctx.chatCharacterId}`;
	/** A file sent to the import route as `type` (application/jsonl unless said). */
	const file = (
		category: RestCase["category"],
		name: string,
		body: string | Buffer,
		expect: Pick<RestCase, "status" | "code" | "ok">,
		type = "application/jsonl",
		path = importPath,
	): RestCase => ({ ...restCase(category, `/sessions/import ${name}`, "POST", path, body, expect), type });
	const wrong = (name: string, line: Record<string, unknown>) =>
		file("wrong_types", `line with ${name}`, lines(json(line)), INVALID_CHAT);
	const form = (body: string) => Buffer.from(body.replace(/\n/g, "\r\n"), "utf8");
	const own = `/sessions/${ctx.ownSessionId}`;
	const theirs = `/sessions/${ctx.victimSessionId}`;
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	return [
		file("malformed_json", "a malformed third line", lines(json({ mes: "ok" }), '{"mes": nope}'), INVALID_CHAT),
		file("malformed_json", "a truncated line", lines('{"mes": "cut'), INVALID_CHAT),
		file(
			"malformed_json",
			"a cameo export cut short",
			'{"format": "cameo.chat", "version": 1, "messages": [',
			INVALID_CHAT,
			"application/json",
		),
		file(
			"malformed_json",
			"a cameo export of another version",
			json({ format: "cameo.chat", version: 99, messages: [{ role: "user", content: "x" }] }),
			INVALID_CHAT,
			"application/json",
		),
		file("malformed_json", "an empty file", "", EMPTY_CHAT),
		file("malformed_json", "only blank lines", "\n\r\n  \n", EMPTY_CHAT, "text/plain"),
		file("malformed_json", "only a header", HEADER, EMPTY_CHAT),
		file("malformed_json", "only system lines", lines(json({ mes: "x", is_system: true })), EMPTY_CHAT),
		wrong("mes a number", { mes: 42 }),
		wrong("mes an object", { mes: { $ne: "" } }),
		wrong("is_user a string", { mes: "x", is_user: "yes" }),
		wrong("name a list", { mes: "x", name: ["a"] }),
		wrong("extra a string", { mes: "x", extra: "x" }),
		wrong("swipes an object", { mes: "x", swipes: { 0: "a" } }),
		wrong("swipes of numbers", { mes: "x", swipes: [1, 2] }),
		wrong("swipe_id out of range", { mes: "x", swipes: ["a"], swipe_id: 5 }),
		wrong("swipe_id negative", { mes: "x", swipes: ["a"], swipe_id: -1 }),
		wrong("swipe_id a string", { mes: "x", swipes: ["a"], swipe_id: "0" }),
		wrong("a thousand swipes", { mes: "x", swipes: Array(1000).fill("s") }),
		file("wrong_types", "a line that is a list", lines("[1, 2, 3]"), INVALID_CHAT),
		file("wrong_types", "a line that is a string", lines('"mes"'), INVALID_CHAT),
		file(
			"wrong_types",
			"as an image",
			lines(json({ mes: "x" })),
			{ status: [415], code: ["UNSUPPORTED_MEDIA_TYPE"] },
			"image/png",
		),
		file(
			"wrong_types",
			"without a character",
			lines(json({ mes: "x" })),
			{ ...VALIDATION },
			"application/jsonl",
			"/sessions/import",
		),
		file(
			"wrong_types",
			"with a character that is no id",
			lines(json({ mes: "x" })),
			{ ...VALIDATION },
			"application/jsonl",
			"/sessions/import?character_id=../../etc",
		),
		file(
			"wrong_types",
			"as a form without a file part",
			form('--B\nContent-Disposition: form-data; name="other"\n\nx\n--B--\n'),
			{ status: [422], code: ["INVALID_FORM"] },
			"multipart/form-data; boundary=B",
		),
		file("huge_bodies", "a 3 MB line", lines(json({ mes: "x".repeat(3 * 1024 * 1024) })), INVALID_CHAT),
		file("huge_bodies", "100,000 lines", lines(...Array<string>(100_000).fill('{"mes":"x"}')), CHAT_TOO_LARGE),
		file("huge_bodies", "a body over the limit", Buffer.alloc(9 * 1024 * 1024, 0x20), TOO_LARGE),
		file("huge_bodies", "a message of 200,000 characters", lines(json({ mes: "x".repeat(200_000) })), INVALID_CHAT),
		file("deep_nesting", "extra nested 100,000 deep", lines(`{"mes":"x","extra":${deepArray(100_000)}}`), INVALID_CHAT),
		file("deep_nesting", "a line nested 40 deep", lines(`{"mes":"x","extra":{"a":${deepArray(40)}}}`), INVALID_CHAT),
		file("null_bytes", "a raw NUL in a line", lines('{"mes":"a\u0000b"}'), INVALID_CHAT),
		file("null_bytes", "an escaped NUL in a line", lines('{"mes":"a\\u0000b"}'), INVALID_CHAT),
		file("null_bytes", "an escaped NUL in a key", lines('{"mes":"a","extra":{"k\\u0000":1}}'), INVALID_CHAT),
		file(
			"other_users",
			"with the victim's private character",
			lines(json({ mes: "x" })),
			{ status: [404], code: ["CHARACTER_NOT_FOUND"] },
			"application/jsonl",
			`/sessions/import?character_id=${ctx.victimPrivateCharacterId}`,
		),
		{ ...file("forged_jwt", "without a token", lines(json({ mes: "x" })), UNAUTHORIZED), auth: "none" },
		restCase(
			"other_users",
			"/sessions/{victim's}/export.jsonl",
			"GET",
			`${theirs}/export.jsonl`,
			undefined,
			sessionNotFound,
		),
		restCase(
			"other_users",
			"/sessions/{victim's}/export.json",
			"GET",
			`${theirs}/export.json`,
			undefined,
			sessionNotFound,
		),
		restCase("wrong_types", "/sessions/{own}/export.xml", "GET", `${own}/export.xml`, undefined, {
			...VALIDATION,
			field: "format",
		}),
		restCase("path_traversal", "/sessions/../export.jsonl", "GET", "/sessions/..%2f..%2fetc/export.jsonl", undefined, {
			status: [404, 422],
		}),
		// A room's export naming a character the attacker may not see, ids that are not ids, and a made-up mode.
		...[
			{ reply_mode: "all", characters: [{ id: ctx.victimPrivateCharacterId }, { id: "' OR 1=1 --" }, { id: 7 }] },
			{ reply_mode: "chaos", characters: [{ id: ctx.victimPrivateCharacterId }] },
		].map((session, i) =>
			file(
				"other_users",
				`a room export naming another's private character (${i + 1})`,
				json({
					format: "cameo.chat",
					version: 1,
					session,
					messages: [
						{ role: "user", content: "hi", name: "Eve" },
						{ role: "ai", content: "hello", character_id: ctx.victimPrivateCharacterId, name: "Secret" },
					],
				}),
				{
					status: [201],
					ok: {
						status: 201,
						check: (b: Json) =>
							JSON.stringify(b).includes(ctx.victimPrivateCharacterId)
								? "the new session names the victim's private character"
								: undefined,
					},
				},
				"application/json",
			),
		),
	];
}
