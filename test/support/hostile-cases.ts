/**
 * The hostile-input tables of test/integration/hostile-inputs.spec.ts: REST requests, WebSocket handshakes and
 * WebSocket frames an attacker might send, each with what cameo must answer. Generated where one rule covers many
 * routes or fields: every JSON route x every malformed body, every field x every wrong type, every forged token x
 * every place a token is read, every string field x a NUL byte.
 *
 * The tables are built from a HostileContext (the accounts, characters, sessions and messages the spec set up), so
 * every case is a concrete request. Payloads never contain the markers the spec searches answers for (`at /`,
 * `node_modules`, `.ts:`, SQL error text), so an echoed payload is not mistaken for a leak.
 */
import { createHmac, createSign, generateKeyPairSync } from "node:crypto";
import { crc32, deflateSync, gzipSync } from "node:zlib";
import { randomCjk } from "./stalls.js";
import { slugify } from "../../src/domain/characters.js";
import { personaRequests } from "./hostile-personas.js";
import { lorebookRequests } from "./hostile-lorebooks.js";
import { memoryRequests } from "./hostile-memory.js";
import { roomRequests } from "./hostile-rooms.js";
import { chatTransferRequests } from "./hostile-chat-transfer.js";
import { searchRequests } from "./hostile-search.js";
import { openaiRequests } from "./hostile-openai.js";
import { accountRequests } from "./hostile-account.js";
import { adminRequests } from "./hostile-admin.js";
import { moderationRequests } from "./hostile-moderation.js";
import { presetRequests } from "./hostile-presets.js";
import { ownProviderRequests } from "./hostile-own-provider.js";
import { apiKeyHandshakes, apiKeyRequests } from "./hostile-api-keys.js";
import { wsTicketHandshakes, wsTicketRequests } from "./hostile-ws-tickets.js";

export const CATEGORIES = [
	"malformed_json",
	"malformed_http",
	"wrong_types",
	"huge_bodies",
	"deep_nesting",
	"unicode",
	"null_bytes",
	"injection",
	"forged_jwt",
	"other_users",
	"path_traversal",
	"png_bombs",
	"ws_frames",
	"ws_handshake",
	"ws_flood",
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Account {
	id: string;
	username: string;
	token: string;
}

export interface HostileContext {
	secret: string;
	attacker: Account;
	victim: Account;
	/** The attacker's own private character (the target of PATCH cases). */
	ownCharacterId: string;
	/** A session of the attacker with `chatCharacterId`. */
	ownSessionId: string;
	victimPrivateCharacterId: string;
	victimPrivateCharacterName: string;
	victimPublicCharacterId: string;
	victimSessionId: string;
	/** The victim's last user message in `victimSessionId`. */
	victimMessageId: string;
	/** A public character anyone may chat with. */
	chatCharacterId: string;
	/** Ids the issue-14 and issue-15 case files set up for themselves (their `prepare*`), by a name of their choosing. */
	ids: Record<string, string>;
}

/** A response body as the spec parsed it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes
export type Json = any;

export interface RestCase {
	category: Category;
	name: string;
	method: string;
	/** Sent as it is, never normalized (`..` and `%2e` reach the server). */
	path: string;
	/** The attacker's Bearer token (default), none, or a raw Authorization header. */
	auth?: "attacker" | "none" | { header: string };
	/** Content-Type; application/json when a body is given, unless null (no header). */
	type?: string | null;
	headers?: Record<string, string>;
	body?: string | Buffer;
	/** The refusal: one of these statuses, and (when given) one of these codes. */
	status: number[];
	code?: string[];
	/** The validation error names this field (VALIDATION_ERROR's `errors[].field` starts with it). */
	field?: string;
	/** The server may instead store the input as plain text: the new character must read back with exactly these fields. */
	stored?: Record<string, unknown>;
	/** A 2xx that is the right answer (a listing, one's own data): `check` returns what is wrong, if anything. */
	ok?: { status: number; check(body: Json): string | undefined };
}

export type HandshakeTarget = "chat-ws" | "gateway";

export interface HandshakeCase {
	category: Category;
	name: string;
	/** Path and query, sent as they are. */
	path: string;
	headers?: Record<string, string>;
	/** The refusal's status. */
	status: number[];
}

export type FrameExpectation =
	| { error: string }
	| { close: number[] }
	/** Stored and echoed as this exact text: plain text, not refused, not changed. */
	| { echo: string }
	/** No answer at all (a stop frame): the next frame's answer comes first. */
	| { ignored: true };

