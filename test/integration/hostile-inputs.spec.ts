/**
 * "Prove it under attack": the whole system in one embedded broker (real PostgreSQL, real sockets), fed the hostile
 * tables of test/support/hostile-cases.ts over REST and WebSocket. Every case must be refused with a 4xx (JSON
 * `{detail, code}`), an error frame or a clean close, or, where the table allows it, stored as plain text that reads
 * back exactly. None may crash the node, change another user's data, or leak a stack trace or SQL error.
 * A second broker with low limits takes the floods. The counts by category are printed for the CI log.
 */
import http, { type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { signAccessToken } from "../../src/domain/access-tokens.js";
import { TEST_JWT_SECRET, testConfig, uniqueName } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayPort } from "../support/gateway.js";
import {
	CATEGORIES,
	buildFrameCases,
	buildHandshakeCases,
	buildHandshakeFloodCases,
	HANDSHAKE_FLOOD_LIMITS,
	buildRawHttpCases,
	buildRestCases,
	type Account,
	type Category,
	type FrameCase,
	type HandshakeTarget,
	type HostileContext,
	type Json,
	type RestCase,
} from "../support/hostile-cases.js";
import { preparePersonas } from "../support/hostile-personas.js";
import { prepareLorebooks } from "../support/hostile-lorebooks.js";
import { prepareMemory } from "../support/hostile-memory.js";
import { prepareRooms } from "../support/hostile-rooms.js";
import { preparePresets } from "../support/hostile-presets.js";
import { prepareApiKeys } from "../support/hostile-api-keys.js";
import { prepareWsTickets } from "../support/hostile-ws-tickets.js";
import type { DbThis } from "../../mixins/db.mixin.js";

// ---- Process-level collectors: nothing the table does may reach these. ----
const processErrors: { kind: string; error: unknown }[] = [];
const onRejection = (error: unknown) => processErrors.push({ kind: "unhandledRejection", error });
const onException = (error: unknown) => processErrors.push({ kind: "uncaughtException", error });
process.on("unhandledRejection", onRejection);
process.on("uncaughtException", onException);

/** What an answer must never contain: stack frames, file paths, driver and database error text. */
const LEAKS: RegExp[] = [
	/at \//,
	/node_modules/,
	/\.ts:/,
	/\.js:\d/,
	/Sequelize/i,
	/syntax error at or near/i,
	/invalid input syntax/i,
	/violates [a-z -]*constraint/i,
	/duplicate key value/i,
	/SQLSTATE/i,
	/invalid byte sequence/i,
	/unsupported Unicode escape/i,
	/unterminated quoted/i,
	/relation "[^"]*" does not exist/i,
	/ECONNREFUSED/,
	/RangeError|TypeError|ReferenceError/,
	/Maximum call stack/i,
];
const leakIn = (text: string) => LEAKS.find((re) => re.test(text));

const REST_POOL = 8;
const counts = new Map<Category, number>();
const count = (category: Category, n = 1) => counts.set(category, (counts.get(category) ?? 0) + n);
/** How the cases were answered: refused (4xx, error frame, close), stored as plain text, or answered as designed. */
const outcomes = new Map<string, number>();
const outcome = (kind: string) => outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
const timings: { name: string; ms: number }[] = [];

let broker: ServiceBroker;
let apiPort = 0;
let wsPort = 0;
let ctx: HostileContext;
let victimBefore: Record<string, unknown>;
/** Characters the accepted cases created, deleted again at the end. */
const created = new Set<string>();

// ---- HTTP, sent raw: paths are not normalized, bodies are bytes. ----

interface Reply {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
	body: Json;
	ms: number;
}

function send(
	port: number,
	opts: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Reply> {
	const started = Date.now();
	// Node's client sends a GET body without a length (the server would read it as the next request): always give one.
	const headers =
		opts.body === undefined
			? opts.headers
			: { ...opts.headers, "Content-Length": String(Buffer.byteLength(opts.body)) };
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: "127.0.0.1", port, method: opts.method, path: opts.path, headers, agent: false },
			(res) => {
				const chunks: Buffer[] = [];
				res.on("data", (c: Buffer) => chunks.push(c));
				res.on("error", reject);
				res.on("end", () => {
					const bytes = Buffer.concat(chunks);
					const isJson = /json/.test(res.headers["content-type"] ?? "");
					const text = isJson || !/image/.test(res.headers["content-type"] ?? "") ? bytes.toString("utf8") : "";
					let body: Json;
					try {
						body = isJson && text ? JSON.parse(text) : undefined;
					} catch {
						body = undefined;
					}
					resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, ms: Date.now() - started });
				});
			},
		);
		req.setTimeout(20_000, () =>
			req.destroy(new Error(`no answer within 20 s: ${opts.method} ${opts.path.slice(0, 100)}`)),
		);
		req.on("error", reject);
		req.end(opts.body);
	});
}

