/**
 * Hostile-input cases for issue 14's memory routes (see hostile-cases.ts for the table's rules). `prepareMemory` sets
 * up, as the attacker and the victim, what the cases aim at; its ids land in `ctx.ids`.
 */
import {
	ANY_4XX,
	INVALID_JSON,
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	deepArray,
	json,
	storedForm,
	type Category,
	type HostileContext,
	type RestCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

/** The attacker's greeting (a message of their own session) and the victim's reply (which has a kept prompt). */
export async function prepareMemory(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const messages = async (token: string, session: string) => {
		const page = await asUser(token, "GET", `/sessions/${session}/messages`);
		return (page.body as { messages: { id: string; role: string; reply_to: string | null }[] }).messages;
	};
	const [greeting] = await messages(ctx.attacker.token, ctx.ownSessionId);
	const reply = (await messages(ctx.victim.token, ctx.victimSessionId)).find((m) => m.role === "ai" && m.reply_to);
	if (!greeting || !reply) throw new Error("prepareMemory: the sessions hold no greeting or no reply");
	return { ownGreetingId: greeting.id, victimReplyId: reply.id };
}

/** Text a summary may hold: stored and shown back exactly as written. */
const STORED_AS_WRITTEN: [Category, string, string][] = [
	["injection", "SQL quote", "Robert'); DROP TABLE chat_sessions;--"],
	["injection", "SQL comment and dollar quotes", "$1 $$ ::text /* x */ --"],
	["injection", "script tag", "<script>alert(1)</script>"],
	["injection", "template syntax", "{{user}} ${7*7} <%= 7*7 %>"],
	["unicode", "RTL override", "Safe\u202Egnp.exe"],
	["unicode", "emoji ZWJ", "fam \u{1F468}\u200D\u{1F469}\u200D\u{1F467} ily"],
	["unicode", "lone surrogate", "a\uD800b"],
	["unicode", "line separators", "a\u2028b\u2029c"],
];

export function memoryRequests(ctx: HostileContext): RestCase[] {
	const own = `/sessions/${ctx.ownSessionId}`;
	const theirs = `/sessions/${ctx.victimSessionId}`;
	const { ownGreetingId, victimReplyId } = ctx.ids;
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const update = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field">,
	) => ({
		category,
		name: `PATCH /sessions/{own}/memory ${name}`,
		method: "PATCH",
		path: `${own}/memory`,
		body,
		...expect,
	});
	const wrong: [string, unknown][] = [
		["number", 42],
		["boolean", true],
		["operator object", { $ne: "" }],
	];
	return [
		// Someone else's session, message or prompt: as if it did not exist.
		{
			category: "other_users",
			name: "GET /sessions/{theirs}/memory",
			method: "GET",
			path: `${theirs}/memory`,
			...sessionNotFound,
		},
		{
			category: "other_users",
			name: "PATCH /sessions/{theirs}/memory",
			method: "PATCH",
			path: `${theirs}/memory`,
			body: json({ summary: "Mine now", pinned: [] }),
			...sessionNotFound,
		},
		update("other_users", "pinning their message", json({ pinned: [ctx.victimMessageId] }), {
			status: [404],
			code: ["MESSAGE_NOT_FOUND"],
		}),
		{
			category: "other_users",
			name: "GET /sessions/{theirs}/messages/{their reply}/prompt",
			method: "GET",
			path: `${theirs}/messages/${victimReplyId}/prompt`,
			...sessionNotFound,
		},
		{
			category: "other_users",
			name: "GET /sessions/{own}/messages/{their reply}/prompt",
			method: "GET",
			path: `${own}/messages/${victimReplyId}/prompt`,
			status: [404],
			code: ["PROMPT_NOT_FOUND"],
		},
		// One's own memory: answered as designed.
		{
			...update("other_users", "pinning my greeting", json({ pinned: [ownGreetingId] }), { status: [] }),
			ok: {
				status: 200,
				check: (b) => (json(b.pinned) === json([ownGreetingId]) ? undefined : `pinned reads ${json(b.pinned)}`),
			},
		},
		// Wrong types and out of range.
		...[...wrong, ["array", ["x"]], [`${8001} characters`, "s".repeat(8001)]].map(([label, summary]) =>
			update("wrong_types", `summary as ${label}`, json({ summary }), invalid("summary")),
		),
		...[
			...wrong,
			["string", ownGreetingId],
			["list of numbers", [42]],
			["list of non-UUIDs", ["12345"]],
			["nested list", [[ownGreetingId]]],
			["null", null],
			["51 ids", Array.from({ length: 51 }, () => ownGreetingId)],
		].map(([label, pinned]) => update("wrong_types", `pinned as ${label}`, json({ pinned }), invalid("pinned"))),
		...[
			["GET", "/sessions/12345/memory", "id"],
			["PATCH", "/sessions/abc/memory", "id"],
			["GET", `${own}/messages/12345/prompt`, "message_id"],
			["GET", `/sessions/x/messages/${victimReplyId}/prompt`, "id"],
		].map(([method, path, field]) => ({
			category: "wrong_types" as const,
			name: `${method} ${path.replace(ctx.ownSessionId, "{own}").replace(victimReplyId, "{reply}")}`,
			method,
			path,
			body: method === "PATCH" ? json({ summary: "x" }) : undefined,
			...invalid(field),
		})),
		...[
			["truncated", '{"summary": "x'],
			["two documents", '{"summary": "a"}{"summary": "b"}'],
			["top-level string", '"summary"'],
		].map(([kind, body]) => update("malformed_json", kind, body, INVALID_JSON)),
		update("malformed_json", "top-level array", json([ownGreetingId]), { status: ANY_4XX }),
		update("wrong_types", "with nothing to change", json({ title: "x" }), invalid("summary")),
		update("huge_bodies", "summary of 70 kB", json({ summary: "s".repeat(70 * 1024) }), TOO_LARGE),
		update("deep_nesting", "pinned nested 5,000 deep", json({ pinned: "x" }).replace('"x"', deepArray(5000)), {
			status: [400, 413, 422],
		}),
		update("null_bytes", "summary", json({ summary: "a\u0000b" }), { status: [400, 422], code: ["VALIDATION_ERROR"] }),
		// Text is text: stored as written, never run.
		...STORED_AS_WRITTEN.map(([category, label, summary]) => ({
			...update(category, `summary with ${label}`, json({ summary }), { status: [] }),
			ok: {
				status: 200,
				check: (b: { summary: unknown }) =>
					b.summary === storedForm(summary) ? undefined : `summary reads ${json(b.summary)}`,
			},
		})),
		{
			category: "forged_jwt",
			name: "GET /sessions/{own}/memory without a token",
			method: "GET",
			path: `${own}/memory`,
			auth: "none",
			...UNAUTHORIZED,
		},
		{
			category: "forged_jwt",
			name: "GET /sessions/{own}/messages/{reply}/prompt without a token",
			method: "GET",
			path: `${own}/messages/${victimReplyId}/prompt`,
			auth: "none",
			...UNAUTHORIZED,
		},
		{
			category: "path_traversal",
			name: "GET /sessions/../characters/memory",
			method: "GET",
			path: "/sessions/..%2fcharacters/memory",
			status: [400, 404, 422],
		},
	];
}