export interface FrameCase {
	category: Category;
	name: string;
	/** A text frame (a Buffer is sent as a text frame with those raw bytes), or a binary frame with `binary`. */
	frame: string | Buffer;
	binary?: boolean;
	expect: FrameExpectation;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

export const ANY_4XX = [400, 401, 403, 404, 405, 409, 413, 415, 422, 431];
export const VALIDATION = { status: [422], code: ["VALIDATION_ERROR"] };
export const INVALID_JSON = { status: [400], code: ["INVALID_JSON"] };
export const TOO_LARGE = { status: [413], code: ["PAYLOAD_TOO_LARGE", "CARD_TOO_LARGE"] };
export const UNAUTHORIZED = { status: [401], code: ["UNAUTHORIZED"] };
export const FORBIDDEN = { status: [403], code: ["FORBIDDEN"] };

/** Admin routes (method, path, body an admin could send): 401 without a token, 403 to the attacker, a user. */
export function adminAccessCases(routes: [string, string, string | undefined][]): RestCase[] {
	return routes.flatMap(([method, path, body]): RestCase[] => [
		{
			category: "forged_jwt",
			name: `${method} ${path} without a token`,
			method,
			path,
			auth: "none",
			body,
			...UNAUTHORIZED,
		},
		{ category: "other_users", name: `${method} ${path} as a user`, method, path, body, ...FORBIDDEN },
	]);
}

let serial = 0;
/** A short tag that keeps names (and the slugs made from them) of concurrently created characters apart. */
/** A case of `method path` with `body` (sent as it is when a string or bytes, else as JSON), named after them. */
export function restCase(
	category: Category,
	name: string,
	method: string,
	path: string,
	body: unknown,
	expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
): RestCase {
	const raw = body === undefined || typeof body === "string" || Buffer.isBuffer(body);
	return { category, name: `${method} ${name}`, method, path, body: raw ? body : json(body), ...expect };
}

export function tag(): string {
	serial += 1;
	return `h${serial.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export const json = (value: unknown) => JSON.stringify(value);
export const deepArray = (depth: number, leaf: unknown = "x") => "[".repeat(depth) + json(leaf) + "]".repeat(depth);
export const deepObject = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

/** What PostgreSQL (UTF-8) keeps of a JavaScript string: lone surrogates become U+FFFD. */
export const storedForm = (text: string) => Buffer.from(text, "utf8").toString("utf8");

interface JsonRoute {
	label: string;
	method: string;
	path: (ctx: HostileContext) => string;
	auth: "attacker" | "none";
	/** The route's JSON body limit in bytes. */
	limit: number;
}

const JSON_ROUTES: JsonRoute[] = [
	{ label: "POST /register", method: "POST", path: () => "/register", auth: "none", limit: 16 * 1024 },
	{ label: "POST /login", method: "POST", path: () => "/login", auth: "none", limit: 16 * 1024 },
	{ label: "POST /token", method: "POST", path: () => "/token", auth: "none", limit: 16 * 1024 },
	{ label: "POST /validate", method: "POST", path: () => "/validate", auth: "none", limit: 16 * 1024 },
	{ label: "POST /characters", method: "POST", path: () => "/characters", auth: "attacker", limit: 64 * 1024 },
	{ label: "POST /api/characters", method: "POST", path: () => "/api/characters", auth: "attacker", limit: 64 * 1024 },
	{
		label: "PATCH /characters/id/{own}",
		method: "PATCH",
		path: (c) => `/characters/id/${c.ownCharacterId}`,
		auth: "attacker",
		limit: 64 * 1024,
	},
	{
		label: "POST /characters/import",
		method: "POST",
		path: () => "/characters/import",
		auth: "attacker",
		limit: 2 * 1024 * 1024,
	},
];

const STRING_FIELDS = [
	"name",
	"slug",
	"description",
	"system_prompt",
	"greeting",
	"personality",
	"scenario",
	"mes_example",
	"post_history_instructions",
	"creator_notes",
	"creator",
	"character_version",
	"llm_model",
] as const;
const BOOLEAN_FIELDS = ["is_public", "is_active"] as const;
const LIST_FIELDS = ["alternate_greetings", "tags"] as const;
const NUMBER_FIELDS = ["temperature", "max_output_tokens"] as const;
/** Fields that take null (back to the configured default). */
const NULLABLE = new Set(["llm_model", "temperature", "max_output_tokens"]);

const WRONG_STRING: [string, unknown][] = [
	["number", 42],
	["boolean", true],
	["array", ["x"]],
	["operator object", { $ne: "" }],
];
const WRONG_BOOLEAN: [string, unknown][] = [
	["string", "true"],
	["number", 1],
	["array", [true]],
];
const WRONG_LIST: [string, unknown][] = [
	["string", "not a list"],
	["list of numbers", [42]],
	["nested list", [["x"]]],
	["object", { 0: "a" }],
];
const WRONG_NUMBER: [string, unknown][] = [
	["string", "0.5"],
	["boolean", true],
	["array", [1]],
	["operator object", { $gt: 0 }],
];

/** A valid new character: private, so the accepted cases stay out of other test files' galleries. */
const baseCharacter = () => ({
	name: `Hostile ${tag()}`,
	system_prompt: "You are a test character.",
	is_public: false,
});

// ---------------------------------------------------------------------------------------------------------------
// Forged tokens

const b64url = (value: Buffer | string) => Buffer.from(value).toString("base64url");

/** A JWT from parts of our choosing: HMAC-SHA-`bits` with `key`, an RSA signature, or none. */
function forge(
	header: object | string,
	payload: object | string,
	sign: { hmac: string | Buffer; bits?: 256 | 384 | 512 } | { rsa: string } | null,
): string {
	const part = (v: object | string) => b64url(typeof v === "string" ? v : json(v));
	const input = `${part(header)}.${part(payload)}`;
	if (!sign) return `${input}.`;
	if ("rsa" in sign) return `${input}.${createSign("RSA-SHA256").update(input).sign(sign.rsa, "base64url")}`;
	return `${input}.${createHmac(`sha${sign.bits ?? 256}`, sign.hmac)
		.update(input)
		.digest("base64url")}`;
}

const forgedCache = new WeakMap<HostileContext, { name: string; token: string }[]>();

/** Tokens an attacker can make without our secret, and ours with claims that must still be refused. */
export function forgedTokens(ctx: HostileContext): { name: string; token: string }[] {
	const cached = forgedCache.get(ctx);
	if (cached) return cached;
	const tokens = makeForgedTokens(ctx);
	forgedCache.set(ctx, tokens);
	return tokens;
}

function makeForgedTokens(ctx: HostileContext): { name: string; token: string }[] {
	const now = Math.floor(Date.now() / 1000);
	const me = { sub: ctx.attacker.username, uid: ctx.attacker.id, iat: now, exp: now + 600 };
	const hs256 = { alg: "HS256", typ: "JWT" };
	const right = { hmac: ctx.secret };
	const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const rsaPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
	const jwk = publicKey.export({ format: "jwk" });
	const valid = ctx.attacker.token;
	const [vh, vp, vs] = valid.split(".");
	return [
		{ name: "wrong secret", token: forge(hs256, me, { hmac: "not-the-secret-but-32-characters-long!!" }) },
		{ name: "alg none, no signature", token: forge({ alg: "none", typ: "JWT" }, me, null) },
		{ name: "alg NONE", token: forge({ alg: "NONE" }, me, null) },
		{ name: "alg nOnE with a valid HS256 signature", token: forge({ alg: "nOnE" }, me, right) },
		{
			name: "alg HS512 with the right secret",
			token: forge({ alg: "HS512", typ: "JWT" }, me, { hmac: ctx.secret, bits: 512 }),
		},
		{
			name: "alg HS384 with the right secret",
			token: forge({ alg: "HS384", typ: "JWT" }, me, { hmac: ctx.secret, bits: 384 }),
		},
		{
			name: "alg RS256 header, HMAC-signed with the secret (alg confusion)",
			token: forge({ alg: "RS256", typ: "JWT" }, me, right),
		},
		{ name: "RS256 with the attacker's RSA key", token: forge({ alg: "RS256", typ: "JWT" }, me, { rsa: rsaPem }) },
		{ name: "embedded jwk header (CVE-2018-0114)", token: forge({ alg: "RS256", jwk }, me, { rsa: rsaPem }) },
		{
			name: "jku header to the attacker's key set",
			token: forge({ alg: "RS256", jku: "http://127.0.0.1:1/jwks.json" }, me, { rsa: rsaPem }),
		},
		{
			name: "kid ../../etc/passwd, signed with an empty key",
			token: forge({ ...hs256, kid: "../../etc/passwd" }, me, { hmac: "" }),
		},
		{
			name: "kid ../../../../dev/null, signed with an empty key",
			token: forge({ ...hs256, kid: "../../../../dev/null" }, me, { hmac: "" }),
		},
		{
			name: "kid with SQL, signed with the selected value",
			token: forge({ ...hs256, kid: "x' UNION SELECT 'key' --" }, me, { hmac: "key" }),
		},
		{
			name: "kid |cat /etc/passwd, signed with its output",
			token: forge({ ...hs256, kid: "|cat /etc/passwd" }, me, { hmac: "root:x:0:0:root:/root:/bin/bash" }),
		},
		{ name: "expired", token: forge(hs256, { ...me, iat: now - 7200, exp: now - 3600 }, right) },
		{ name: "not yet valid (nbf in an hour)", token: forge(hs256, { ...me, nbf: now + 3600 }, right) },
		{ name: "no exp", token: forge(hs256, { sub: me.sub, uid: me.uid, iat: now }, right) },
		{ name: "exp as a string", token: forge(hs256, { ...me, exp: String(now + 600) }, right) },
		{ name: "missing sub", token: forge(hs256, { uid: me.uid, iat: now, exp: now + 600 }, right) },
		{ name: "missing uid", token: forge(hs256, { sub: me.sub, iat: now, exp: now + 600 }, right) },
		{ name: "uid with SQL", token: forge(hs256, { ...me, uid: "1' OR '1'='1" }, right) },
		{
			name: "uid of another user with the attacker's username",
			token: forge(hs256, { ...me, uid: ctx.victim.id }, right),
		},
		{
			name: "another user's username with the attacker's uid",
			token: forge(hs256, { ...me, sub: ctx.victim.username }, right),
		},
		{
			name: "another user's claims, wrong secret",
			token: forge(hs256, { ...me, sub: ctx.victim.username, uid: ctx.victim.id }, { hmac: "guess" }),
		},
		{
			name: "unknown user",
			token: forge(hs256, { ...me, sub: "ghost_user", uid: "00000000-0000-4000-8000-000000000000" }, right),
		},
		{ name: "payload is a JSON string", token: forge(hs256, json("just a string"), right) },
		{ name: "payload is not JSON", token: forge(hs256, "{not json", right) },
		{ name: "valid token, signature stripped", token: `${vh}.${vp}.` },
		{ name: "valid token, two parts", token: `${vh}.${vp}` },
		{ name: "valid token, four parts", token: `${valid}.${vs}` },
		{
			name: "valid token, signature bit flipped",
			token: `${vh}.${vp}.${vs.slice(0, -2)}${vs.at(-2) === "A" ? "B" : "A"}${vs.at(-1)}`,
		},
		{ name: "valid token with its header swapped for alg none", token: `${b64url(json({ alg: "none" }))}.${vp}.${vs}` },
		{ name: "huge token (8 kB, over the length limit)", token: forge(hs256, { ...me, pad: "p".repeat(6000) }, right) },
		{ name: "not a JWT at all", token: "definitely-not-a-jwt" },
	];
}

// ---------------------------------------------------------------------------------------------------------------
// PNG files

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG chunk; `declared` overrides the length field (the data stays as given). */
function chunk(type: string, data: Buffer, declared = data.length): Buffer {
	const head = Buffer.alloc(8);
	head.writeUInt32BE(declared >>> 0, 0);
	head.write(type, 4, "latin1");
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(data, crc32(Buffer.from(type, "latin1"))) >>> 0, 0);
	return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number): Buffer {
	const data = Buffer.alloc(13);
	data.writeUInt32BE(width >>> 0, 0);
	data.writeUInt32BE(height >>> 0, 4);
	data[8] = 8; // bit depth
	data[9] = 6; // RGBA
	return chunk("IHDR", data);
}

const IEND = chunk("IEND", Buffer.alloc(0));
// One RGBA pixel: filter byte + 4 bytes.
const IDAT = chunk("IDAT", deflateSync(Buffer.alloc(5)));
const png = (...chunks: Buffer[]) => Buffer.concat([PNG_SIGNATURE, ...chunks]);
const textChunk = (keyword: string, text: string) =>
	chunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0]), Buffer.from(text, "latin1")]));
const cardText = (card: unknown) => Buffer.from(json(card), "utf8").toString("base64");
export const v2Card = (name: string, extra: Record<string, unknown> = {}) => ({
	spec: "chara_card_v2",
	spec_version: "2.0",
	data: { name, description: "", personality: "", scenario: "", first_mes: "Hello.", mes_example: "", ...extra },
});

// ---------------------------------------------------------------------------------------------------------------
// Payloads

/** Unicode that must be stored as it is (or refused): each [label, text]. */
const UNICODE: [string, string][] = [
	["RTL override", "Safe\u202Egnp.exe"],
	["bidi isolates", "a\u2066b\u2067c\u2068d\u2069e"],
	["zero-width space, joiner, non-joiner, word joiner", "ad\u200Bm\u200Ci\u200Dn\u2060x"],
	["BOM inside", "in\uFEFFside"],
	["combining marks (zalgo)", "Z" + "\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030A".repeat(5)],
	["emoji ZWJ family", "fam \u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466} ily"],
	["rainbow flag and skin tone", "\u{1F3F3}\uFE0F\u200D\u{1F308} \u{1F44D}\u{1F3FD}"],
	["astral CJK", "\u{2070E}\u{20731}\u{20779}"],
	["noncharacters", "a\uFFFEb\uFFFFc"],
	["line and paragraph separators", "a\u2028b\u2029c"],
	["C0 and C1 controls", "a\u0001b\u001Fc\u007Fd\u0085e"],
	["NFD vs NFC", "e\u0301 vs \u00E9"],
	["fullwidth ADMIN", "\uFF21\uFF24\uFF2D\uFF29\uFF2E"],
	["Hangul filler", "a\u3164b"],
	["lone high surrogate", "a\uD800b"],
	["lone low surrogate", "a\uDC00b"],
	["reversed surrogate pair", "a\uDC00\uD800b"],
];

/** Bytes that are not UTF-8 (or only look like it): each [label, bytes], sent raw. */
const RAW_UTF8: [string, number[]][] = [
	["overlong '/' (C0 AF)", [0xc0, 0xaf]],
	["3-byte overlong '/' (E0 80 AF)", [0xe0, 0x80, 0xaf]],
	["4-byte overlong '/' (F0 80 80 AF)", [0xf0, 0x80, 0x80, 0xaf]],
	["UTF-8-encoded surrogate (ED A0 80)", [0xed, 0xa0, 0x80]],
	["5-byte sequence (F8 88 80 80 80)", [0xf8, 0x88, 0x80, 0x80, 0x80]],
	["lone continuation byte", [0x80]],
	["truncated sequence (E2 82)", [0xe2, 0x82]],
	["beyond U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
];

const SQL: string[] = [
	"' OR '1'='1",
	"Robert'); DROP TABLE users;--",
	'" OR ""="',
	"1; SELECT pg_sleep(5)--",
	"') UNION SELECT hashed_password FROM users--",
	"%' OR name LIKE '%",
	"\\'; TRUNCATE ai_characters; --",
	"$1 $$ ::text",
];
const HTML: string[] = [
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(document.cookie)>",
	'"><svg onload=alert(1)>',
	"javascript:alert(1)",
	"{{constructor.constructor('alert(1)')()}}",
	"${7*7} {{7*7}} <%= 7*7 %>",
	"<!-- ]]> &lt;&amp; -->",
	"<iframe srcdoc='<script>parent.x=1</script>'>",
];

// ---------------------------------------------------------------------------------------------------------------
// REST cases

export function buildRestCases(ctx: HostileContext): RestCase[] {
	return [
		...malformedJson(ctx),
		...wrongTypes(ctx),
		...hugeBodies(ctx),
		...deepNesting(ctx),
		...unicode(),
		...nullBytes(ctx),
		...injection(ctx),
		...forgedJwtRest(ctx),
		...otherUsers(ctx),
		...pathTraversal(ctx),
		...pngBombs(),
		...avatarRequests(ctx),
		...sessionRequests(ctx),
		...storyRequests(ctx),
		...personaRequests(ctx),
		...lorebookRequests(ctx),
		...memoryRequests(ctx),
		...roomRequests(ctx),
		...chatTransferRequests(ctx),
		...searchRequests(ctx),
		...openaiRequests(ctx),
		...accountRequests(ctx),
		...adminRequests(ctx),
		...moderationRequests(ctx),
		...presetRequests(ctx),
		...ownProviderRequests(),
		...apiKeyRequests(ctx),
		...wsTicketRequests(ctx),
	];
}

function malformedJson(ctx: HostileContext): RestCase[] {
	const kinds: { kind: string; body: string | Buffer; expect: Pick<RestCase, "status" | "code"> }[] = [
		{ kind: "truncated mid-string", body: '{"name": "Trunc", "system_prompt": "x', expect: INVALID_JSON },
		{ kind: "truncated after a colon", body: '{"name":', expect: INVALID_JSON },
		{ kind: "trailing garbage", body: '{"name": "a"} trailing', expect: INVALID_JSON },
		{ kind: "two documents", body: '{"a": 1}{"b": 2}', expect: INVALID_JSON },
		{ kind: "NaN", body: '{"name": "a", "temperature": NaN}', expect: INVALID_JSON },
		{ kind: "-Infinity", body: '{"name": "a", "temperature": -Infinity}', expect: INVALID_JSON },
		{ kind: "block comment", body: '{/* hi */ "name": "a"}', expect: INVALID_JSON },
		{ kind: "line comment", body: '// hi\n{"name": "a"}', expect: INVALID_JSON },
		{ kind: "single quotes", body: "{'name': 'a'}", expect: INVALID_JSON },
		{ kind: "unquoted key", body: '{name: "a"}', expect: INVALID_JSON },
		{ kind: "trailing comma", body: '{"name": "a",}', expect: INVALID_JSON },
		{ kind: "invalid escape", body: '{"name": "\\x41"}', expect: INVALID_JSON },
		{ kind: "raw control character in a string", body: '{"name": "a\u0001b"}', expect: INVALID_JSON },
		{ kind: "raw newline in a string", body: '{"name": "a\nb"}', expect: INVALID_JSON },
		{ kind: "top-level string", body: '"just a string"', expect: INVALID_JSON },
		{ kind: "top-level number", body: "42", expect: INVALID_JSON },
		{ kind: "top-level null", body: "null", expect: INVALID_JSON },
		{ kind: "lone bracket", body: "[", expect: INVALID_JSON },
		{ kind: "UTF-8 BOM before an empty object", body: "\uFEFF{}", expect: { status: ANY_4XX } },
		{ kind: "UTF-16LE bytes", body: Buffer.from('{"name":"a"}', "utf16le"), expect: { status: ANY_4XX } },
		{ kind: "empty body", body: "", expect: { status: ANY_4XX } },
		{ kind: "top-level array", body: "[]", expect: { status: ANY_4XX } },
	];
	// Bodies that do not decompress: 400, not a 500 with a stack trace in the log.
	const corrupt = { status: [400], code: ["INVALID_CONTENT_ENCODING"] };
	const encodings: [string, string, Buffer][] = [
		["gzip", "not gzip at all", Buffer.from("not gzip at all")],
		["gzip", "truncated gzip", gzipSync(Buffer.from('{"name": "a", "system_prompt": "x"}')).subarray(0, 14)],
		["deflate", "a broken deflate stream", Buffer.from([0x78, 0x9c, 1, 2, 3])],
	];
	return JSON_ROUTES.flatMap((route) => [
		...kinds.map((k) => ({
			category: "malformed_json" as const,
			name: `${route.label}: ${k.kind}`,
			method: route.method,
			path: route.path(ctx),
			auth: route.auth,
			body: k.body,
			...k.expect,
		})),
		...encodings.map(([encoding, kind, body]) => ({
			category: "malformed_json" as const,
			name: `${route.label}: Content-Encoding ${encoding} with ${kind}`,
			method: route.method,
			path: route.path(ctx),
			auth: route.auth,
			headers: { "Content-Encoding": encoding },
			body,
			...corrupt,
		})),
	]);
}

function wrongTypes(ctx: HostileContext): RestCase[] {
	const cases: RestCase[] = [];
	const add = (name: string, method: string, path: string, auth: "attacker" | "none", body: string, field?: string) =>
		cases.push({ category: "wrong_types", name, method, path, auth, body, field, ...VALIDATION });

	// Accounts.
	const account = { username: "typed_user", name: "Typed", password: "password123" };
	for (const field of ["username", "name", "password"] as const) {
		for (const [label, value] of [...WRONG_STRING, ["null", null] as [string, unknown]]) {
			add(
				`POST /register ${field} as ${label}`,
				"POST",
				"/register",
				"none",
				json({ ...account, [field]: value }),
				field,
			);
		}
	}
	for (const path of ["/login", "/token"]) {
		for (const field of ["username", "password"] as const) {
			for (const [label, value] of WRONG_STRING) {
				add(
					`POST ${path} ${field} as ${label}`,
					"POST",
					path,
					"none",
					json({ username: "nobody_here", password: "whatever1", [field]: value }),
					field,
				);
			}
		}
	}
	for (const [label, value] of WRONG_STRING)
		add(`POST /validate token as ${label}`, "POST", "/validate", "none", json({ token: value }), "token");

	// Every character field, on create and on update; null too where null is not "back to the default".
	const own = `/characters/id/${ctx.ownCharacterId}`;
	const wrongFor = (field: string): [string, unknown][] => {
		const kinds = (STRING_FIELDS as readonly string[]).includes(field)
			? WRONG_STRING
			: (BOOLEAN_FIELDS as readonly string[]).includes(field)
				? WRONG_BOOLEAN
				: (LIST_FIELDS as readonly string[]).includes(field)
					? WRONG_LIST
					: WRONG_NUMBER;
		return NULLABLE.has(field) ? kinds : [...kinds, ["null", null]];
	};
	for (const field of [...STRING_FIELDS, ...BOOLEAN_FIELDS, ...LIST_FIELDS, ...NUMBER_FIELDS]) {
		for (const [label, value] of wrongFor(field)) {
			add(
				`POST /characters ${field} as ${label}`,
				"POST",
				"/characters",
				"attacker",
				json({ ...baseCharacter(), [field]: value }),
				field,
			);
			add(`PATCH /characters/id ${field} as ${label}`, "PATCH", own, "attacker", json({ [field]: value }), field);
		}
	}
	// On create, null is_public/is_active take their defaults (documented); anything else null is refused.
	for (const c of cases) {
		if (/^POST \/characters is_(public|active) as null$/.test(c.name)) c.stored = { [c.field!]: true };
	}

	// Out of range.
	const range: [string, string, string][] = [
		["name empty", json({ ...baseCharacter(), name: "" }), "name"],
		["name of 81 characters", json({ ...baseCharacter(), name: "n".repeat(81) }), "name"],
		["system_prompt only whitespace", json({ ...baseCharacter(), system_prompt: " \n\t " }), "system_prompt"],
		["slug with capitals and spaces", json({ ...baseCharacter(), slug: "Bad Slug" }), "slug"],
		["slug with ../", json({ ...baseCharacter(), slug: "../etc" }), "slug"],
		["101 tags", json({ ...baseCharacter(), tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }), "tags"],
		["a tag of 101 characters", json({ ...baseCharacter(), tags: ["t".repeat(101)] }), "tags"],
		[
			"101 alternate greetings",
			json({ ...baseCharacter(), alternate_greetings: Array.from({ length: 101 }, () => "hi") }),
			"alternate_greetings",
		],
		["temperature 2.5", json({ ...baseCharacter(), temperature: 2.5 }), "temperature"],
		["temperature -0.1", json({ ...baseCharacter(), temperature: -0.1 }), "temperature"],
		[
			"temperature 1e400 (Infinity)",
			json({ ...baseCharacter(), system_prompt: "x" }).replace(/}$/, ', "temperature": 1e400}'),
			"temperature",
		],
		["max_output_tokens 0", json({ ...baseCharacter(), max_output_tokens: 0 }), "max_output_tokens"],
		["max_output_tokens 1.5", json({ ...baseCharacter(), max_output_tokens: 1.5 }), "max_output_tokens"],
		["max_output_tokens 65537", json({ ...baseCharacter(), max_output_tokens: 65_537 }), "max_output_tokens"],
		["llm_model with spaces", json({ ...baseCharacter(), llm_model: "gpt 4; rm -rf /" }), "llm_model"],
	];
	for (const [label, body, field] of range)
		add(`POST /characters ${label}`, "POST", "/characters", "attacker", body, field);
	add("PATCH /characters/id with no field", "PATCH", own, "attacker", "{}");
	add(
		"PATCH /characters/id with only unknown fields",
		"PATCH",
		own,
		"attacker",
		json({ created_by: ctx.victim.id, role: "admin" }),
	);
	add(
		"POST /register username too short",
		"POST",
		"/register",
		"none",
		json({ ...account, username: "ab" }),
		"username",
	);
	add(
		"POST /register password too short",
		"POST",
		"/register",
		"none",
		json({ ...account, password: "short" }),
		"password",
	);

	// Query parameters and path parameters.
	const query: [string, string][] = [
		["GET /characters limit=abc", "/characters?limit=abc"],
		["GET /characters limit=0", "/characters?limit=0"],
		["GET /characters limit=1000000", "/characters?limit=1000000"],
		["GET /characters limit=1.5", "/characters?limit=1.5"],
		["GET /characters offset=-1", "/characters?offset=-1"],
		// Past PostgreSQL's bigint, and past any page anyone reads.
		["GET /characters offset=1e19", "/characters?offset=1e19"],
		["GET /characters offset=9223372036854775808", "/characters?offset=9223372036854775808"],
		["GET /characters offset=10001", "/characters?offset=10001"],
		["GET /api/characters offset=1e19", "/api/characters?offset=1e19"],
		["GET /sessions offset=1e19", "/sessions?offset=1e19"],
		["GET /sessions offset=10001", "/sessions?offset=10001"],
		["GET /characters q as an array", "/characters?q[]=a&q[]=b"],
		["GET /characters q as an object", "/characters?q[$ne]=x"],
		["GET /characters q of 101 characters", `/characters?q=${"q".repeat(101)}`],
		["GET /sessions limit=abc", "/sessions?limit=abc"],
		["GET /sessions offset=-5", "/sessions?offset=-5"],
		["GET /sessions limit=101", "/sessions?limit=101"],
		["GET /sessions/{own}/messages before=not-a-uuid", `/sessions/${ctx.ownSessionId}/messages?before=not-a-uuid`],
		["GET /sessions/{own}/messages limit=0", `/sessions/${ctx.ownSessionId}/messages?limit=0`],
		["GET /sessions/{own}/messages limit=201", `/sessions/${ctx.ownSessionId}/messages?limit=201`],
		["GET /sessions/{not a uuid}/messages", "/sessions/12345/messages"],
		["DELETE /sessions/{not a uuid}", "/sessions/abc"],
		["GET /characters/id/{not a uuid}", "/characters/id/not-a-uuid"],
		["GET /characters/id/{id}/card.xml", `/characters/id/${ctx.chatCharacterId}/card.xml`],
	];
	for (const [name, path] of query) {
		cases.push({
			category: "wrong_types",
			name,
			method: name.startsWith("DELETE") ? "DELETE" : "GET",
			path,
			...VALIDATION,
		});
	}
	return cases;
}

function hugeBodies(ctx: HostileContext): RestCase[] {
	const over = (bytes: number) => json({ name: "Huge", system_prompt: "x", description: "d".repeat(bytes) });
	const cases: RestCase[] = JSON_ROUTES.map((route) => ({
		category: "huge_bodies" as const,
		name: `${route.label}: JSON over its ${route.limit / 1024} kB limit`,
		method: route.method,
		path: route.path(ctx),
		auth: route.auth,
		body: over(route.limit + 1024),
		...TOO_LARGE,
	}));
	const bomb = gzipSync(Buffer.from(over(10 * 1024 * 1024)));
	cases.push(
		{
			category: "huge_bodies",
			name: "POST /login: form over 16 kB",
			method: "POST",
			path: "/login",
			auth: "none",
			type: "application/x-www-form-urlencoded",
			body: `username=a&password=${"p".repeat(17 * 1024)}`,
			...TOO_LARGE,
		},
		{
			category: "huge_bodies",
			name: "POST /characters: gzip bomb (10 MB inflated)",
			method: "POST",
			path: "/characters",
			headers: { "Content-Encoding": "gzip" },
			body: bomb,
			...TOO_LARGE,
		},
		{
			category: "huge_bodies",
			name: "POST /register: deflate bomb",
			method: "POST",
			path: "/register",
			auth: "none",
			headers: { "Content-Encoding": "deflate" },
			body: deflateSync(Buffer.from(over(4 * 1024 * 1024))),
			...TOO_LARGE,
		},
		{
			category: "huge_bodies",
			name: "POST /characters/import: gzip bomb (30 MB inflated)",
			method: "POST",
			path: "/characters/import",
			headers: { "Content-Encoding": "gzip" },
			body: gzipSync(Buffer.from(over(30 * 1024 * 1024))),
			...TOO_LARGE,
		},
		{
			category: "huge_bodies",
			name: "POST /characters: Content-Encoding br",
			method: "POST",
			path: "/characters",
			headers: { "Content-Encoding": "br" },
			body: json(baseCharacter()),
			status: [415],
			code: ["UNSUPPORTED_ENCODING"],
		},
		{
			category: "huge_bodies",
			name: "POST /characters: charset utf-32",
			method: "POST",
			path: "/characters",
			type: "application/json; charset=utf-32",
			body: json(baseCharacter()),
			status: [415],
			code: ["UNSUPPORTED_CHARSET"],
		},
		{
			category: "huge_bodies",
			name: "GET /me with a 70 kB JSON body",
			method: "GET",
			path: "/me",
			body: over(70 * 1024),
			...TOO_LARGE,
		},
		{
			category: "huge_bodies",
			name: "GET /characters with q of 12 kB",
			method: "GET",
			path: `/characters?q=${"q".repeat(12 * 1024)}`,
			...VALIDATION,
		},
		{
			category: "huge_bodies",
			name: "GET /characters/id with an id of 8 kB",
			method: "GET",
			path: `/characters/id/${"a".repeat(8 * 1024)}`,
			...VALIDATION,
		},
		{
			category: "huge_bodies",
			name: "POST /characters: 10,000 alternate greetings",
			method: "POST",
			path: "/characters",
			body: json({ ...baseCharacter(), alternate_greetings: Array<string>(10_000).fill("") }),
			status: [413, 422],
		},
	);
	return cases;
}

function deepNesting(ctx: HostileContext): RestCase[] {
	const cases: RestCase[] = [];
	for (const route of JSON_ROUTES) {
		const field =
			route.label.includes("register") || route.label.includes("login") || route.label.includes("token")
				? "username"
				: route.label.includes("validate")
					? "token"
					: "name";
		// 5,000 levels fit the auth routes' 16 kB, 10,000 the others' limits.
		const depth = route.limit <= 16 * 1024 ? 5000 : 10_000;
		cases.push(
			{
				category: "deep_nesting",
				name: `${route.label}: ${field} as ${depth}-deep arrays`,
				method: route.method,
				path: route.path(ctx),
				auth: route.auth,
				body: `{"${field}": ${deepArray(depth)}}`,
				status: [401, 413, 422],
			},
			{
				category: "deep_nesting",
				name: `${route.label}: body as ${depth}-deep objects`,
				method: route.method,
				path: route.path(ctx),
				auth: route.auth,
				body: deepObject(depth),
				status: [401, 413, 422],
			},
			{
				category: "deep_nesting",
				name: `${route.label}: ${depth}-deep bare array`,
				method: route.method,
				path: route.path(ctx),
				auth: route.auth,
				body: deepArray(depth),
				status: [401, 413, 422],
			},
		);
	}
	cases.push(
		{
			category: "deep_nesting",
			name: "POST /characters/import: card extensions 10,000 deep",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card("Deep")).replace('"data":{', `"data":{"extensions":{"x":${deepArray(10_000)}},`),
			status: [422],
			code: ["INVALID_CARD"],
		},
		{
			category: "deep_nesting",
			name: "POST /characters/import: 100,000-deep arrays (200 kB)",
			method: "POST",
			path: "/characters/import",
			body: deepArray(100_000),
			status: [422],
			code: ["INVALID_CARD"],
		},
		{
			category: "deep_nesting",
			name: "POST /characters/import: 21 levels (one over the limit)",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card("Deep", { extensions: JSON.parse(deepArray(19)) })),
			status: [422],
			code: ["INVALID_CARD"],
		},
		{
			category: "deep_nesting",
			name: "POST /characters/import: PNG card 10,000 deep",
			method: "POST",
			path: "/characters/import",
			type: "image/png",
			body: png(ihdr(1, 1), IDAT, textChunk("chara", Buffer.from(deepArray(10_000)).toString("base64")), IEND),
			status: [422],
			code: ["INVALID_CARD"],
		},
		{
			category: "deep_nesting",
			name: "GET /characters q nested by qs brackets",
			method: "GET",
			path: `/characters?${"q" + "[a]".repeat(50)}=1`,
			...VALIDATION,
		},
	);
	return cases;
}

function unicode(): RestCase[] {
	const cases: RestCase[] = [];
	for (const [label, text] of UNICODE) {
		const name = `${tag()} ${text}`;
		cases.push({
			category: "unicode",
			name: `POST /characters name with ${label}`,
			method: "POST",
			path: "/characters",
			body: json({ ...baseCharacter(), name, description: text }),
			...VALIDATION,
			stored: { name: storedForm(name), description: storedForm(text) },
		});
		cases.push({
			category: "unicode",
			name: `POST /register username with ${label}`,
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: `u${text}`, name: "U", password: "password123" }),
			...VALIDATION,
			field: "username",
		});
	}
	for (const [label, bytes] of RAW_UTF8) {
		const name = `${tag()} a`;
		// The bytes go into the name as they are: the body is not valid UTF-8.
		const body = Buffer.concat([
			Buffer.from(`{"name":"${name}`),
			Buffer.from(bytes),
			Buffer.from(`b","system_prompt":"x","is_public":false}`),
		]);
		cases.push({
			category: "unicode",
			name: `POST /characters name with raw bytes: ${label}`,
			method: "POST",
			path: "/characters",
			body,
			status: [400],
			code: ["INVALID_JSON"],
			stored: { name: `${name}${Buffer.from(bytes).toString("utf8")}b` },
		});
	}
	cases.push(
		{
			category: "unicode",
			name: "GET /characters?q= with a lone surrogate (%ED%A0%80)",
			method: "GET",
			path: "/characters?q=%ED%A0%80",
			status: [400, 422],
			ok: { status: 200, check: listCheck },
		},
		{
			category: "unicode",
			name: "GET /characters?q= with an RTL override",
			method: "GET",
			path: `/characters?q=${encodeURIComponent("\u202E")}`,
			status: [400, 422],
			ok: { status: 200, check: listCheck },
		},
		{
			category: "unicode",
			name: "GET /characters/id/{emoji}",
			method: "GET",
			path: `/characters/id/${encodeURIComponent("\u{1F600}")}`,
			...VALIDATION,
		},
	);
	return cases;
}