function rest(
	c: Pick<RestCase, "method" | "path" | "auth" | "type" | "headers" | "body">,
	token = ctx.attacker.token,
): Promise<Reply> {
	const headers: Record<string, string> = { ...c.headers };
	const auth = c.auth ?? "attacker";
	if (auth === "attacker") headers.Authorization = `Bearer ${token}`;
	else if (typeof auth === "object") headers.Authorization = auth.header;
	if (c.body !== undefined && c.type !== null) headers["Content-Type"] = c.type ?? "application/json";
	return send(apiPort, { method: c.method, path: c.path, headers, body: c.body });
}

const asUser = (token: string, method: string, path: string, body?: unknown) =>
	rest({ method, path, body: body === undefined ? undefined : JSON.stringify(body) }, token);

/** A refusal: the status the case allows, JSON `{detail, code}`, the code it names. */
function checkRefusal(
	status: number[],
	code: string[] | undefined,
	reply: { status: number; text: string },
	body: Json,
): string | undefined {
	if (!status.includes(reply.status))
		return `status ${reply.status}, expected ${status.join("|")}: ${reply.text.slice(0, 300)}`;
	if (typeof body?.detail !== "string" || typeof body?.code !== "string")
		return `not {detail, code}: ${JSON.stringify(reply.text.slice(0, 300))}`;
	if (code && !code.includes(body.code)) return `code ${body.code}, expected ${code.join("|")} (${body.detail})`;
	return undefined;
}

/** The /v1 API refuses in OpenAI's form only: its `error.message` and `error.code` stand for `detail` and `code`. */
function refusalBody(path: string, body: Json): Json {
	if (!path.startsWith("/v1/")) return body;
	const error = body?.error;
	return typeof error?.type === "string" ? { detail: error.message, code: error.code } : {};
}

async function runRestCase(c: RestCase): Promise<string | undefined> {
	let reply: Reply;
	try {
		reply = await rest(c);
	} catch (err) {
		return `no answer: ${(err as Error).message}`;
	}
	timings.push({ name: `${c.category}: ${c.name}`, ms: reply.ms });
	const leak = leakIn(reply.text);
	if (leak) return `leaks ${leak}: ${reply.text.slice(0, 300)}`;
	if (reply.status >= 500) return `${reply.status}: ${reply.text.slice(0, 300)}`;
	if (c.ok && reply.status === c.ok.status) {
		outcome("REST 2xx by design (listing, own data)");
		return c.ok.check(reply.body);
	}
	if (c.stored && reply.status === 201) {
		outcome("REST stored as plain text, read back exactly");
		return checkStored(c.stored, reply.body);
	}
	outcome(`REST ${reply.status}`);
	const refused = checkRefusal(c.status, c.code, reply, refusalBody(c.path, reply.body));
	if (refused) return refused;
	if (c.field && reply.body.code === "VALIDATION_ERROR") {
		const fields: string[] = (reply.body.errors ?? []).map((e: { field: string }) => e.field);
		if (!fields.some((f) => f.startsWith(c.field!)))
			return `validation names ${JSON.stringify(fields)}, not ${c.field}`;
	}
	return undefined;
}

/** An accepted case made a character: it must be the attacker's and read back exactly as sent. */
async function checkStored(expected: Record<string, unknown>, body: Json): Promise<string | undefined> {
	if (typeof body?.id !== "string") return `201 without an id: ${JSON.stringify(body).slice(0, 200)}`;
	created.add(body.id);
	const back = await rest({ method: "GET", path: `/characters/id/${body.id}` });
	if (back.status !== 200 || !/^application\/json/.test(back.headers["content-type"] ?? ""))
		return `read back ${back.status} ${back.headers["content-type"]}`;
	if (back.body.created_by !== ctx.attacker.id) return `stored as created_by ${back.body.created_by}`;
	if (
		![ctx.ownCharacterId, ctx.victimPublicCharacterId, ctx.victimPrivateCharacterId, ctx.chatCharacterId].every(
			(id) => id !== body.id,
		)
	)
		return "reused an existing id";
	if (!/^[a-z0-9-]+$/.test(back.body.slug)) return `unsafe slug ${JSON.stringify(back.body.slug)}`;
	for (const [field, value] of Object.entries(expected)) {
		if (!isDeepStrictEqual(back.body[field], value))
			return `${field} reads back as ${JSON.stringify(back.body[field])}, sent ${JSON.stringify(value)}`;
	}
	// At once: imported cards are public, and other test files list the gallery meanwhile.
	if ((await rest({ method: "DELETE", path: `/characters/id/${body.id}` })).status === 204) created.delete(body.id);
	return undefined;
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: size }, async () => {
			while (next < items.length) await fn(items[next++]);
		}),
	);
}

async function expectHealthy(port = apiPort): Promise<void> {
	const health = await send(port, { method: "GET", path: "/health" });
	expect(health.status, health.text).toBe(200);
	expect(JSON.parse(health.text)).toMatchObject({ status: "ok" });
}

/** Raw bytes on a fresh connection: the status and body of whatever comes back before the server closes it. */
function sendRaw(port: number, bytes: string): Promise<{ status: number; text: string }> {
	return new Promise((resolve, reject) => {
		const socket = connect({ host: "127.0.0.1", port });
		const chunks: Buffer[] = [];
		const timer = setTimeout(() => socket.destroy(new Error("no answer within 10 s")), 10_000);
		socket.on("data", (c: Buffer) => chunks.push(c));
		socket.on("error", (err) => (chunks.length ? undefined : reject(err)));
		socket.on("close", () => {
			clearTimeout(timer);
			const answer = Buffer.concat(chunks).toString("utf8");
			const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
			const [head, ...rest] = answer.split("\r\n\r\n");
			let text = rest.join("\r\n\r\n");
			// The first response only: a chunked body is its first chunk (the small JSON bodies fit one).
			if (/transfer-encoding: *chunked/i.test(head)) text = /^[0-9a-f]+\r\n([^]*?)\r\n/i.exec(text)?.[1] ?? text;
			else if (/content-length: *(\d+)/i.test(head))
				text = text.slice(0, Number(/content-length: *(\d+)/i.exec(head)![1]));
			resolve({ status, text });
		});
		socket.end(bytes);
	});
}

// ---- WebSocket ----

/** An upgrade request sent raw (paths as they are): 101, or the refusal's status, headers and body. A socket that opens is closed at once, or pushed to `keep`. */
function upgrade(
	port: number,
	path: string,
	headers: Record<string, string> = {},
	keep?: Duplex[],
): Promise<{ status: number; text: string; headers?: IncomingHttpHeaders }> {
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: "127.0.0.1",
			port,
			path,
			agent: false,
			headers: {
				Connection: "Upgrade",
				Upgrade: "websocket",
				"Sec-WebSocket-Version": "13",
				"Sec-WebSocket-Key": randomBytes(16).toString("base64"),
				...headers,
			},
		});
		req.setTimeout(15_000, () => req.destroy(new Error("no answer to the upgrade within 15 s")));
		req.on("upgrade", (_res, socket) => {
			if (keep) keep.push(socket);
			else socket.destroy();
			resolve({ status: 101, text: "" });
		});
		req.on("response", (res) => {
			let text = "";
			res.setEncoding("utf8");
			res.on("data", (d: string) => (text += d));
			res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
		});
		req.on("error", reject);
		req.end();
	});
}

const chatUrl = (token: string, character = ctx.chatCharacterId, extra = "", port = wsPort) =>
	`ws://127.0.0.1:${port}/ws/${character}?token=${encodeURIComponent(token)}${extra}`;

async function openChat(
	token: string,
	extra = "",
	port = wsPort,
	character = ctx?.chatCharacterId,
): Promise<{ socket: ChatSocket; hello: Frame }> {
	const socket = await ChatSocket.open(chatUrl(token, character, extra, port));
	// A socket the server closes mid-send may report EPIPE/ECONNRESET more than once.
	socket.ws.on("error", () => undefined);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, hello };
}

/** The first answer (error or echo) after frame index `from`. */
const answerAfter = (socket: ChatSocket, from: number, timeoutMs = 5000) =>
	socket.next((f) => socket.frames.indexOf(f) >= from && (f.type === "error" || f.type === "echo"), timeoutMs);

function sendFrame(socket: ChatSocket, c: Pick<FrameCase, "frame" | "binary">): void {
	if (typeof c.frame === "string" && !c.binary) socket.ws.send(c.frame);
	else socket.ws.send(c.frame, { binary: Boolean(c.binary) });
}