function nullBytes(ctx: HostileContext): RestCase[] {
	const cases: RestCase[] = [];
	const nul = "a\u0000b";
	const refuse = { status: [400, 422], code: ["VALIDATION_ERROR", "INVALID_JSON", "INVALID_CARD"] };
	cases.push(
		{
			category: "null_bytes",
			name: "POST /register username",
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: nul, name: "N", password: "password123" }),
			...refuse,
		},
		{
			category: "null_bytes",
			name: "POST /register name",
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: `nul_${tag()}`, name: nul, password: "password123" }),
			...refuse,
		},
		// A NUL in a password is just another character of it: hashed, never stored as text.
		{
			category: "null_bytes",
			name: "POST /register password",
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: `nul_${tag()}`, name: "N", password: `pass${nul}word` }),
			...refuse,
			ok: { status: 201, check: () => undefined },
		},
		{
			category: "null_bytes",
			name: "POST /login username (JSON)",
			method: "POST",
			path: "/login",
			auth: "none",
			body: json({ username: `x${nul}`, password: "password123" }),
			status: [400, 401, 422],
		},
		{
			category: "null_bytes",
			name: "POST /login username (form)",
			method: "POST",
			path: "/login",
			auth: "none",
			type: "application/x-www-form-urlencoded",
			body: "username=a%00b&password=password123",
			status: [400, 401, 422],
		},
		{
			category: "null_bytes",
			name: "POST /login password (form)",
			method: "POST",
			path: "/login",
			auth: "none",
			type: "application/x-www-form-urlencoded",
			body: `username=${ctx.attacker.username}&password=pass%00word`,
			status: [401, 422],
			code: ["INVALID_CREDENTIALS", "VALIDATION_ERROR"],
		},
		{
			category: "null_bytes",
			name: "POST /validate token",
			method: "POST",
			path: "/validate",
			auth: "none",
			body: json({ token: `${ctx.attacker.token}\u0000` }),
			status: [401, 422],
			code: ["UNAUTHORIZED", "VALIDATION_ERROR"],
		},
		{ category: "null_bytes", name: "GET /characters?q=%00", method: "GET", path: "/characters?q=a%00b", ...refuse },
		{
			category: "null_bytes",
			name: "GET /characters?limit=1%00",
			method: "GET",
			path: "/characters?limit=1%00",
			...refuse,
		},
		{
			category: "null_bytes",
			name: "GET /characters/id/{uuid}%00",
			method: "GET",
			path: `/characters/id/${ctx.chatCharacterId}%00`,
			...refuse,
		},
		{
			category: "null_bytes",
			name: "GET /sessions/{own}/messages?before=%00",
			method: "GET",
			path: `/sessions/${ctx.ownSessionId}/messages?before=%00`,
			...refuse,
		},
		// JSON.parse makes `__proto__` an own key; merged into the params it becomes their prototype, still read by actions.
		{
			category: "null_bytes",
			name: "POST /characters description under __proto__",
			method: "POST",
			path: "/characters",
			body: json(baseCharacter()).replace(/^\{/, `{"__proto__": {"description": ${json(nul)}}, `),
			...refuse,
		},
		{
			category: "null_bytes",
			name: "PATCH /characters/id greeting under __proto__",
			method: "PATCH",
			path: `/characters/id/${ctx.ownCharacterId}`,
			body: `{"__proto__": {"greeting": ${json(nul)}}, "description": "proto"}`,
			...refuse,
		},
		{
			category: "null_bytes",
			name: "POST /register name under __proto__",
			method: "POST",
			path: "/register",
			auth: "none",
			body: `{"__proto__": {"name": ${json(nul)}}, "username": "nul_${tag()}", "password": "password123"}`,
			...refuse,
		},
	);
	for (const field of [...STRING_FIELDS, ...LIST_FIELDS]) {
		const value = (LIST_FIELDS as readonly string[]).includes(field) ? [nul] : field === "slug" ? "a\u0000b" : nul;
		cases.push({
			category: "null_bytes",
			name: `POST /characters ${field}`,
			method: "POST",
			path: "/characters",
			body: json({ ...baseCharacter(), [field]: value }),
			...refuse,
		});
		cases.push({
			category: "null_bytes",
			name: `PATCH /characters/id ${field}`,
			method: "PATCH",
			path: `/characters/id/${ctx.ownCharacterId}`,
			body: json({ [field]: value }),
			...refuse,
		});
	}
	for (const field of ["name", "description", "first_mes", "creator_notes"]) {
		cases.push({
			category: "null_bytes",
			name: `POST /characters/import card ${field}`,
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(field === "name" ? nul : `Nul ${tag()}`, field === "name" ? {} : { [field]: nul })),
			...refuse,
		});
	}
	cases.push(
		{
			category: "null_bytes",
			name: "POST /characters/import card tag",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(`Nul ${tag()}`, { tags: [nul] })),
			...refuse,
		},
		{
			category: "null_bytes",
			name: "POST /characters/import card extensions key and value",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(`Nul ${tag()}`, { extensions: { [nul]: nul } })),
			...refuse,
		},
		{
			category: "null_bytes",
			name: "POST /characters/import card in a PNG",
			method: "POST",
			path: "/characters/import",
			type: "image/png",
			body: png(ihdr(1, 1), IDAT, textChunk("chara", cardText(v2Card(nul))), IEND),
			...refuse,
		},
	);
	return cases;
}