function frameLeak(frames: Frame[]): string | undefined {
	for (const f of frames) {
		if (f.type !== "error") continue;
		const leak = leakIn(JSON.stringify(f));
		if (leak) return `error frame leaks ${leak}: ${JSON.stringify(f).slice(0, 300)}`;
		if (typeof f.message !== "string" || typeof f.code !== "string")
			return `malformed error frame ${JSON.stringify(f).slice(0, 300)}`;
	}
	return undefined;
}

// ---- Setup ----

async function account(prefix: string): Promise<Account> {
	const username = uniqueName(prefix);
	const { id } = await broker.call<{ id: string }, object>("auth.register", {
		username,
		name: `${prefix} user`,
		password: "password123",
	});
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { id, username, token: access_token };
}

async function createCharacter(owner: Account, fields: Record<string, unknown>): Promise<string> {
	const row = await broker.call<{ id: string }, object>(
		"characters.create",
		{ system_prompt: "You are a test character.", greeting: "Hello.", ...fields },
		{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
	);
	return row.id;
}

/** Everything of the victim's that the attacker aims at, as the victim sees it. */
async function victimSnapshot(): Promise<Record<string, unknown>> {
	const t = ctx.victim.token;
	const paths = [
		"/me",
		`/characters/id/${ctx.victimPrivateCharacterId}`,
		`/characters/id/${ctx.victimPublicCharacterId}`,
		`/characters/id/${ctx.victimPrivateCharacterId}/card.json`,
		"/sessions?limit=100",
		`/sessions/${ctx.victimSessionId}/messages?limit=200`,
	];
	const snapshot: Record<string, unknown> = {};
	for (const path of paths) {
		const res = await asUser(t, "GET", path);
		snapshot[path] = { status: res.status, body: res.body };
	}
	return snapshot;
}

beforeAll(async () => {
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("hostile"),
			CHAT_MESSAGES_PER_MINUTE: "100000",
			CHAT_USER_MESSAGES_PER_MINUTE: "100000",
			CHAT_USER_TOKENS_PER_DAY: "0",
			AUTH_RATE_LIMIT: "100000",
			AUTH_LOGIN_FAILURES_PER_USER: "100000",
		}),
		{ logger: false },
	);
	await broker.start();
	apiPort = gatewayPort(broker);
	wsPort = broker.getLocalService("chat-ws").settings.port as number;

	const [attacker, victim] = await Promise.all([account("atk"), account("vic")]);
	const victimPrivateCharacterName = `Secret Diary ${uniqueName("p")}`;
	const [ownCharacterId, chatCharacterId, victimPrivateCharacterId, victimPublicCharacterId] = await Promise.all([
		createCharacter(attacker, { name: `Own ${uniqueName("o")}`, is_public: false }),
		createCharacter(attacker, { name: `Chat ${uniqueName("c")}`, is_public: true }),
		createCharacter(victim, { name: victimPrivateCharacterName, is_public: false, description: "Private notes" }),
		createCharacter(victim, {
			name: `Victim Bard ${uniqueName("b")}`,
			is_public: true,
			description: "Public, but theirs",
		}),
	]);
	ctx = {
		secret: TEST_JWT_SECRET,
		attacker,
		victim,
		ownCharacterId,
		ownSessionId: "",
		victimPrivateCharacterId,
		victimPrivateCharacterName,
		victimPublicCharacterId,
		victimSessionId: "",
		victimMessageId: "",
		chatCharacterId,
		ids: {},
	};

	// The victim chats (a session with messages and a reply); the attacker has a session of their own.
	const { socket: theirs, hello: theirHello } = await openChat(victim.token, "", wsPort, victimPublicCharacterId);
	theirs.send({ content: "my private thoughts" });
	const echo = await theirs.next((f) => f.type === "echo");
	await theirs.next((f) => f.type === "ai" && f.reply_to === echo.id);
	await theirs.close();
	const { socket: mine, hello: myHello } = await openChat(attacker.token);
	await mine.close();
	ctx.victimSessionId = theirHello.session_id as string;
	ctx.victimMessageId = echo.id as string;
	ctx.ownSessionId = myHello.session_id as string;
	for (const prepare of [
		preparePersonas,
		prepareLorebooks,
		prepareMemory,
		preparePresets,
		prepareApiKeys,
		prepareWsTickets,
	])
		Object.assign(ctx.ids, await prepare(ctx, asUser));
	const { sequelize } = (broker.getLocalService("rooms") as unknown as DbThis).db;
	Object.assign(ctx.ids, await prepareRooms(ctx, asUser, (sql, bind) => sequelize.query(sql, { bind })));

	victimBefore = await victimSnapshot();
}, 60_000);

afterAll(async () => {
	const total = [...counts.values()].reduce((a, b) => a + b, 0);
	const lines = CATEGORIES.map((c) => `  ${c.padEnd(16)} ${String(counts.get(c) ?? 0).padStart(5)}`);
	const slowest = [...timings]
		.sort((a, b) => b.ms - a.ms)
		.slice(0, 3)
		.map((t) => `  ${t.ms} ms  ${t.name}`);
	const answers = [...outcomes]
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([kind, n]) => `  ${String(n).padStart(5)}  ${kind}`);
	console.log(
		`hostile inputs: ${total} cases run\n${lines.join("\n")}\nanswered with:\n${answers.join("\n")}\nslowest REST cases:\n${slowest.join("\n")}`,
	);
	if (ctx) {
		for (const id of created) await rest({ method: "DELETE", path: `/characters/id/${id}` }).catch(() => undefined);
	}
	await broker?.stop();
	process.off("unhandledRejection", onRejection);
	process.off("uncaughtException", onException);
});

// ---- The tables ----

const REST_CATEGORIES = CATEGORIES.filter((c) => !c.startsWith("ws_") && c !== "malformed_http");

describe("hostile REST requests", () => {
	for (const category of REST_CATEGORIES) {
		it(`should refuse every ${category} case with a JSON 4xx (or store it as plain text)`, async () => {
			const cases = buildRestCases(ctx).filter((c) => c.category === category);
			const failures: string[] = [];
			await pool(cases, REST_POOL, async (c) => {
				const failure = await runRestCase(c);
				count(category);
				if (failure) failures.push(`${c.name}: ${failure}`);
			});
			expect(failures).toEqual([]);
			await expectHealthy();
		}, 60_000);
	}
});

describe("malformed HTTP", () => {
	it("should answer what the HTTP parser refuses with its status and a JSON body, on both ports", async () => {
		const failures: string[] = [];
		for (const c of buildRawHttpCases()) {
			for (const [target, port] of [
				["gateway", apiPort],
				["chat-ws", wsPort],
			] as const) {
				count(c.category);
				try {
					const reply = await sendRaw(port, c.bytes);
					let body: Json;
					try {
						body = JSON.parse(reply.text);
					} catch {
						body = undefined;
					}
					outcome(`raw HTTP ${reply.status}`);
					const failure = checkRefusal(c.status, undefined, reply, body);
					if (failure) failures.push(`${target} ${c.name}: ${failure}`);
				} catch (err) {
					failures.push(`${target} ${c.name}: ${(err as Error).message}`);
				}
			}
		}
		expect(failures).toEqual([]);
		await expectHealthy();
		await expectHealthy(wsPort);
	});
});