function injection(ctx: HostileContext): RestCase[] {
	const cases: RestCase[] = [];
	for (const [kind, payloads] of [
		["SQL", SQL],
		["HTML", HTML],
	] as const) {
		payloads.forEach((payload, i) => {
			const name = `${tag()} ${payload}`.slice(0, 80);
			cases.push({
				category: "injection",
				name: `POST /characters ${kind} #${i + 1} in name and description`,
				method: "POST",
				path: "/characters",
				body: json({ ...baseCharacter(), name, description: payload, greeting: payload }),
				...VALIDATION,
				stored: { name, description: payload, greeting: payload },
			});
			cases.push({
				category: "injection",
				name: `GET /characters?q= ${kind} #${i + 1}`,
				method: "GET",
				path: `/characters?q=${encodeURIComponent(payload)}`,
				...VALIDATION,
				ok: { status: 200, check: listCheck },
			});
		});
	}
	SQL.slice(0, 3).forEach((payload, i) => {
		cases.push({
			category: "injection",
			name: `POST /register SQL #${i + 1} in username`,
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: payload, name: "n", password: "password123" }),
			...VALIDATION,
			field: "username",
		});
	});
	const importName = `${tag()} <script>alert('x')</script> '; DROP TABLE users;--`;
	cases.push(
		{
			category: "injection",
			name: "POST /login SQL in username",
			method: "POST",
			path: "/login",
			auth: "none",
			body: json({ username: "' OR 1=1 --", password: "' OR 1=1 --" }),
			status: [401],
			code: ["INVALID_CREDENTIALS"],
		},
		{
			category: "injection",
			name: "POST /characters slug with SQL",
			method: "POST",
			path: "/characters",
			body: json({ ...baseCharacter(), slug: "a'; DROP TABLE x;--" }),
			...VALIDATION,
			field: "slug",
		},
		{
			category: "injection",
			name: "POST /characters/import SQL and HTML in the card name",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(importName, { description: "<b>bold</b>" })),
			status: [422],
			stored: { name: importName, description: "<b>bold</b>" },
		},
		{
			category: "injection",
			name: "GET /sessions/{SQL}/messages",
			method: "GET",
			path: `/sessions/${encodeURIComponent("' OR '1'='1")}/messages`,
			...VALIDATION,
		},
		{
			category: "injection",
			name: "GET /characters/id/{SQL}",
			method: "GET",
			path: `/characters/id/${encodeURIComponent("1 OR 1=1")}`,
			...VALIDATION,
		},
		{
			category: "injection",
			name: "POST /characters with __proto__ fields",
			method: "POST",
			path: "/characters",
			body: `{"__proto__": {"polluted": "yes", "role": "admin"}, "name": "Proto ${tag()}", "system_prompt": "x", "is_public": false}`,
			status: [400, 422],
			stored: {},
		},
		{
			category: "injection",
			name: "PATCH own character with constructor.prototype",
			method: "PATCH",
			path: `/characters/id/${ctx.ownCharacterId}`,
			body: '{"constructor": {"prototype": {"polluted": "yes"}}}',
			...VALIDATION,
		},
	);
	return cases;
}

/** A gallery listing that is an array of characters (whatever it matched). */
function listCheck(body: Json): string | undefined {
	return Array.isArray(body) ? undefined : `expected a list, got ${JSON.stringify(body).slice(0, 200)}`;
}

function forgedJwtRest(ctx: HostileContext): RestCase[] {
	const cases: RestCase[] = [];
	for (const { name, token } of forgedTokens(ctx)) {
		cases.push({
			category: "forged_jwt",
			name: `GET /me, Bearer ${name}`,
			method: "GET",
			path: "/me",
			auth: { header: `Bearer ${token}` },
			...UNAUTHORIZED,
		});
		cases.push({
			category: "forged_jwt",
			name: `POST /validate {token}: ${name}`,
			method: "POST",
			path: "/validate",
			auth: "none",
			body: json({ token }),
			...UNAUTHORIZED,
		});
	}
	const t = ctx.attacker.token;
	const headerFormats: [string, string | undefined, Record<string, string>?][] = [
		["no Authorization header", undefined],
		["Bearer with no token", "Bearer"],
		["Bearer and spaces only", "Bearer    "],
		["Token scheme", `Token ${t}`],
		["JWT scheme", `JWT ${t}`],
		["Basic with the token as password", `Basic ${Buffer.from(`x:${t}`).toString("base64")}`],
		["the bare token", t],
		["two Bearer tokens", `Bearer ${t}, Bearer ${t}`],
		["Bearer, token with a space inside", `Bearer ${t.slice(0, 20)} ${t.slice(20)}`],
		["Bearer with the token quoted", `Bearer "${t}"`],
		["token in a cookie instead", undefined, { Cookie: `token=${t}; access_token=${t}` }],
		["token in X-Access-Token instead", undefined, { "X-Access-Token": t }],
		["huge Authorization header (12 kB)", `Bearer ${"A".repeat(12 * 1024)}`],
	];
	for (const [name, header, headers] of headerFormats) {
		cases.push({
			category: "forged_jwt",
			name: `GET /characters, ${name}`,
			method: "GET",
			path: "/characters",
			auth: header === undefined ? "none" : { header },
			headers,
			...UNAUTHORIZED,
		});
	}
	cases.push({
		category: "forged_jwt",
		name: "GET /characters?token= in the query instead",
		method: "GET",
		path: `/characters?token=${t}&access_token=${t}`,
		auth: "none",
		...UNAUTHORIZED,
	});
	return cases;
}

function otherUsers(ctx: HostileContext): RestCase[] {
	const s = ctx.victimSessionId;
	const priv = ctx.victimPrivateCharacterId;
	const pub = ctx.victimPublicCharacterId;
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	const characterNotFound = { status: [404], code: ["CHARACTER_NOT_FOUND"] };
	const forbidden = { status: [403], code: ["FORBIDDEN"] };
	const list: Omit<RestCase, "category">[] = [
		{ name: "GET /sessions/{theirs}/messages", method: "GET", path: `/sessions/${s}/messages`, ...sessionNotFound },
		// A lookalike of their account: usernames are unique regardless of case.
		{
			name: "POST /register their username in other case",
			method: "POST",
			path: "/register",
			auth: "none",
			body: json({ username: ctx.victim.username.toUpperCase(), name: "Lookalike", password: "password123" }),
			status: [409],
			code: ["USER_EXISTS"],
		},
		{
			name: "GET /sessions/{theirs}/messages?before={their message}",
			method: "GET",
			path: `/sessions/${s}/messages?before=${ctx.victimMessageId}`,
			...sessionNotFound,
		},
		{ name: "GET /sessions/{theirs}", method: "GET", path: `/sessions/${s}`, ...sessionNotFound },
		{ name: "DELETE /sessions/{theirs}", method: "DELETE", path: `/sessions/${s}`, ...sessionNotFound },
		{
			name: "DELETE /sessions/{theirs, upper case}",
			method: "DELETE",
			path: `/sessions/${s.toUpperCase()}`,
			...sessionNotFound,
		},
		{
			name: "DELETE /sessions/{unknown}?id={theirs}",
			method: "DELETE",
			path: `/sessions/00000000-0000-4000-8000-000000000000?id=${s}`,
			...sessionNotFound,
		},
		{
			name: "DELETE /sessions/{unknown} with {id: theirs} in the body",
			method: "DELETE",
			path: "/sessions/00000000-0000-4000-8000-000000000000",
			body: json({ id: s }),
			...sessionNotFound,
		},
		{ name: "GET /characters/id/{their private}", method: "GET", path: `/characters/id/${priv}`, ...characterNotFound },
		{
			name: "GET /api/characters/id/{their private}",
			method: "GET",
			path: `/api/characters/id/${priv}`,
			...characterNotFound,
		},
		{
			name: "GET /characters/id/{their private}/card.json",
			method: "GET",
			path: `/characters/id/${priv}/card.json`,
			...characterNotFound,
		},
		{
			name: "GET /characters/id/{their private}/card.png",
			method: "GET",
			path: `/characters/id/${priv}/card.png`,
			...characterNotFound,
		},
		{
			name: "PATCH /characters/id/{their private}",
			method: "PATCH",
			path: `/characters/id/${priv}`,
			body: json({ name: "Mine now" }),
			...characterNotFound,
		},
		{
			name: "PATCH /characters/id/{their private} is_public",
			method: "PATCH",
			path: `/characters/id/${priv}`,
			body: json({ is_public: true }),
			...characterNotFound,
		},
		{
			name: "DELETE /characters/id/{their private}",
			method: "DELETE",
			path: `/characters/id/${priv}`,
			...characterNotFound,
		},
		{
			name: "PATCH /characters/id/{their public}",
			method: "PATCH",
			path: `/characters/id/${pub}`,
			body: json({ name: "Mine now" }),
			...forbidden,
		},
		{
			name: "PATCH /characters/id/{their public} hide it",
			method: "PATCH",
			path: `/characters/id/${pub}`,
			body: json({ is_public: false, is_active: false }),
			...forbidden,
		},
		{
			name: "PATCH /characters/id/{their public} with {id: own} in the body",
			method: "PATCH",
			path: `/characters/id/${pub}`,
			body: json({ id: ctx.ownCharacterId, description: "x" }),
			...forbidden,
		},
		{ name: "DELETE /characters/id/{their public}", method: "DELETE", path: `/characters/id/${pub}`, ...forbidden },
		{
			name: "DELETE /characters/id/{their public}?id={own}",
			method: "DELETE",
			path: `/characters/id/${pub}?id=${ctx.ownCharacterId}`,
			...forbidden,
		},
		{
			name: "DELETE /characters/id/{their private, upper case}",
			method: "DELETE",
			path: `/characters/id/${priv.toUpperCase()}`,
			...characterNotFound,
		},
		{
			name: "GET /sessions/{own}/messages?id={theirs}",
			method: "GET",
			path: `/sessions/${ctx.ownSessionId}/messages?id=${s}`,
			...sessionNotFound,
			ok: {
				status: 200,
				check: (b) => (b.session_id === ctx.ownSessionId ? undefined : `answered session ${b.session_id}`),
			},
		},
		{
			name: "GET /sessions lists none of theirs",
			method: "GET",
			path: "/sessions?limit=100",
			status: [],
			ok: {
				status: 200,
				check: (b) => (Array.isArray(b) && !b.some((x: Json) => x.id === s) ? undefined : "their session is listed"),
			},
		},
		{
			name: "GET /characters?q={their private name} finds nothing of theirs",
			method: "GET",
			path: `/characters?q=${encodeURIComponent(ctx.victimPrivateCharacterName)}`,
			status: [],
			ok: {
				status: 200,
				check: (b) =>
					Array.isArray(b) && !b.some((x: Json) => x.id === priv) ? undefined : "their private character is listed",
			},
		},
		{
			name: "PATCH own character with created_by of theirs",
			method: "PATCH",
			path: `/characters/id/${ctx.ownCharacterId}`,
			body: json({ created_by: ctx.victim.id, description: "still mine" }),
			status: [422],
			ok: {
				status: 200,
				check: (b) => (b.created_by === ctx.attacker.id ? undefined : `created_by is now ${b.created_by}`),
			},
		},
		// Slugs are unique per owner: a slug like theirs must neither fail nor get a suffix, or it tells that they exist.
		// (One case only: a second would take the slug in the attacker's own namespace. An explicit slug: characters.spec.ts.)
		{
			name: "POST /characters/import of a card named like their private character",
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(ctx.victimPrivateCharacterName)),
			status: [],
			ok: {
				status: 201,
				check: (b) =>
					b.slug === slugify(ctx.victimPrivateCharacterName)
						? undefined
						: `slug ${b.slug} (a suffix tells theirs exists)`,
			},
		},
		{
			name: "POST /characters with the id of their public character",
			method: "POST",
			path: "/characters",
			body: json({ ...baseCharacter(), id: pub, created_by: ctx.victim.id }),
			status: [422],
			stored: { created_by: ctx.attacker.id },
		},
	];
	return list.map((c) => ({ category: "other_users", ...c }));
}

function pathTraversal(ctx: HostileContext): RestCase[] {
	const notFoundOrInvalid = { status: [400, 403, 404, 422] };
	const paths: [string, string][] = [
		["raw ../ in a character id", "/characters/id/../../../../etc/passwd"],
		["%2e%2e%2f in a character id", "/characters/id/%2e%2e%2f%2e%2e%2fetc%2fpasswd"],
		["..%2f in a character id", "/characters/id/..%2f..%2f..%2fetc%2fpasswd"],
		["double-encoded %252e%252e%252f in a character id", "/characters/id/%252e%252e%252f%252e%252e%252fetc%252fpasswd"],
		["backslashes in a character id", "/characters/id/..%5c..%5c..%5cwindows%5cwin.ini"],
		["overlong-encoded slash (%c0%af)", "/characters/id/..%c0%af..%c0%afetc%c0%afpasswd"],
		["traversal in the card format", `/characters/id/${ctx.chatCharacterId}/card.%2e%2e%2f%2e%2e%2fpackage.json`],
		["NUL and extension trick in the card format", `/characters/id/${ctx.chatCharacterId}/card.json%00.png`],
		["traversal in a session id", "/sessions/..%2f..%2fetc%2fpasswd/messages"],
		["raw ../ out of the web root", "/../../../../etc/passwd"],
		["encoded ../ out of the web root", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"],
		["double-encoded ../ out of the web root", "/%252e%252e/%252e%252e/package.json"],
		["../ out of the assets folder", "/assets/..%2f..%2f..%2fpackage.json"],
		["backslash out of the assets folder", "/assets/..%5c..%5c..%5cpackage.json"],
		["the project's package.json", "/../package.json"],
		["the generated secrets", "/../.data/secrets.json"],
		["a source file", "/../src/config.ts"],
		["index.html with a NUL", "/index.html%00.json"],
	];
	const cases: RestCase[] = paths.map(([name, path]) => ({
		category: "path_traversal" as const,
		name: `GET ${name}`,
		method: "GET",
		path,
		...notFoundOrInvalid,
	}));
	// Card names that look like paths are only names: stored as text, the file name of the export is the slug.
	for (const name of [
		"../../etc/passwd",
		"..\\..\\windows\\system32\\config",
		"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"%252e%252e%252fetc",
		'x"; filename="evil.sh',
		"/dev/zero",
		"con.png",
	]) {
		const full = `${tag()} ${name}`;
		cases.push({
			category: "path_traversal",
			name: `POST /characters/import card named ${JSON.stringify(name)}`,
			method: "POST",
			path: "/characters/import",
			body: json(v2Card(full, { extensions: { path: name }, character_book: { entries: [], name } })),
			status: [422],
			stored: { name: full },
		});
	}
	const assetsCard = {
		spec: "chara_card_v3",
		spec_version: "3.0",
		data: {
			...v2Card(`${tag()} assets`).data,
			assets: [{ type: "icon", uri: "file:///etc/passwd", name: "../../../etc/passwd", ext: "png" }],
		},
	};
	cases.push({
		category: "path_traversal",
		name: "POST /characters/import V3 assets pointing at local files",
		method: "POST",
		path: "/characters/import",
		body: json(assetsCard),
		status: [422],
		stored: { name: assetsCard.data.name },
	});
	return cases;
}

/** A 1x1 PNG with a V2 card named `name`, after `count` empty private chunks (bench/stalls.ts imports it). */
export function tinyChunksPng(count: number, name: string): Buffer {
	return png(
		ihdr(1, 1),
		Buffer.concat(Array<Buffer>(count).fill(chunk("pRiV", Buffer.alloc(0)))),
		IDAT,
		textChunk("chara", cardText(v2Card(name))),
		IEND,
	);
}

function pngBombs(): RestCase[] {
	const card = (name = `Png ${tag()}`) => textChunk("chara", cardText(v2Card(name)));
	const invalidPng = { status: [400], code: ["INVALID_PNG"] };
	const noCard = { status: [422], code: ["INVALID_CARD"] };
	const withType = (name: string, body: Buffer, expect: Pick<RestCase, "status" | "code" | "stored">): RestCase => ({
		category: "png_bombs",
		name,
		method: "POST",
		path: "/characters/import",
		type: "image/png",
		body,
		...expect,
	});
	const hugeLength = Buffer.concat([
		PNG_SIGNATURE,
		Buffer.from([0xff, 0xff, 0xff, 0xf0]),
		Buffer.from("IHDR"),
		Buffer.alloc(16),
	]);
	const tiny = chunk("pRiV", Buffer.alloc(0));
	const manyName = `Png ${tag()} many`;
	const bombName = `Png ${tag()} bomb`;
	const imageTooLarge = { status: [422], code: ["IMAGE_TOO_LARGE"] };
	const tooManyChunks = { status: [422], code: ["TOO_MANY_PNG_CHUNKS"] };
	const zlibBomb = deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
	const badCrc = ihdr(1, 1);
	badCrc[badCrc.length - 1] ^= 0xff;
	return [
		withType("declared chunk length 0xFFFFFFF0", hugeLength, invalidPng),
		withType(
			"declared chunk length 0x7FFFFFFF after IHDR",
			png(ihdr(1, 1), chunk("tEXt", Buffer.from("chara\0x"), 0x7fffffff)),
			invalidPng,
		),
		withType(
			"declared length 1 MB, file ends",
			png(ihdr(1, 1), chunk("IDAT", Buffer.alloc(10), 1024 * 1024)),
			invalidPng,
		),
		// An avatar is handed to every exporter: no image a viewer cannot decode without a bomb's worth of memory.
		withType(
			"IHDR of 2^31-1 x 2^31-1 with a card",
			png(ihdr(0x7fffffff, 0x7fffffff), IDAT, card(), IEND),
			imageTooLarge,
		),
		withType(
			"IHDR of 100,000 x 100,000 with a card (decompression bomb)",
			png(ihdr(100_000, 100_000), IDAT, card(), IEND),
			imageTooLarge,
		),
		withType(
			"IHDR of 4097 x 1 with a card (one over the side limit)",
			png(ihdr(4097, 1), IDAT, card(), IEND),
			imageTooLarge,
		),
		withType("IHDR of 0 x 0 with a card", png(ihdr(0, 0), IDAT, card(), IEND), invalidPng),
		withType(
			"IDAT zlib bomb (64 MB inflated) with a card",
			png(ihdr(8192, 8192), chunk("IDAT", zlibBomb), card(), IEND),
			imageTooLarge,
		),
		withType(
			"IDAT zlib bomb in a 4096 x 4096 image, with a card (bounded by its dimensions)",
			png(ihdr(4096, 4096), chunk("IDAT", zlibBomb), card(bombName), IEND),
			{ status: [], stored: { name: bombName } },
		),
		// Refused from the chunk headers alone, before any other work: each chunk costs work at import and export.
		withType(
			"200,000 tiny chunks, no card",
			png(ihdr(1, 1), Buffer.concat(Array<Buffer>(200_000).fill(tiny)), IDAT, IEND),
			tooManyChunks,
		),
		withType(
			"250,000 tiny chunks with a card",
			png(ihdr(1, 1), Buffer.concat(Array<Buffer>(250_000).fill(tiny)), IDAT, card(), IEND),
			tooManyChunks,
		),
		withType(
			"600,000 tiny chunks (7 MB) with a card",
			png(ihdr(1, 1), Buffer.concat(Array<Buffer>(600_000).fill(tiny)), IDAT, card(), IEND),
			tooManyChunks,
		),
		withType(
			"1,100 chunks with a card (over the limit of 1,024)",
			png(ihdr(1, 1), Buffer.concat(Array<Buffer>(1_100).fill(tiny)), IDAT, card(), IEND),
			tooManyChunks,
		),
		withType(
			"1,000 chunks with a card (under the limit)",
			png(ihdr(1, 1), Buffer.concat(Array<Buffer>(1_000).fill(tiny)), IDAT, card(manyName), IEND),
			{ status: [], stored: { name: manyName } },
		),
		withType("20 MB upload", Buffer.concat([png(ihdr(1, 1), IDAT), Buffer.alloc(20 * 1024 * 1024)]), TOO_LARGE),
		withType(
			"zTXt chara holding a zlib bomb",
			png(ihdr(1, 1), IDAT, chunk("zTXt", Buffer.concat([Buffer.from("chara\0\0"), zlibBomb])), IEND),
			noCard,
		),
		withType(
			"compressed iTXt ccv3",
			png(
				ihdr(1, 1),
				IDAT,
				chunk(
					"iTXt",
					Buffer.concat([Buffer.from("ccv3\0\x01\0\0\0"), deflateSync(Buffer.from(cardText(v2Card("x"))))]),
				),
				IEND,
			),
			noCard,
		),
		withType("card chunk of 3 MB", png(ihdr(1, 1), IDAT, textChunk("chara", "A".repeat(3 * 1024 * 1024)), IEND), {
			status: [413],
			code: ["CARD_TOO_LARGE"],
		}),
		withType("wrong signature", Buffer.concat([Buffer.from("GIF89a"), ihdr(1, 1)]), invalidPng),
		withType("signature only", PNG_SIGNATURE, invalidPng),
		withType("empty body", Buffer.alloc(0), invalidPng),
		withType("CRC mismatch", png(badCrc, IDAT, card(), IEND), invalidPng),
		withType("no IEND", png(ihdr(1, 1), IDAT, card()), invalidPng),
		withType(
			"card chunk without a NUL separator",
			png(ihdr(1, 1), IDAT, chunk("tEXt", Buffer.from(`chara${cardText(v2Card("x"))}`)), IEND),
			noCard,
		),
		withType("card chunk not base64", png(ihdr(1, 1), IDAT, textChunk("chara", "!!!not base64!!!"), IEND), noCard),
		withType(
			"card chunk base64 of non-UTF-8",
			png(ihdr(1, 1), IDAT, textChunk("chara", Buffer.from([0xc0, 0xaf, 0xff]).toString("base64")), IEND),
			noCard,
		),
		withType(
			"card chunk base64 of non-JSON",
			png(ihdr(1, 1), IDAT, textChunk("chara", Buffer.from("{nope").toString("base64")), IEND),
			noCard,
		),
		withType(
			"card chunk base64 of a JSON array",
			png(ihdr(1, 1), IDAT, textChunk("chara", Buffer.from("[1,2]").toString("base64")), IEND),
			noCard,
		),
		withType("a JSON card sent as image/png", Buffer.from(json(v2Card("x"))), invalidPng),
		{
			category: "png_bombs",
			name: "a PNG sent as application/json",
			method: "POST",
			path: "/characters/import",
			body: png(ihdr(1, 1), IDAT, card(), IEND),
			...INVALID_JSON,
		},
		{
			category: "png_bombs",
			name: "a PNG sent as text/plain",
			method: "POST",
			path: "/characters/import",
			type: "text/plain",
			body: png(ihdr(1, 1), IDAT, card(), IEND),
			status: [415],
			code: ["UNSUPPORTED_MEDIA_TYPE"],
		},
		{
			category: "png_bombs",
			name: "a PNG sent without Content-Type",
			method: "POST",
			path: "/characters/import",
			type: null,
			body: png(ihdr(1, 1), IDAT, card(), IEND),
			status: [415],
			code: ["UNSUPPORTED_MEDIA_TYPE"],
		},
		...multipartUploads(),
	];
}

/** POST /characters/import as forms send it: the card is the `file` part, recognised by its bytes. */
function multipartUploads(): RestCase[] {
	const boundary = "----hostile";
	const part = (name: string, content: Buffer | string, filename?: string) =>
		Buffer.concat([
			Buffer.from(
				`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? "" : `; filename="${filename}"`}\r\n\r\n`,
			),
			Buffer.from(content),
			Buffer.from("\r\n"),
		]);
	const form = (...parts: Buffer[]) => Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
	const upload = (
		name: string,
		body: Buffer,
		expect: Pick<RestCase, "status" | "code" | "stored">,
		extra: Partial<RestCase> = {},
	): RestCase => ({
		category: "png_bombs",
		name: `multipart: ${name}`,
		method: "POST",
		path: "/characters/import",
		type: `multipart/form-data; boundary=${boundary}`,
		body,
		...expect,
		...extra,
	});
	const cardPng = (name = `Form ${tag()}`) => png(ihdr(1, 1), IDAT, textChunk("chara", cardText(v2Card(name))), IEND);
	const pngName = `Form ${tag()} png`;
	const jsonName = `Form ${tag()} json`;
	const invalidForm = { status: [422], code: ["INVALID_FORM"] };
	const tiny = chunk("pRiV", Buffer.alloc(0));
	return [
		upload(
			"a card PNG as the file part, named like a path and typed as JSON",
			form(part("file", cardPng(pngName), "../../etc/card.json"), part("file_type", "png")),
			{ status: [], stored: { name: pngName, has_avatar: true } },
		),
		upload("a JSON card as a plain field", form(part("file", json(v2Card(jsonName)))), {
			status: [],
			stored: { name: jsonName, has_avatar: false },
		}),
		upload("no file part", form(part("avatar", cardPng(), "a.png")), invalidForm),
		upload("no parts at all", form(), invalidForm),
		upload("two file parts", form(part("file", cardPng(), "a.png"), part("file", cardPng(), "b.png")), invalidForm),
		upload(
			"a file part and a second file",
			form(part("file", cardPng(), "a.png"), part("other", cardPng(), "b.png")),
			invalidForm,
		),
		upload("10,000 empty parts", form(...Array<Buffer>(10_000).fill(part("x", ""))), invalidForm),
		upload("no boundary in the Content-Type", form(part("file", cardPng(), "a.png")), invalidForm, {
			type: "multipart/form-data",
		}),
		upload("a boundary that is not in the body", form(part("file", cardPng(), "a.png")), invalidForm, {
			type: "multipart/form-data; boundary=other",
		}),
		upload("cut before its closing boundary", part("file", cardPng(), "a.png"), invalidForm),
		upload(
			"a 9 MB file part",
			form(part("file", Buffer.concat([cardPng(), Buffer.alloc(9 * 1024 * 1024)]), "big.png")),
			TOO_LARGE,
		),
		upload(
			"gzip bomb (30 MB inflated)",
			gzipSync(form(part("file", Buffer.alloc(30 * 1024 * 1024), "a.png"))),
			TOO_LARGE,
			{ headers: { "Content-Encoding": "gzip" } },
		),
		upload(
			"a 250,000-chunk PNG as the file",
			form(part("file", png(ihdr(1, 1), Buffer.concat(Array<Buffer>(250_000).fill(tiny)), IDAT, IEND), "a.png")),
			{ status: [422], code: ["TOO_MANY_PNG_CHUNKS"] },
		),
		upload(
			"a PNG claiming 100,000 x 100,000 pixels as the file",
			form(part("file", png(ihdr(100_000, 100_000), IDAT, textChunk("chara", cardText(v2Card("x"))), IEND), "a.png")),
			{ status: [422], code: ["IMAGE_TOO_LARGE"] },
		),
		upload("a JSON card nested 100,000 deep as the file", form(part("file", deepArray(100_000), "a.json")), {
			status: [422],
			code: ["INVALID_CARD"],
		}),
		upload("a JSON card with a NUL in its name as the file", form(part("file", json(v2Card("a\u0000b")), "a.json")), {
			status: [422],
			code: ["INVALID_CARD", "VALIDATION_ERROR"],
		}),
		upload("a file that is neither PNG nor JSON", form(part("file", "GIF89a\u0000\u0000", "a.gif")), {
			status: [422],
			code: ["INVALID_CARD"],
		}),
		upload("a 3 MB JSON file", form(part("file", json({ name: "x".repeat(3 * 1024 * 1024) }), "a.json")), {
			status: [413],
			code: ["CARD_TOO_LARGE"],
		}),
	];
}

// ---------------------------------------------------------------------------------------------------------------
// Character images: GET/PUT/DELETE /characters/id/{id}/avatar

function avatarRequests(ctx: HostileContext): RestCase[] {
	const own = `/characters/id/${ctx.ownCharacterId}/avatar`;
	const invalidImage = { status: [422], code: ["INVALID_IMAGE"] };
	const unsupported = { status: [415], code: ["UNSUPPORTED_MEDIA_TYPE"] };
	const notFound = { status: [404], code: ["CHARACTER_NOT_FOUND"] };
	const upload = (name: string, body: Buffer, type: string | null, expect: Pick<RestCase, "status" | "code">) => ({
		category: "png_bombs" as const,
		name: `avatar upload: ${name}`,
		method: "PUT",
		path: own,
		type,
		body,
		...expect,
	});
	const smallPng = png(ihdr(1, 1), IDAT, IEND);
	// A JPEG's start (SOI, APP0) and nothing of its image.
	const cutJpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
	const other = (name: string, method: string, path: string, expect: Pick<RestCase, "status" | "code">): RestCase => ({
		category: "other_users",
		name: `avatar: ${name}`,
		method,
		path,
		...(method === "PUT" ? { type: "image/png", body: smallPng } : {}),
		...expect,
	});
	const size = (value: string): RestCase => ({
		category: "wrong_types",
		name: `avatar size ${JSON.stringify(value)}`,
		method: "GET",
		path: `${own}?size=${value}`,
		...VALIDATION,
	});
	return [
		upload("text typed as image/png", Buffer.from("not an image at all"), "image/png", invalidImage),
		upload("an empty body", Buffer.alloc(0), "image/png", invalidImage),
		upload("a GIF typed as image/png", Buffer.from("GIF89a\u0001\u0000\u0001\u0000"), "image/png", invalidImage),
		upload("a JPEG cut after its header", cutJpeg, "image/jpeg", invalidImage),
		upload("a PNG claiming 100,000 x 100,000 pixels", png(ihdr(100_000, 100_000), IDAT, IEND), "image/png", {
			status: [422],
			code: ["IMAGE_TOO_LARGE"],
		}),
		upload("a PNG claiming 5,000 x 5,000 pixels", png(ihdr(5000, 5000), IDAT, IEND), "image/webp", {
			status: [422],
			code: ["IMAGE_TOO_LARGE", "INVALID_IMAGE"],
		}),
		upload("a 9 MB body", Buffer.concat([smallPng, Buffer.alloc(9 * 1024 * 1024)]), "image/png", TOO_LARGE),
		{
			...upload("gzip bomb (30 MB inflated)", gzipSync(Buffer.alloc(30 * 1024 * 1024)), "image/png", TOO_LARGE),
			headers: { "Content-Encoding": "gzip" },
		},
		upload("a PNG typed as application/json", smallPng, "application/json", unsupported),
		upload("a PNG typed as image/gif", smallPng, "image/gif", unsupported),
		upload("a PNG typed as text/plain", smallPng, "text/plain", unsupported),
		upload("a PNG without Content-Type", smallPng, null, unsupported),
		upload("a PNG typed as multipart/form-data", smallPng, "multipart/form-data; boundary=x", unsupported),
		{ ...upload("no token", smallPng, "image/png", UNAUTHORIZED), auth: "none" },
		other(
			"GET of another user's private character",
			"GET",
			`/characters/id/${ctx.victimPrivateCharacterId}/avatar`,
			notFound,
		),
		other(
			"PUT on another user's private character",
			"PUT",
			`/characters/id/${ctx.victimPrivateCharacterId}/avatar`,
			notFound,
		),
		other("PUT on another user's public character", "PUT", `/characters/id/${ctx.victimPublicCharacterId}/avatar`, {
			status: [403],
			code: ["FORBIDDEN"],
		}),
		other(
			"DELETE of another user's private character",
			"DELETE",
			`/characters/id/${ctx.victimPrivateCharacterId}/avatar`,
			notFound,
		),
		other(
			"DELETE of another user's public character",
			"DELETE",
			`/characters/id/${ctx.victimPublicCharacterId}/avatar`,
			{
				status: [403],
				code: ["FORBIDDEN"],
			},
		),
		other("GET of an unknown character", "GET", `/characters/id/00000000-0000-4000-8000-000000000000/avatar`, notFound),
		other("GET with a path that is not an id", "GET", `/characters/id/..%2F..%2Fetc/avatar`, VALIDATION),
		size("abc"),
		size("100"),
		size("1e9"),
		size("-128"),
		size("64&size=128"),
	];
}

// ---------------------------------------------------------------------------------------------------------------
// Chat sessions: GET/PATCH /sessions/{id}, POST /sessions/{id}/branch, GET /sessions?character_id=

function sessionRequests(ctx: HostileContext): RestCase[] {
	const own = `/sessions/${ctx.ownSessionId}`;
	const theirs = `/sessions/${ctx.victimSessionId}`;
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const rename = (category: Category, name: string, body: string, expect: Pick<RestCase, "status" | "code">) => ({
		category,
		name: `PATCH /sessions/{own} ${name}`,
		method: "PATCH",
		path: own,
		body,
		...expect,
	});
	const branch = (category: Category, name: string, body: string, expect: Pick<RestCase, "status" | "code">) => ({
		category,
		name: `POST /sessions/{own}/branch ${name}`,
		method: "POST",
		path: `${own}/branch`,
		body,
		...expect,
	});
	/** A title stored as plain text: the answer shows it back exactly (trimmed, as PostgreSQL keeps it). */
	const titled = (category: Category, name: string, title: string): RestCase => ({
		...rename(category, name, json({ title }), VALIDATION),
		ok: {
			status: 200,
			check: (b) => (b.title === storedForm(title).trim() ? undefined : `title reads ${JSON.stringify(b.title)}`),
		},
	});
	const malformed: [string, string][] = [
		["truncated", '{"title": "x'],
		["two documents", '{"title": "a"}{"title": "b"}'],
		["top-level string", '"title"'],
		["single quotes", "{'message_id': 'x'}"],
	];
	return [
		// Someone else's session or message: as if it did not exist, and nothing of theirs changes.
		{
			category: "other_users",
			name: "PATCH /sessions/{theirs}",
			method: "PATCH",
			path: theirs,
			body: json({ title: "Mine" }),
			...sessionNotFound,
		},
		{
			category: "other_users",
			name: "GET /sessions/{theirs}, upper case",
			method: "GET",
			path: theirs.toUpperCase().replace("/SESSIONS", "/sessions"),
			...sessionNotFound,
		},
		{
			category: "other_users",
			name: "POST /sessions/{theirs}/branch at their message",
			method: "POST",
			path: `${theirs}/branch`,
			body: json({ message_id: ctx.victimMessageId }),
			...sessionNotFound,
		},
		branch("other_users", "at their message", json({ message_id: ctx.victimMessageId }), {
			status: [404],
			code: ["MESSAGE_NOT_FOUND"],
		}),
		branch(
			"other_users",
			"with their session in the body",
			json({ id: ctx.victimSessionId, message_id: ctx.victimMessageId }),
			{
				status: [404],
				code: ["MESSAGE_NOT_FOUND"],
			},
		),
		{
			category: "other_users",
			name: "GET /sessions?character_id={their private character} lists none of theirs",
			method: "GET",
			path: `/sessions?character_id=${ctx.victimPrivateCharacterId}`,
			status: [],
			ok: {
				status: 200,
				check: (b) => (Array.isArray(b) && b.length === 0 ? undefined : `listed ${JSON.stringify(b)}`),
			},
		},
		// Wrong types and out of range.
		...[...WRONG_STRING, ["empty", ""], ["blank", " \t\n "], ["121 characters", "t".repeat(121)]].map(
			([label, title]) => rename("wrong_types", `title as ${label}`, json({ title }), invalid("title")),
		),
		rename("wrong_types", "without a title", json({ name: "x" }), invalid("title")),
		...[...WRONG_STRING, ["null", null], ["not a UUID", "12345"]].map(([label, message_id]) =>
			branch("wrong_types", `message_id as ${label}`, json({ message_id }), invalid("message_id")),
		),
		branch("wrong_types", "without a message_id", "{}", invalid("message_id")),
		{
			category: "wrong_types",
			name: "GET /sessions character_id=abc",
			method: "GET",
			path: "/sessions?character_id=abc",
			...invalid("character_id"),
		},
		{
			category: "wrong_types",
			name: "GET /sessions/{not a uuid}",
			method: "GET",
			path: "/sessions/12345",
			...invalid("id"),
		},
		{
			category: "wrong_types",
			name: "PATCH /sessions/{not a uuid}",
			method: "PATCH",
			path: "/sessions/abc",
			body: json({ title: "x" }),
			...invalid("id"),
		},
		...malformed.flatMap(([kind, body]) => [
			rename("malformed_json", kind, body, INVALID_JSON),
			branch("malformed_json", kind, body, INVALID_JSON),
		]),
		rename("huge_bodies", "title of 70 kB", json({ title: "t".repeat(70 * 1024) }), TOO_LARGE),
		branch("deep_nesting", "message_id nested 5,000 deep", json({ message_id: "x" }).replace('"x"', deepArray(5000)), {
			status: [400, 413, 422],
		}),
		rename("null_bytes", "title", json({ title: "a\u0000b" }), { status: [400, 422], code: ["VALIDATION_ERROR"] }),
		// Text is text: stored as written, never run.
		...[...SQL, ...HTML].map((payload, i) => titled("injection", `title injection #${i + 1}`, payload)),
		...UNICODE.map(([label, text]) => titled("unicode", `title with ${label}`, text)),
		{
			category: "injection",
			name: "GET /sessions?character_id= SQL",
			method: "GET",
			path: `/sessions?character_id=${encodeURIComponent(SQL[0])}`,
			...invalid("character_id"),
		},
		{
			category: "forged_jwt",
			name: "PATCH /sessions/{own} without a token",
			method: "PATCH",
			path: own,
			auth: "none",
			body: json({ title: "x" }),
			...UNAUTHORIZED,
		},
		{
			category: "forged_jwt",
			name: "POST /sessions/{own}/branch without a token",
			method: "POST",
			path: `${own}/branch`,
			auth: "none",
			body: json({ message_id: ctx.victimMessageId }),
			...UNAUTHORIZED,
		},
		{
			category: "path_traversal",
			name: "POST /sessions/../characters/branch",
			method: "POST",
			path: "/sessions/..%2fcharacters/branch",
			body: json({ message_id: ctx.victimMessageId }),
			status: [400, 404, 422],
		},
	];
}

// ---------------------------------------------------------------------------------------------------------------
// Steering the story: PATCH/DELETE /sessions/{id}/messages/{message_id}, POST .../{message_id}/select

function storyRequests(ctx: HostileContext): RestCase[] {
	const own = ctx.ownSessionId;
	const unknown = "00000000-0000-4000-8000-000000000000";
	const sessionNotFound = { status: [404], code: ["SESSION_NOT_FOUND"] };
	const messageNotFound = { status: [404], code: ["MESSAGE_NOT_FOUND"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const ROUTES: [string, string, string | undefined][] = [
		["PATCH", "", json({ content: "Mine now" })],
		["DELETE", "", undefined],
		["POST", "/select", undefined],
	];
	/** Edit, rewind and select, each on message `message` of session `session`, with the answer expected. */
	const onEach = (
		category: Category,
		label: string,
		session: string,
		message: string,
		expect: Pick<RestCase, "status" | "code" | "field" | "auth">,
	): RestCase[] =>
		ROUTES.map(([method, suffix, body]) => ({
			category,
			name: `${method} ${suffix ? "select " : ""}${label}`,
			method,
			path: `/sessions/${session}/messages/${message}${suffix}`,
			body,
			...expect,
		}));
	const edit = (category: Category, name: string, body: string, expect: Pick<RestCase, "status" | "code">) => ({
		category,
		name: `PATCH /sessions/{own}/messages/{theirs} ${name}`,
		method: "PATCH",
		path: `/sessions/${own}/messages/${ctx.victimMessageId}`,
		body,
		...expect,
	});
	const victim = ctx.victimMessageId;
	return [
		// Someone else's session or message: as if it did not exist, and nothing of theirs changes.
		...onEach("other_users", "their message in their session", ctx.victimSessionId, victim, sessionNotFound),
		...onEach("other_users", "their message in my session", own, victim, messageNotFound),
		...onEach("other_users", "their message in my session, upper case", own, victim.toUpperCase(), messageNotFound),
		...onEach("other_users", "an unknown message", own, unknown, messageNotFound),
		...onEach("forged_jwt", "a message without a token", own, victim, { auth: "none", ...UNAUTHORIZED }),
		// Checked before anything is looked up: wrong types, out of range, malformed.
		...onEach("wrong_types", "message_id not a UUID", own, "12345", invalid("message_id")),
		...onEach("injection", "message_id of SQL", own, encodeURIComponent(SQL[0]), { status: [400, 404, 422] }),
		...[
			...WRONG_STRING,
			["null", null],
			["empty", ""],
			["blank", " \t\n "],
			["4,001 characters", "x".repeat(4001)],
		].map(([label, content]) => edit("wrong_types", `content as ${label}`, json({ content }), invalid("content"))),
		edit("wrong_types", "without content", json({ text: "x" }), invalid("content")),
		...[
			["truncated", '{"content": "x'],
			["two documents", '{"content": "a"}{"content": "b"}'],
			["top-level string", '"content"'],
		].map(([kind, body]) => edit("malformed_json", kind, body, INVALID_JSON)),
		edit("huge_bodies", "content of 70 kB", json({ content: "c".repeat(70 * 1024) }), TOO_LARGE),
		edit("deep_nesting", "content nested 5,000 deep", json({ content: "x" }).replace('"x"', deepArray(5000)), {
			status: [400, 413, 422],
		}),
		edit("null_bytes", "content with a NUL", json({ content: "a\u0000b" }), {
			status: [422],
			code: ["VALIDATION_ERROR"],
		}),
		{
			category: "path_traversal",
			name: "DELETE /sessions/{own}/messages/../../characters",
			method: "DELETE",
			path: `/sessions/${own}/messages/..%2f..%2fcharacters`,
			status: [400, 404, 422],
		},
	];
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket handshakes

export function buildHandshakeCases(ctx: HostileContext): HandshakeCase[] {
	const t = encodeURIComponent(ctx.attacker.token);
	const c = ctx.chatCharacterId;
	const cases: HandshakeCase[] = [];
	const add = (category: Category, name: string, path: string, status: number[], headers?: Record<string, string>) =>
		cases.push({ category, name, path, status, headers });

	for (const { name, token } of forgedTokens(ctx))
		add("forged_jwt", `token: ${name}`, `/ws/${c}?token=${encodeURIComponent(token)}`, [401]);
	add("forged_jwt", "Authorization header with a forged token", `/ws/${c}`, [401], {
		Authorization: `Bearer ${forgedTokens(ctx)[1].token}`,
	});
	add("forged_jwt", "Authorization: Basic", `/ws/${c}`, [401], {
		Authorization: `Basic ${Buffer.from(`a:${ctx.attacker.token}`).toString("base64")}`,
	});
	add("forged_jwt", "token in a cookie only", `/ws/${c}`, [401], { Cookie: `token=${ctx.attacker.token}` });

	const hs: [string, string, number[]][] = [
		["no token", `/ws/${c}`, [401]],
		["empty token", `/ws/${c}?token=`, [401]],
		["garbage token", `/ws/${c}?token=garbage`, [401]],
		["a bad token first, the good one second", `/ws/${c}?token=garbage&token=${t}`, [401]],
		["token with an invalid percent escape", `/ws/${c}?token=%zz${t}`, [401]],
		["token with %00", `/ws/${c}?token=${t}%00`, [401]],
		["token with an RTL override", `/ws/${c}?token=%E2%80%AE${t}`, [401]],
		["character id not a UUID", `/ws/nope?token=${t}`, [404]],
		["character id with an invalid percent escape", `/ws/%zz?token=${t}`, [400, 404]],
		["character id with a truncated percent escape", `/ws/%E0%A4%A?token=${t}`, [400, 404]],
		["character id %00", `/ws/%00?token=${t}`, [400, 404]],
		["character id ..%2f..%2fetc%2fpasswd", `/ws/..%2f..%2fetc%2fpasswd?token=${t}`, [400, 404]],
		["character id %2e%2e", `/ws/%2e%2e?token=${t}`, [400, 404]],
		["character id double-encoded", `/ws/%252e%252e%252fetc?token=${t}`, [400, 404]],
		["character id with SQL", `/ws/${encodeURIComponent("' OR 1=1--")}?token=${t}`, [400, 404]],
		["character id an emoji", `/ws/%F0%9F%98%80?token=${t}`, [400, 404]],
		["character id 4 kB", `/ws/${"a".repeat(4096)}?token=${t}`, [400, 404]],
		["unknown character", `/ws/00000000-0000-4000-8000-000000000000?token=${t}`, [404]],
		["a path after the character id", `/ws/${c}/extra?token=${t}`, [404]],
		["/ws with no character", `/ws/?token=${t}`, [404]],
		["/WS in capitals", `/WS/${c}?token=${t}`, [404]],
		["/wsx/", `/wsx/${c}?token=${t}`, [404]],
		["session_id garbage", `/ws/${c}?token=${t}&session_id=garbage`, [400]],
		["session_id with SQL", `/ws/${c}?token=${t}&session_id=${encodeURIComponent("' OR '1'='1")}`, [400]],
		["session_id %00", `/ws/${c}?token=${t}&session_id=%00`, [400]],
		["session_id twice (garbage first)", `/ws/${c}?token=${t}&session_id=x&session_id=${ctx.ownSessionId}`, [400]],
		["unknown session_id", `/ws/${c}?token=${t}&session_id=00000000-0000-4000-8000-000000000000`, [404]],
		[
			"own session with another character",
			`/ws/${ctx.victimPublicCharacterId}?token=${t}&session_id=${ctx.ownSessionId}`,
			[400],
		],
		["after without session_id", `/ws/${c}?token=${t}&after=${ctx.victimMessageId}`, [400]],
		["after garbage", `/ws/${c}?token=${t}&session_id=${ctx.ownSessionId}&after=garbage`, [400]],
		["greeting=-1", `/ws/${c}?token=${t}&greeting=-1`, [400]],
		["greeting=abc", `/ws/${c}?token=${t}&greeting=abc`, [400]],
		["greeting=1e3", `/ws/${c}?token=${t}&greeting=1e3`, [400]],
		["greeting=9999", `/ws/${c}?token=${t}&greeting=9999`, [400]],
		["greeting=1.5", `/ws/${c}?token=${t}&greeting=1.5`, [400]],
		["greeting=%00", `/ws/${c}?token=${t}&greeting=%00`, [400]],
		["greeting with a leading space", `/ws/${c}?token=${t}&greeting=%201`, [400]],
		["persona_id garbage", `/ws/${c}?token=${t}&persona_id=garbage`, [400]],
		["persona_id with SQL", `/ws/${c}?token=${t}&persona_id=${encodeURIComponent("' OR 1=1--")}`, [400]],
		["unknown persona_id", `/ws/${c}?token=${t}&persona_id=00000000-0000-4000-8000-000000000000`, [404]],
	];
	const nil = "00000000-0000-4000-8000-000000000000";
	hs.push(
		["/ws/session/ with no id", `/ws/session/?token=${t}`, [404]],
		["/ws/session/ garbage", `/ws/session/garbage?token=${t}`, [404]],
		["/ws/session/ with an invalid percent escape", `/ws/session/%zz?token=${t}`, [400]],
		["/ws/session/ with SQL", `/ws/session/${encodeURIComponent("' OR 1=1--")}?token=${t}`, [404]],
		["/ws/session/ unknown", `/ws/session/${nil}?token=${t}`, [404]],
		["/ws/session/ with a path after it", `/ws/session/${ctx.ownSessionId}/extra?token=${t}`, [404]],
		["/ws/session/ with another session_id", `/ws/session/${ctx.ownSessionId}?token=${t}&session_id=${nil}`, [400]],
		["/ws/session/ without a token", `/ws/session/${ctx.ownSessionId}`, [401]],
	);
	for (const [name, path, status] of hs) add("ws_handshake", name, path, status);
	add("other_users", "/ws/session/ of another user", `/ws/session/${ctx.victimSessionId}?token=${t}`, [404]);
	add("other_users", "session_id of another user", `/ws/${c}?token=${t}&session_id=${ctx.victimSessionId}`, [404]);
	add(
		"other_users",
		"session_id of another user, with their character",
		`/ws/${ctx.victimPublicCharacterId}?token=${t}&session_id=${ctx.victimSessionId}`,
		[404],
	);
	add("other_users", "another user's private character", `/ws/${ctx.victimPrivateCharacterId}?token=${t}`, [404]);
	const theirPersona = ctx.ids.victimPersonaId;
	add("other_users", "persona_id of another user", `/ws/${c}?token=${t}&persona_id=${theirPersona}`, [404]);
	add(
		"other_users",
		"persona_id of another user, resuming my session",
		`/ws/${c}?token=${t}&session_id=${ctx.ownSessionId}&persona_id=${theirPersona}`,
		[404],
	);
	cases.push(...apiKeyHandshakes(ctx), ...wsTicketHandshakes(ctx));
	return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket frames

export function buildFrameCases(ctx: HostileContext, ownAiMessageId: string): FrameCase[] {
	const cases: FrameCase[] = [];
	const add = (category: Category, name: string, frame: string | Buffer, expect: FrameExpectation, binary = false) =>
		cases.push({ category, name, frame, expect, binary });
	const err = (code: string) => ({ error: code });

	// Not JSON, or not an object.
	add("malformed_json", "empty frame", "", err("invalid_json"));
	add("malformed_json", "whitespace only", "  \n ", err("invalid_json"));
	add("malformed_json", "plain text", "hello there", err("invalid_json"));
	add("malformed_json", "truncated", '{"content": "hi', err("invalid_json"));
	add("malformed_json", "trailing garbage", '{"content": "hi"} x', err("invalid_json"));
	add("malformed_json", "NaN", '{"content": NaN}', err("invalid_json"));
	add("malformed_json", "comment", '{/* c */ "content": "hi"}', err("invalid_json"));
	add("malformed_json", "single quotes", "{'content': 'hi'}", err("invalid_json"));
	add("malformed_json", "BOM before the object", '\uFEFF{"content": "hi"}', err("invalid_json"));
	add("ws_frames", "JSON array", "[]", err("invalid_message"));
	add("ws_frames", "JSON array of a message", '[{"content": "hi"}]', err("invalid_message"));
	add("ws_frames", "JSON string", '"hi"', err("invalid_message"));
	add("ws_frames", "JSON number", "42", err("invalid_message"));
	add("ws_frames", "JSON true", "true", err("invalid_message"));
	add("ws_frames", "JSON null", "null", err("invalid_message"));
	add("ws_frames", "empty object", "{}", err("invalid_message"));

	// Fields of the wrong type.
	for (const [label, value] of [
		["number", 42],
		["null", null],
		["array", ["hi"]],
		["object", { text: "hi" }],
		["boolean", true],
	] as const) {
		add("wrong_types", `content as ${label}`, json({ content: value }), err("invalid_message"));
	}
	add("wrong_types", "text instead of content", json({ text: "hi" }), err("invalid_message"));
	add(
		"wrong_types",
		"type message with content as a number",
		json({ type: "message", content: 1 }),
		err("invalid_message"),
	);

	// Unknown types.
	for (const type of ["teleport", "", "STOP", "message ", "Regenerate", "__proto__", "constructor"])
		add("ws_frames", `type ${JSON.stringify(type)}`, json({ type, content: "hi" }), err("unknown_type"));
	for (const [label, type] of [
		["number", 42],
		["null", null],
		["boolean", false],
		["object", { a: 1 }],
		["array", ["stop"]],
	] as const) {
		add("ws_frames", `type as ${label}`, json({ type, content: "hi" }), err("unknown_type"));
	}

	// Content limits.
	add("ws_frames", "empty content", json({ content: "" }), err("empty_content"));
	add("ws_frames", "whitespace content", json({ content: " \n\t " }), err("empty_content"));
	add("ws_frames", "ideographic space and BOM only", json({ content: "\u3000\uFEFF" }), err("empty_content"));
	add("ws_frames", "4,001 characters", json({ content: "x".repeat(4001) }), err("content_too_long"));
	add(
		"ws_frames",
		"2,001 emoji (4,002 UTF-16 units)",
		json({ content: "\u{1F600}".repeat(2001) }),
		err("content_too_long"),
	);
	// One tokenizer piece as long as allowed: its count froze the process 4 s (event-loop-stalls.spec.ts measures it).
	add("unicode", "4,000 random CJK characters, no space", json({ content: randomCjk(4000) }), {
		echo: randomCjk(4000),
	});
	add(
		"huge_bodies",
		"60 kB content (under the frame limit)",
		json({ content: "y".repeat(60 * 1024) }),
		err("content_too_long"),
	);
	add("huge_bodies", "1 MB text frame", json({ content: "y".repeat(1024 * 1024) }), { close: [1009] });
	add("huge_bodies", "64 kB + 1 text frame", json({ content: "y".repeat(64 * 1024) }), { close: [1009] });
	add("huge_bodies", "1 MB binary frame", Buffer.alloc(1024 * 1024, 0x7b), { close: [1009] }, true);

	// Binary frames.
	add(
		"ws_frames",
		"binary frame with a valid message",
		Buffer.from(json({ content: "hi" })),
		err("binary_not_supported"),
		true,
	);
	add("ws_frames", "binary garbage", Buffer.from([0, 1, 2, 3, 255]), err("binary_not_supported"), true);
	add("ws_frames", "empty binary frame", Buffer.alloc(0), err("binary_not_supported"), true);
	add("ws_frames", "binary PNG signature", PNG_SIGNATURE, err("binary_not_supported"), true);

	// Deep nesting.
	add("deep_nesting", "content as 10,000-deep arrays", `{"content": ${deepArray(10_000)}}`, err("invalid_message"));
	add("deep_nesting", "content as 10,000-deep objects", `{"content": ${deepObject(10_000)}}`, err("invalid_message"));
	add("deep_nesting", "type as 10,000-deep arrays", `{"type": ${deepArray(10_000)}}`, err("unknown_type"));
	add(
		"deep_nesting",
		"reply_to as 10,000-deep arrays",
		`{"type": "regenerate", "reply_to": ${deepArray(10_000)}}`,
		err("invalid_message"),
	);
	add("deep_nesting", "10,000-deep bare array", deepArray(10_000), err("invalid_message"));
	add("deep_nesting", "100,000-deep arrays (over the frame limit)", deepArray(100_000), { close: [1009] });

	// Regenerate and stop with bad ids.
	const regen = (reply_to: unknown) => json({ type: "regenerate", reply_to });
	add("ws_frames", "regenerate without reply_to", json({ type: "regenerate" }), err("invalid_message"));
	add("ws_frames", "regenerate reply_to a number", regen(42), err("invalid_message"));
	add("ws_frames", "regenerate reply_to not a UUID", regen("not-a-uuid"), err("invalid_message"));
	add("injection", "regenerate reply_to with SQL", regen("' OR '1'='1"), err("invalid_message"));
	add("null_bytes", "regenerate reply_to with a NUL", regen(`${ctx.victimMessageId}\u0000`), err("invalid_message"));
	add(
		"ws_frames",
		"regenerate reply_to the nil UUID",
		regen("00000000-0000-0000-0000-000000000000"),
		err("cannot_regenerate"),
	);
	add(
		"ws_frames",
		"regenerate reply_to an unknown id",
		regen("00000000-0000-4000-8000-000000000001"),
		err("cannot_regenerate"),
	);
	add("ws_frames", "regenerate reply_to an AI message", regen(ownAiMessageId), err("cannot_regenerate"));
	add(
		"other_users",
		"regenerate reply_to another session's message",
		regen(ctx.victimMessageId),
		err("cannot_regenerate"),
	);
	add(
		"other_users",
		"regenerate reply_to another session's message, upper case",
		regen(ctx.victimMessageId.toUpperCase()),
		err("cannot_regenerate"),
	);
	add("other_users", "stop naming another session", json({ type: "stop", session_id: ctx.victimSessionId }), {
		ignored: true,
	});
	add("ws_frames", "stop with a garbage reply_to", json({ type: "stop", reply_to: "garbage" }), { ignored: true });

	// Room frames on a one-character chat (rooms-cluster.spec.ts has them in a room).
	const trigger = (character_id: unknown) => json({ type: "trigger", character_id });
	add("ws_frames", "trigger without a character", json({ type: "trigger" }), err("invalid_message"));
	add("ws_frames", "trigger with a number", trigger(7), err("invalid_message"));
	add("injection", "trigger with SQL", trigger("' OR 1=1--"), err("invalid_message"));
	add(
		"ws_frames",
		"trigger with a nested array",
		`{"type": "trigger", "character_id": ${deepArray(10_000)}}`,
		err("invalid_message"),
	);
	add("ws_frames", "trigger outside a room", trigger(ctx.victimPublicCharacterId), err("not_in_cast"));
	add("ws_frames", "typing outside a room", json({ type: "typing" }), { ignored: true });
	add("ws_frames", "typing with a content", json({ type: "typing", content: "x".repeat(5000) }), { ignored: true });
	add(
		"ws_frames",
		"regenerate with an id not a UUID",
		json({ type: "regenerate", reply_to: ownAiMessageId, id: 5 }),
		err("invalid_message"),
	);

	// NUL bytes.
	add("null_bytes", "content with an escaped NUL", json({ content: "a\u0000b" }), err("invalid_message"));
	add("null_bytes", "content of NULs only", json({ content: "\u0000\u0000" }), err("invalid_message"));
	add("null_bytes", "a raw NUL byte inside a string", Buffer.from('{"content": "a\u0000b"}'), err("invalid_json"));
	add("null_bytes", "type stop followed by a NUL", json({ type: "stop\u0000" }), err("unknown_type"));

	// Unicode and injection payloads: stored and echoed as they are.
	for (const [label, text] of UNICODE)
		add("unicode", `content with ${label}`, json({ content: `${text} end` }), { echo: storedForm(`${text} end`) });
	for (const [label, bytes] of RAW_UTF8)
		add(
			"unicode",
			`raw bytes in a text frame: ${label}`,
			Buffer.concat([Buffer.from('{"content": "a'), Buffer.from(bytes), Buffer.from('b"}')]),
			{ close: [1007] },
		);
	for (const payload of [...SQL, ...HTML])
		add("injection", `content ${payload}`, json({ content: payload }), { echo: payload });
	add("injection", "__proto__ carrying a type", '{"__proto__": {"type": "stop"}, "content": "proto check"}', {
		echo: "proto check",
	});
	add(
		"injection",
		"constructor.prototype",
		'{"constructor": {"prototype": {"polluted": "yes"}}, "content": "ctor check"}',
		{ echo: "ctor check" },
	);

	// Continue and impersonate: only these exact types; a look-alike is unknown, never a near match. (Fields these
	// frames do not have, such as another session's ids, are ignored: continue-impersonate.spec.ts shows they act on
	// the socket's own session only.)
	for (const type of ["continue", "impersonate"]) {
		add("ws_frames", `type ${type} in capitals`, json({ type: type.toUpperCase() }), err("unknown_type"));
		add("ws_frames", `type ${type} with a trailing space`, json({ type: `${type} ` }), err("unknown_type"));
		add("ws_frames", `type ${type} in an array`, json({ type: [type] }), err("unknown_type"));
		add("ws_frames", `type ${type} as an object key`, json({ type: { [type]: true } }), err("unknown_type"));
		add("null_bytes", `type ${type} followed by a NUL`, json({ type: `${type}\u0000` }), err("unknown_type"));
		add("unicode", `type ${type} with a zero-width space`, json({ type: `${type}\u200b` }), err("unknown_type"));
		add(
			"unicode",
			`type ${type} in Cyrillic look-alikes`,
			json({ type: type.replace(/o|e|a/g, (c) => CYRILLIC[c]) }),
			err("unknown_type"),
		);
		add("injection", `type ${type} with SQL`, json({ type: `${type}' OR '1'='1` }), err("unknown_type"));
		add(
			"deep_nesting",
			`type ${type} as 10,000-deep arrays`,
			`{"type": ${deepArray(10_000, type)}}`,
			err("unknown_type"),
		);
	}
	// Steering the story: edits and swipe choices that must change nothing.
	const edit = (id: unknown, content: unknown = "Mine now") => json({ type: "edit", id, content });
	const select = (id: unknown) => json({ type: "select_variant", id });
	const unknown = "00000000-0000-4000-8000-000000000000";
	add("other_users", "edit another session's message", edit(ctx.victimMessageId), err("message_not_found"));
	add(
		"other_users",
		"edit another session's message, upper case",
		edit(ctx.victimMessageId.toUpperCase()),
		err("message_not_found"),
	);
	add(
		"other_users",
		"edit another session's message naming that session",
		json({ type: "edit", id: ctx.victimMessageId, content: "x", session_id: ctx.victimSessionId }),
		err("message_not_found"),
	);
	add("other_users", "select_variant another session's message", select(ctx.victimMessageId), err("message_not_found"));
	add("ws_frames", "edit an unknown message", edit(unknown), err("message_not_found"));
	add("ws_frames", "select_variant an unknown message", select(unknown), err("message_not_found"));
	add("ws_frames", "select_variant the greeting", select(ownAiMessageId), err("cannot_select"));
	add("ws_frames", "edit with empty content", edit(ownAiMessageId, ""), err("empty_content"));
	add("ws_frames", "edit with blank content", edit(ownAiMessageId, " \n\t "), err("empty_content"));
	add("huge_bodies", "edit with 4,001 characters", edit(ownAiMessageId, "x".repeat(4001)), err("content_too_long"));
	add("null_bytes", "edit with a NUL", edit(ownAiMessageId, "a\u0000b"), err("invalid_message"));
	add("ws_frames", "edit without content", json({ type: "edit", id: ownAiMessageId }), err("invalid_message"));
	add("ws_frames", "edit without an id", json({ type: "edit", content: "x" }), err("invalid_message"));
	add("ws_frames", "select_variant without an id", json({ type: "select_variant" }), err("invalid_message"));
	for (const [label, value] of [...WRONG_STRING, ["null", null], ["not a UUID", "12345"], ["SQL", SQL[0]]] as const) {
		add("wrong_types", `edit id as ${label}`, edit(value), err("invalid_message"));
		add("wrong_types", `select_variant id as ${label}`, select(value), err("invalid_message"));
		if (label !== "not a UUID" && label !== "SQL")
			add("wrong_types", `edit content as ${label}`, edit(ownAiMessageId, value), err("invalid_message"));
	}
	add(
		"deep_nesting",
		"edit content nested 10,000 deep",
		`{"type": "edit", "id": "${unknown}", "content": ${deepArray(10_000)}}`,
		err("invalid_message"),
	);
	return cases;
}

/** Latin letters and the Cyrillic ones that look the same. */
const CYRILLIC: Record<string, string> = { o: "\u043e", e: "\u0435", a: "\u0430" };

// ---------------------------------------------------------------------------------------------------------------
// Requests Node's HTTP parser refuses, sent as raw bytes

export interface RawHttpCase {
	category: Category;
	name: string;
	bytes: string;
	status: number[];
}

export function buildRawHttpCases(): RawHttpCase[] {
	const end = "Host: x\r\nConnection: close\r\n\r\n";
	const cases: [string, string, number[]][] = [
		["headers of 20 kB", `GET /health HTTP/1.1\r\nX-Pad: ${"p".repeat(20 * 1024)}\r\n${end}`, [431]],
		["a request line of 20 kB", `GET /characters?q=${"q".repeat(20 * 1024)} HTTP/1.1\r\n${end}`, [414, 431]],
		["a garbage request line", `HELLO THERE\r\n${end}`, [400]],
		["HTTP/9.9", `GET /health HTTP/9.9\r\n${end}`, [400, 505]],
		["a header line without a colon", `GET /health HTTP/1.1\r\nNoColonHere\r\n${end}`, [400]],
		["a NUL in a header value", `GET /health HTTP/1.1\r\nX-A: a\u0000b\r\n${end}`, [400]],
		["a space before the colon", `GET /health HTTP/1.1\r\nX-A : b\r\n${end}`, [400]],
		[
			"Content-Length and Transfer-Encoding (smuggling)",
			`POST /register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n${end}0\r\n\r\n`,
			[400],
		],
		[
			"two different Content-Lengths",
			`POST /register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n${end}{}`,
			[400],
		],
		[
			"a negative Content-Length",
			`POST /register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n${end}`,
			[400],
		],
		[
			"an invalid chunk size",
			`POST /register HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${end}zz\r\n{}\r\n0\r\n\r\n`,
			[400, 404],
		],
	];
	return cases.map(([name, bytes, status]) => ({ category: "malformed_http", name, bytes, status }));
}

// ---------------------------------------------------------------------------------------------------------------
// Handshake floods: many upgrades at once or in a loop, against a broker with HANDSHAKE_FLOOD_LIMITS that trusts one
// proxy hop, so each case comes from an address of its own (its X-Forwarded-For) and the cases do not share budgets.

export const HANDSHAKE_FLOOD_LIMITS = {
	CHAT_MAX_SOCKETS_PER_USER: "3",
	CHAT_HANDSHAKES_PER_MINUTE: "6",
	CHAT_HANDSHAKES_PER_IP_PER_MINUTE: "10",
	TRUST_PROXY: "true",
} as const;

export interface HandshakeFloodCase {
	category: Category;
	name: string;
	handshakes: number;
	/** All at once, or one after another. */
	atOnce: boolean;
	/** One account for all, or a new account for each (one address opening many accounts). */
	accounts: "one" | "each";
	/** Keep every socket that opens (tabs left open), or close it at once (a reconnect loop). */
	keepOpen: boolean;
	/** How many open; each of the others is a 429 with Retry-After and one of these codes. */
	opened: number;
	codes: string[];
}

export function buildHandshakeFloodCases(): HandshakeFloodCase[] {
	const limited = (name: string, c: Omit<HandshakeFloodCase, "category" | "name">): HandshakeFloodCase => ({
		category: "ws_flood",
		name,
		...c,
	});
	return [
		limited("20 handshakes at once by one account, kept open (sockets per user)", {
			handshakes: 20,
			atOnce: true,
			accounts: "one",
			keepOpen: true,
			opened: 3,
			codes: ["TOO_MANY_SOCKETS", "RATE_LIMITED"],
		}),
		limited("20 reconnects in a loop by one account (handshakes per user)", {
			handshakes: 20,
			atOnce: false,
			accounts: "one",
			keepOpen: false,
			opened: 6,
			codes: ["RATE_LIMITED"],
		}),
		limited("12 handshakes at once by 12 accounts from one address (handshakes per address)", {
			handshakes: 12,
			atOnce: true,
			accounts: "each",
			keepOpen: false,
			opened: 10,
			codes: ["RATE_LIMITED"],
		}),
	];
}