describe("hostile WebSocket handshakes", () => {
	it("should refuse every bad handshake with its status and a JSON body, on the chat-ws port and the gateway's", async () => {
		const targets: [HandshakeTarget, number][] = [
			["chat-ws", wsPort],
			["gateway", apiPort],
		];
		const runs = buildHandshakeCases(ctx).flatMap((c) => targets.map(([target, port]) => ({ c, target, port })));
		const failures: string[] = [];
		await pool(runs, REST_POOL, async ({ c, target, port }) => {
			count(c.category);
			let reply: { status: number; text: string };
			try {
				reply = await upgrade(port, c.path, c.headers);
			} catch (err) {
				failures.push(`${target} ${c.name}: no answer: ${(err as Error).message}`);
				return;
			}
			const leak = leakIn(reply.text);
			let body: Json;
			try {
				body = JSON.parse(reply.text);
			} catch {
				body = undefined;
			}
			outcome(`handshake ${reply.status}`);
			const failure = leak
				? `leaks ${leak}: ${reply.text.slice(0, 300)}`
				: checkRefusal(c.status, undefined, reply, body);
			if (failure) failures.push(`${target} ${c.name}: ${failure}`);
		});
		expect(failures).toEqual([]);
		await expectHealthy(wsPort);
		await expectHealthy();
	}, 60_000);

	it("should replay only the attacker's own messages when `after` names another session's message", async () => {
		count("other_users");
		const { socket } = await openChat(
			ctx.attacker.token,
			`&session_id=${ctx.ownSessionId}&after=${ctx.victimMessageId}`,
		);
		await new Promise((r) => setTimeout(r, 200));
		const ids = socket.frames.filter((f) => f.id).map((f) => f.id);
		expect(ids).not.toContain(ctx.victimMessageId);
		expect(socket.frames.some((f) => f.content === "my private thoughts")).toBe(false);
		await socket.close();
	});

	it("should refuse handshake floods with 429, per account, per open socket and per address, and keep serving", async () => {
		const limited = createBroker(
			testConfig({
				NAMESPACE: uniqueName("hostile_hs"),
				SERVICES: "auth,characters,chat-ws",
				...HANDSHAKE_FLOOD_LIMITS,
			}),
			{ logger: false },
		);
		await limited.start();
		const kept: Duplex[] = [];
		try {
			const port = limited.getLocalService("chat-ws").settings.port as number;
			const failures: string[] = [];
			let address = 0;
			for (const c of buildHandshakeFloodCases()) {
				count(c.category);
				const headers = { "X-Forwarded-For": `10.9.0.${++address}` };
				// Accounts signed up, their tokens signed here: a login each would cost a password hash.
				const newToken = async () => {
					const user = await broker.call<{ id: string; username: string }, object>("auth.register", {
						username: uniqueName("hsflood"),
						name: "Flood",
						password: "password123",
					});
					return signAccessToken({ userId: user.id, username: user.username }, TEST_JWT_SECRET, 600);
				};
				const one = c.accounts === "one" ? await newToken() : undefined;
				const tokens: string[] = [];
				for (let i = 0; i < c.handshakes; i++) tokens.push(one ?? (await newToken()));
				const shake = (token: string) =>
					upgrade(
						port,
						`/ws/${ctx.chatCharacterId}?token=${encodeURIComponent(token)}`,
						headers,
						c.keepOpen ? kept : undefined,
					);
				const replies: Awaited<ReturnType<typeof shake>>[] = [];
				if (c.atOnce) replies.push(...(await Promise.all(tokens.map(shake))));
				else {
					for (const token of tokens) {
						replies.push(await shake(token));
						// The server frees the socket's slot when it sees the close.
						await new Promise((r) => setTimeout(r, 50));
					}
				}
				const opened = replies.filter((r) => r.status === 101).length;
				if (opened !== c.opened) failures.push(`${c.name}: ${opened} opened, expected ${c.opened}`);
				for (const r of replies.filter((x) => x.status !== 101)) {
					outcome(`handshake ${r.status}`);
					const failure =
						checkRefusal([429], c.codes, r, JSON.parse(r.text || "null")) ??
						(Number(r.headers?.["retry-after"]) > 0 ? undefined : "no Retry-After");
					if (failure) failures.push(`${c.name}: ${failure}`);
				}
				for (const socket of kept.splice(0)) socket.destroy();
			}
			expect(failures).toEqual([]);
			// Other accounts and addresses are not held back.
			const { socket } = await openChat((await account("hsafter")).token, "", port);
			await socket.close();
			await expectHealthy(port);
		} finally {
			for (const socket of kept) socket.destroy();
			await limited.stop();
		}
	}, 60_000);
});

describe("hostile WebSocket frames", () => {
	it("should answer every bad frame with an error frame or a clean close, and echo plain text exactly", async () => {
		const { socket } = await openChat(ctx.attacker.token);
		const greeting = await socket.next((f) => f.type === "ai" && f.reply_to === null);
		const cases = buildFrameCases(ctx, greeting.id as string);
		const failures: string[] = [];

		// On one socket, one after another: each frame gets exactly one answer, in order.
		for (const c of cases.filter((x) => !("close" in x.expect))) {
			count(c.category);
			const from = socket.frames.length;
			try {
				sendFrame(socket, c);
				if ("ignored" in c.expect) socket.send({});
				const answer = await answerAfter(socket, from);
				const e = c.expect;
				outcome(
					"ignored" in e
						? "WS frame ignored (stop)"
						: answer.type === "echo"
							? "WS echoed as plain text, exactly"
							: `WS error frame ${answer.code}`,
				);
				if ("error" in e && !(answer.type === "error" && answer.code === e.error))
					failures.push(`${c.name}: expected error ${e.error}, got ${JSON.stringify(answer).slice(0, 200)}`);
				if ("ignored" in e && !(answer.type === "error" && answer.code === "invalid_message"))
					failures.push(`${c.name}: answered ${JSON.stringify(answer).slice(0, 200)}`);
				if ("echo" in e && !(answer.type === "echo" && answer.content === e.echo))
					failures.push(
						`${c.name}: expected the echo ${JSON.stringify(e.echo)}, got ${JSON.stringify(answer).slice(0, 200)}`,
					);
			} catch (err) {
				failures.push(`${c.name}: ${(err as Error).message.slice(0, 300)}`);
			}
		}
		expect(socket.closeCode).toBeUndefined();
		const leak = frameLeak(socket.frames);
		if (leak) failures.push(leak);
		await socket.close();

		// Frames that end the socket: each on a socket of its own.
		await pool(
			cases.filter((x) => "close" in x.expect),
			4,
			async (c) => {
				count(c.category);
				const { socket: own } = await openChat(ctx.attacker.token);
				sendFrame(own, c);
				const code = await Promise.race([
					own.closed,
					new Promise<string>((r) => setTimeout(() => r("still open after 5 s"), 5000)),
				]);
				const allowed = "close" in c.expect ? c.expect.close : [];
				outcome(`WS closed ${code}`);
				if (!allowed.includes(code as number))
					failures.push(`${c.name}: closed with ${code}, expected ${allowed.join("|")}`);
				const ownLeak = frameLeak(own.frames);
				if (ownLeak) failures.push(`${c.name}: ${ownLeak}`);
				own.ws.terminate();
			},
		);
		expect(failures).toEqual([]);
		await expectHealthy(wsPort);
	}, 60_000);

	it("should answer floods with rate_limited frames and 429s, and keep serving", async () => {
		const limited = createBroker(
			testConfig({
				NAMESPACE: uniqueName("hostile_rl"),
				SERVICES: "api,auth,characters,chat-ws",
				CHAT_MESSAGES_PER_MINUTE: "3",
				CHAT_USER_MESSAGES_PER_MINUTE: "100000",
				AUTH_RATE_LIMIT: "3",
			}),
			{ logger: false },
		);
		await limited.start();
		try {
			const port = limited.getLocalService("chat-ws").settings.port as number;
			const gateway = gatewayPort(limited);
			const floods: [string, (i: number) => { frame: string | Buffer; binary?: boolean }, string][] = [
				["valid messages", (i) => ({ frame: JSON.stringify({ content: `flood ${i}` }) }), "echo"],
				["garbage", () => ({ frame: "garbage" }), "invalid_json"],
				["binary frames", () => ({ frame: Buffer.from([1, 2, 3]), binary: true }), "binary_not_supported"],
				[
					"regenerate with unknown ids",
					() => ({ frame: JSON.stringify({ type: "regenerate", reply_to: "00000000-0000-4000-8000-000000000000" }) }),
					"cannot_regenerate",
				],
				["200 frames at once", (i) => ({ frame: JSON.stringify({ content: `burst ${i}` }) }), "echo"],
			];
			// 3 frames a minute, then `rate_limited` answers up to CHAT_MAX_LIMIT_BREACHES (10); the next breach closes the
			// socket with 1008, and so does a 33rd frame waiting to be handled (CHAT_MAX_QUEUED_FRAMES).
			const flood = async (
				label: string,
				make: (i: number) => { frame: string | Buffer; binary?: boolean },
				first: string,
				n: number,
			) => {
				count("ws_flood");
				const { socket } = await openChat(ctx.attacker.token, "", port);
				const sent = Array.from({ length: n }, (_, i) => make(i));
				for (const frame of sent) sendFrame(socket, frame);
				// Sockets of one account share its fresh session: echoes of the others' messages are not answers to these.
				const own = new Set(sent.map((f) => f.frame.toString()));
				const answers = () =>
					socket.frames.filter(
						(f) => f.type === "error" || (f.type === "echo" && own.has(JSON.stringify({ content: f.content }))),
					);
				const expected = [...Array<string>(3).fill(first), ...Array<string>(Math.min(n, 13) - 3).fill("rate_limited")];
				if (n > 13) expect(await socket.closed, label).toBe(1008);
				else await socket.next(() => answers().length >= n, 10_000);
				const kinds = answers().map((f) => (f.type === "echo" ? "echo" : (f.code as string)));
				// Frames that arrive faster than they are handled may be dropped with the close before any is answered.
				expect(kinds, label).toEqual(n > 32 ? expected.slice(0, kinds.length) : expected);
				expect(
					answers()
						.filter((f) => f.code === "rate_limited")
						.every((f) => (f.retry_after as number) > 0),
					label,
				).toBe(true);
				expect(frameLeak(socket.frames)).toBeUndefined();
				if (n <= 13) expect(socket.closeCode, label).toBeUndefined();
				await socket.close();
			};
			for (const [label, make, first] of floods) await flood(label, make, first, label.startsWith("200") ? 200 : 20);
			// Several sockets at once: each has its own budget, none takes the node down.
			await Promise.all(
				Array.from({ length: 5 }, (_, i) =>
					flood(`parallel socket ${i}`, (j) => ({ frame: JSON.stringify({ content: `p${i}.${j}` }) }), "echo", 10),
				),
			);

			// A client that sends without ever reading: it is closed after the allowed breaches and dropped soon after,
			// whatever it keeps sending; what waits to be sent to it stays small, and a bystander chats on.
			count("ws_flood");
			const hub = (
				limited.getLocalService("chat-ws") as unknown as {
					hub: { size: number; clients(): Iterable<{ socket: { bufferedAmount: number } }> };
				}
			).hub;
			const bystander = (await openChat((await account("bystander")).token, "", port)).socket;
			const { socket: deaf } = await openChat(ctx.attacker.token, "", port);
			(deaf.ws as unknown as { _socket: { pause(): void } })._socket.pause();
			let maxBuffered = 0;
			const sample = setInterval(() => {
				for (const c of hub.clients()) maxBuffered = Math.max(maxBuffered, c.socket.bufferedAmount);
			}, 5);
			for (let i = 0; i < 20_000; i++) deaf.ws.send("garbage");
			const deadline = Date.now() + 5000;
			while (hub.size > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
			clearInterval(sample);
			console.log(
				`A socket that never reads, 20,000 frames: the largest server-side bufferedAmount was ${maxBuffered} bytes`,
			);
			expect(hub.size).toBe(1);
			expect(maxBuffered).toBeLessThan(64 * 1024);
			bystander.send({ content: "still here" });
			await bystander.next((f) => f.type === "echo");
			await bystander.close();
			deaf.ws.terminate();

			// The login/register limit: 3 attempts per minute per client, then 429 with Retry-After, as JSON.
			count("ws_flood");
			const statuses: number[] = [];
			for (let i = 0; i < 8; i++) {
				const res = await send(gateway, {
					method: "POST",
					path: i < 5 ? "/login" : "/register",
					headers: { "Content-Type": "application/json" },
					body: "{}",
				});
				statuses.push(res.status);
				if (res.status === 429) {
					expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
					expect(JSON.parse(res.text)).toMatchObject({ code: "RATE_LIMITED", detail: expect.any(String) });
				}
			}
			expect(statuses).toEqual([422, 422, 422, 429, 429, 429, 429, 429]);
			await expectHealthy(port);
			await expectHealthy(gateway);
		} finally {
			await limited.stop();
		}
	}, 60_000);
});

describe("after the storm", () => {
	it("should have left the other user's data exactly as it was", async () => {
		expect(await victimSnapshot()).toEqual(victimBefore);
	});

	it("should still serve /health, a full register/login/chat round trip, and have seen no process-level error", async () => {
		await expectHealthy();
		await expectHealthy(wsPort);

		const username = uniqueName("after");
		const reg = await send(apiPort, {
			method: "POST",
			path: "/register",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ username, name: "Survivor", password: "password123" }),
		});
		expect(reg.status, reg.text).toBe(201);
		const login = await send(apiPort, {
			method: "POST",
			path: "/login",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: `username=${username}&password=password123`,
		});
		expect(login.status, login.text).toBe(200);
		const token = JSON.parse(login.text).access_token as string;
		const me = await asUser(token, "GET", "/me");
		expect(me).toMatchObject({ status: 200, body: { username } });

		const { socket } = await openChat(token);
		socket.send({ content: "Hello after the storm" });
		const echo = await socket.next((f) => f.type === "echo");
		expect(echo.content).toBe("Hello after the storm");
		await socket.next((f) => f.type === "ai" && f.reply_to === echo.id);
		await socket.close();

		// Nothing reached Object.prototype through __proto__ or constructor.prototype payloads.
		const probe = {} as Record<string, unknown>;
		expect([probe.polluted, probe.role]).toEqual([undefined, undefined]);
		expect(processErrors.map((e) => `${e.kind}: ${String((e.error as Error)?.stack ?? e.error)}`)).toEqual([]);
	}, 30_000);
});
