/**
 * The account (issue 16), in embedded mode (one broker, the real gateway, sockets and PostgreSQL): PATCH /me (name,
 * password with the current one, rate-limited like login), POST /logout, DELETE /me (nothing of the user left in any
 * table, the old token refused, their sockets and their rooms' members' closed) and GET /me/export (a zip with
 * everything, streamed: the peak RSS while exporting 10,000 messages is measured).
 */
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { QueryTypes, type Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { testConfig, uniqueName } from "../support/config.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { ChatSocket } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { noisePortrait } from "../support/card-images.js";
import { unzip } from "../support/unzip.js";

let broker: ServiceBroker;
let sequelize: Sequelize;
let wsBase = "";
/** A public character of someone else's, to chat with. */
let characterId = "";
const { call } = restClient(() => gatewayOrigin(broker));
const PASSWORD = "a long enough password";
/** Failed password checks allowed per username and client (AUTH_LOGIN_FAILURES_PER_USER). */
const FAILURES_ALLOWED = 4;

interface Account {
	id: string;
	username: string;
	token: string;
}

async function signUp(name = "Test User"): Promise<Account> {
	const username = uniqueName("acct");
	const reg = await call("POST", "/register", { json: { username, name, password: PASSWORD } });
	expect(reg.status, JSON.stringify(reg.body)).toBe(201);
	return { id: reg.body.id, username, token: await logIn(username) };
}

async function logIn(username: string, password = PASSWORD): Promise<string> {
	const res = await call("POST", "/login", { json: { username, password } });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body.access_token as string;
}

const as = (token: string, method: string, path: string, json?: unknown): Promise<Reply> =>
	call(method, path, { token, json });

async function ok(token: string, method: string, path: string, json?: unknown): Promise<Reply["body"]> {
	const res = await as(token, method, path, json);
	expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
	return res.body;
}

function sql<T extends object>(query: string, bind: unknown[] = []): Promise<T[]> {
	return sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });
}

/** A chat socket with `character` (or joining room `sessionId`), once connected, and its session's id. */
async function connect(token: string, sessionId?: string, character = characterId) {
	const path = sessionId ? `/ws/session/${sessionId}` : `/ws/${character}`;
	const socket = await ChatSocket.open(`${wsBase}${path}?token=${encodeURIComponent(token)}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string };
}

async function openChat(token: string, sessionId?: string): Promise<ChatSocket> {
	return (await connect(token, sessionId)).socket;
}

/** A chat in which the user said something (and the character answered), and its id. */
async function story(token: string): Promise<string> {
	const { socket, sessionId } = await connect(token);
	socket.send({ content: "Hello there" });
	await socket.next((f) => f.type === "ai" && f.reply_to !== null);
	await socket.close();
	return sessionId;
}

function withTimeout<T>(promise: Promise<T>, ms = 5000): Promise<T> {
	return Promise.race([
		promise,
		new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
	]);
}

beforeAll(async () => {
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("account"),
			CHAT_MESSAGES_PER_MINUTE: "1000",
			AUTH_LOGIN_FAILURES_PER_USER: String(FAILURES_ALLOWED),
		}),
		{ logger: false },
	);
	await broker.start();
	sequelize = (broker.getLocalService("auth") as unknown as DbThis).db.sequelize;
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	const owner = await signUp("Owner");
	const made = await ok(owner.token, "POST", "/characters", {
		name: `Innkeeper ${uniqueName("c")}`,
		system_prompt: "You keep an inn.",
		greeting: "Welcome in, {{user}}!",
		is_public: true,
	});
	characterId = made.id;
});

afterAll(() => broker?.stop());

describe("PATCH /me", () => {
	it("should change the display name, by registration's rules", async () => {
		const me = await signUp("Mira");
		const changed = await as(me.token, "PATCH", "/me", { name: "  Mira Vale  " });
		expect(changed.status).toBe(200);
		expect(changed.body).toMatchObject({ id: me.id, username: me.username, name: "Mira Vale" });
		expect(changed.body.access_token).toBeUndefined();
		expect((await ok(me.token, "GET", "/me")).name).toBe("Mira Vale");
		for (const name of ["", "   ", "x".repeat(101), 42, null]) {
			const refused = await as(me.token, "PATCH", "/me", { name });
			expect(refused.status, JSON.stringify(name)).toBe(422);
			expect(refused.body.code).toBe("VALIDATION_ERROR");
		}
		expect((await ok(me.token, "GET", "/me")).name).toBe("Mira Vale");
	});

	it("should change the password with the current one, end every other login and its sockets, keep this device", async () => {
		const me = await signUp();
		const otherDevice = await logIn(me.username);
		const socket = await openChat(otherDevice);

		const short = await as(me.token, "PATCH", "/me", { current_password: PASSWORD, new_password: "short" });
		expect(short.status).toBe(422);
		const alone = await as(me.token, "PATCH", "/me", { new_password: "another long password" });
		expect(alone.status).toBe(422);
		const wrong = await as(me.token, "PATCH", "/me", {
			current_password: "not my password",
			new_password: "another long password",
		});
		expect(wrong.status).toBe(403);
		expect(wrong.body.code).toBe("WRONG_PASSWORD");
		// Nothing changed: both logins still work.
		expect((await as(otherDevice, "GET", "/me")).status).toBe(200);

		const changed = await as(me.token, "PATCH", "/me", {
			current_password: PASSWORD,
			new_password: "another long password",
		});
		expect(changed.status, JSON.stringify(changed.body)).toBe(200);
		expect(changed.body).toMatchObject({ username: me.username, token_type: "bearer" });
		const fresh = changed.body.access_token as string;
		expect((await as(fresh, "GET", "/me")).status).toBe(200);
		for (const old of [me.token, otherDevice]) {
			const refused = await as(old, "GET", "/me");
			expect(refused.status).toBe(401);
			expect(refused.body.code).toBe("TOKEN_REVOKED");
		}
		expect(await withTimeout(socket.closed)).toBe(4001);
		expect((await call("POST", "/login", { json: { username: me.username, password: PASSWORD } })).status).toBe(401);
		await logIn(me.username, "another long password");
	});

	it("should count wrong current passwords as failed logins: 429 past the budget, even with the right one", async () => {
		const me = await signUp();
		for (let i = 0; i < FAILURES_ALLOWED; i += 1) {
			const wrong = await as(me.token, "PATCH", "/me", { current_password: "wrong", new_password: "whatever123" });
			expect(wrong.status).toBe(403);
		}
		const limited = await as(me.token, "PATCH", "/me", { current_password: PASSWORD, new_password: "whatever123" });
		expect(limited.status).toBe(429);
		expect(limited.body.code).toBe("RATE_LIMITED");
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		// The same budget as login's: logging in is refused too, and the password did not change.
		expect((await call("POST", "/login", { json: { username: me.username, password: PASSWORD } })).status).toBe(429);
		expect((await as(me.token, "DELETE", "/me", { password: PASSWORD })).status).toBe(429);
	});
});

describe("POST /logout", () => {
	it("should end this token at once, and its sockets, and nothing else", async () => {
		const me = await signUp();
		const other = await logIn(me.username);
		const mine = await openChat(me.token);
		const theirs = await openChat(other);

		const out = await as(me.token, "POST", "/logout");
		expect(out.status, JSON.stringify(out.body)).toBe(204);
		const refused = await as(me.token, "GET", "/me");
		expect(refused.status).toBe(401);
		expect(refused.body.code).toBe("TOKEN_REVOKED");
		expect((await as(me.token, "POST", "/logout")).status).toBe(401);
		expect(await withTimeout(mine.closed)).toBe(4001);
		// A new socket with it is refused at the handshake.
		await expect(openChat(me.token)).rejects.toMatchObject({ status: 401 });

		expect((await as(other, "GET", "/me")).status).toBe(200);
		theirs.send({ content: "Still here?" });
		await theirs.next((f) => f.type === "ai" && f.reply_to !== null);
		expect(theirs.closeCode).toBeUndefined();
		await theirs.close();
		// Logged out tokens are kept only until they expire: none of the user's is here with a past expiry.
		const [kept] = await sql<{ n: number }>(
			`SELECT count(*)::int AS n FROM revoked_tokens WHERE user_id = $1 AND expires_at > now()`,
			[me.id],
		);
		expect(kept.n).toBe(1);
	});

	it("should have a logged-out token's entry swept once it has expired, and not before", async () => {
		const me = await signUp();
		await ok(me.token, "POST", "/logout");
		const [expired] = await sql<{ jti: string }>(
			`INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, now() - interval '1 second') RETURNING jti`,
			[randomUUID(), me.id],
		);

		await (broker.getLocalService("auth") as unknown as { sweepRevokedTokens(): Promise<void> }).sweepRevokedTokens();
		const left = await sql<{ jti: string }>(`SELECT jti FROM revoked_tokens WHERE user_id = $1`, [me.id]);
		expect(left.map((r) => r.jti)).not.toContain(expired.jti);
		expect(left).toHaveLength(1); // the logout's, still live
	});
});

/** Every column of every table that could hold a user's id or username: where each of `values` still is. */
async function tablesHolding(values: string[]): Promise<string[]> {
	const columns = await sql<{ table_name: string; column_name: string; data_type: string }>(
		`SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
			AND c.data_type IN ('uuid', 'text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')`,
	);
	expect(columns.length).toBeGreaterThan(30);
	const found: string[] = [];
	for (const { table_name, column_name, data_type } of columns) {
		const column = `"${column_name}"`;
		const [test, bind] =
			data_type === "ARRAY"
				? [`${column}::text[] && $1::text[]`, values]
				: data_type.startsWith("json")
					? [`${column}::text LIKE ANY ($1::text[])`, values.map((v) => `%${v}%`)]
					: [`${column}::text = ANY ($1::text[])`, values];
		const [row] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${table_name}" WHERE ${test}`, [bind]);
		if (row.n > 0) found.push(`${table_name}.${column_name}`);
	}
	return found;
}

describe("DELETE /me", () => {
	it("should delete the account and everything of it, hand its public characters on, and close its sockets", async () => {
		const me = await signUp("Leaving Soon");
		const friend = await signUp("Friend");

		// What is mine: a chat, a persona, a lorebook, a private and a public character (with an image), a room I own
		// with my friend in it and an invite, my place in my friend's room with a message and a turn.
		const chatId = await story(me.token);
		await ok(me.token, "POST", "/personas", { name: "Second Self" });
		const book = await ok(me.token, "POST", "/lorebooks", { name: `Book ${uniqueName("b")}` });
		const privateCharacter = await ok(me.token, "POST", "/characters", {
			name: "Secret Friend",
			system_prompt: "You are secret.",
			creator: me.username,
			is_public: false,
		});
		const publicCharacter = await ok(me.token, "POST", "/characters", {
			name: `Town Crier ${uniqueName("c")}`,
			system_prompt: "You cry the news.",
			greeting: "Hear ye!",
			creator: me.username,
			is_public: true,
		});
		const image = await call("PUT", `/characters/id/${publicCharacter.id}/avatar`, {
			token: me.token,
			body: await noisePortrait(64, 64),
			type: "image/png",
		});
		expect(image.status).toBe(200);
		await ok(me.token, "PATCH", `/characters/id/${publicCharacter.id}`, { lorebook_ids: [book.id] });
		const myRoom = await ok(me.token, "POST", "/sessions", { character_ids: [characterId, publicCharacter.id] });
		await ok(me.token, "POST", `/sessions/${myRoom.id}/members`, { username: friend.username });
		await ok(me.token, "POST", `/sessions/${myRoom.id}/invites`, {});
		const theirRoom = await ok(friend.token, "POST", "/sessions", { character_ids: [characterId, publicCharacter.id] });
		await ok(friend.token, "POST", `/sessions/${theirRoom.id}/members`, { username: me.username });
		const [message] = await sql<{ id: string }>(
			`INSERT INTO messages (username, character_id, session_id, content, role, speaker)
			VALUES ($1, $2, $3, 'My line', 'user', 'Leaving Soon') RETURNING id`,
			[me.username, characterId, theirRoom.id],
		);
		await sql(
			`INSERT INTO room_turns (id, session_id, character_id, reply_to, requested_by, status)
			VALUES (gen_random_uuid(), $1, $2, $3, $4, 'failed') RETURNING id`,
			[theirRoom.id, characterId, message.id, me.username],
		);
		await ok(me.token, "POST", "/logout"); // a revoked token's row is mine too
		me.token = await logIn(me.username);
		// My friend chats with my public character, and sits in my room.
		const friendsChat = await ok(friend.token, "GET", `/characters/id/${publicCharacter.id}`);
		expect(friendsChat.id).toBe(publicCharacter.id);
		const { socket: friendSocket, sessionId: friendsChatId } = await connect(
			friend.token,
			undefined,
			publicCharacter.id,
		);
		friendSocket.send({ content: "Any news?" });
		await friendSocket.next((f) => f.type === "ai" && f.reply_to !== null);
		const friendInMyRoom = await openChat(friend.token, myRoom.id);
		const mySocket = await openChat(me.token);

		// The scan sees all of it before (so it could fail after).
		const before = await tablesHolding([me.id, me.username]);
		for (const where of [
			"users.id",
			"chat_sessions.username",
			"messages.username",
			"personas.user_id",
			"lorebooks.owner_id",
			"ai_characters.created_by",
			"ai_characters.creator",
			"session_members.username",
			"session_invites.created_by",
			"room_turns.requested_by",
			"revoked_tokens.user_id",
		])
			expect(before).toContain(where);

		const wrong = await as(me.token, "DELETE", "/me", { password: "not my password" });
		expect(wrong.status).toBe(403);
		expect(wrong.body.code).toBe("WRONG_PASSWORD");
		expect((await as(me.token, "DELETE", "/me", {})).status).toBe(422);
		expect(await tablesHolding([me.id, me.username])).toEqual(before);

		const deleted = await as(me.token, "DELETE", "/me", { password: PASSWORD });
		expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);

		expect(await tablesHolding([me.id, me.username])).toEqual([]);
		expect((await as(me.token, "GET", "/me")).status).toBe(401);
		expect((await call("POST", "/login", { json: { username: me.username, password: PASSWORD } })).status).toBe(401);
		expect(await withTimeout(mySocket.closed)).toBe(4001);
		expect(await withTimeout(friendInMyRoom.closed)).toBe(4003);
		expect((await as(friend.token, "GET", `/sessions/${myRoom.id}`)).status).toBe(404);
		expect((await sql(`SELECT 1 FROM chat_sessions WHERE id = $1`, [chatId])).length).toBe(0);
		expect((await as(friend.token, "GET", `/characters/id/${privateCharacter.id}`)).status).toBe(404);

		// The public character lives on, without an owner, and my friend's chat with it goes on.
		const handedOver = await ok(friend.token, "GET", `/characters/id/${publicCharacter.id}`);
		expect(handedOver).toMatchObject({ created_by: null, creator: "", has_avatar: true, is_public: true });
		friendSocket.send({ content: "Still there?" });
		await friendSocket.next((f) => f.type === "ai" && f.reply_to !== null);
		await friendSocket.close();
		const friendsHistory = await ok(friend.token, "GET", `/sessions/${friendsChatId}/messages`);
		const lines = friendsHistory.messages.map((m: { content: string }) => m.content);
		expect(lines).toEqual(expect.arrayContaining(["Hear ye!", "Any news?", "Still there?"]));
		// My friend's room is still theirs, without me.
		const room = await ok(friend.token, "GET", `/sessions/${theirRoom.id}`);
		expect(room.members.map((m: { username: string }) => m.username)).toEqual([friend.username]);
	});
});

describe("GET /me/export", () => {
	it("should be one zip with the profile, personas, lorebooks, characters as V3 cards and every chat in both formats", async () => {
		const me = await signUp("Exporter");
		const chatId = await story(me.token);
		const book = await ok(me.token, "POST", "/lorebooks", {
			name: "Old Roads",
			entries: [{ keys: ["road"], content: "The old roads are haunted." }],
		});
		await ok(me.token, "POST", "/personas", { name: "Wanderer", lorebook_ids: [book.id] });
		const plain = await ok(me.token, "POST", "/characters", { name: "Plain Jane", system_prompt: "You are plain." });
		const pictured = await ok(me.token, "POST", "/characters", { name: "Painted Pete", system_prompt: "You are art." });
		const put = await call("PUT", `/characters/id/${pictured.id}/avatar`, {
			token: me.token,
			body: await noisePortrait(32, 32),
			type: "image/png",
		});
		expect(put.status).toBe(200);

		const res = await as(me.token, "GET", "/me/export");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toBe("application/zip");
		expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="cameo-acct_[^"]+\.zip"$/);
		const files = unzip(res.bytes);
		const names = [...files.keys()];
		const text = (name: string) => files.get(name)!.toString("utf8");

		expect(JSON.parse(text("profile.json"))).toMatchObject({ id: me.id, username: me.username, name: "Exporter" });
		const personaFiles = names.filter((n) => n.startsWith("personas/") && n.endsWith(".json"));
		const personas = personaFiles.map((n) => JSON.parse(text(n)));
		expect(personas.map((p) => p.name).sort()).toEqual(["Exporter", "Wanderer"]);
		expect(personas.find((p) => p.name === "Wanderer").lorebook_ids).toEqual([book.id]);
		const [bookFile] = names.filter((n) => n.startsWith("lorebooks/"));
		expect(bookFile).toMatch(/^lorebooks\/old-roads-[0-9a-f]{8}\.json$/);
		expect(JSON.stringify(JSON.parse(text(bookFile)))).toContain("The old roads are haunted.");

		const plainCard = names.find((n) => n.startsWith("characters/plain-jane-"))!;
		expect(plainCard.endsWith(".json")).toBe(true);
		expect(JSON.parse(text(plainCard))).toMatchObject({ spec: "chara_card_v3", data: { name: "Plain Jane" } });
		const paintedCard = names.find((n) => n.startsWith("characters/painted-pete-"))!;
		expect(paintedCard.endsWith(".png")).toBe(true);
		const png = files.get(paintedCard)!;
		expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
		expect(png.includes(Buffer.from("ccv3\0", "latin1"))).toBe(true);
		expect(plain.id).not.toBe(pictured.id);

		const chatFiles = names.filter((n) => n.startsWith("chats/"));
		expect(chatFiles.sort()).toEqual([expect.stringMatching(/\.json$/), expect.stringMatching(/\.jsonl$/)]);
		const jsonl = text(chatFiles.find((n) => n.endsWith(".jsonl"))!).split("\n");
		expect(jsonl.length).toBeGreaterThanOrEqual(3);
		expect(jsonl.some((line) => line.includes("Hello there"))).toBe(true);
		expect(text(chatFiles.find((n) => n.endsWith(".json"))!)).toContain("Hello there");
		expect(chatFiles[0]).toContain(chatId.slice(0, 8));

		// Someone else's export holds nothing of mine.
		const other = await signUp("Other");
		const theirs = unzip((await as(other.token, "GET", "/me/export")).bytes);
		expect([...theirs.keys()].filter((n) => n.startsWith("chats/") || n.startsWith("characters/"))).toEqual([]);
		expect((await call("GET", "/me/export")).status).toBe(401);
	});

	it("should stream an account of 10,000 messages with bounded memory", async () => {
		const me = await signUp("Talkative");
		const sessions = 10;
		const perSession = 1000;
		// About 2 kB a message: 20 MB of text, about 45 MB as the two chat formats.
		const ids = await sql<{ id: string }>(
			`INSERT INTO chat_sessions (username, character_id, last_message_at)
			SELECT $1, $2, now() FROM generate_series(1, $3) RETURNING id`,
			[me.username, characterId, sessions],
		);
		for (const { id } of ids) {
			await sql(
				`INSERT INTO messages (username, character_id, session_id, content, role, created_at)
				SELECT $1, $2, $3::uuid, repeat(md5(i::text || $3::text), 64), CASE WHEN i % 2 = 0 THEN 'user' ELSE 'ai' END,
					now() - make_interval(secs => $4 - i)
				FROM generate_series(1, $4) AS i RETURNING 1`,
				[me.username, characterId, id, perSession],
			);
		}
		const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE username = $1`, [
			me.username,
		]);
		expect(n).toBe(sessions * perSession);

		// Peak RSS as the brief asks, and the live memory (heap and buffers right after a full collection), which says
		// what is held rather than what the collector has not yet taken back.
		setFlagsFromString("--expose-gc");
		const gc = runInNewContext("gc") as () => void;
		const live = () => {
			gc();
			const { heapUsed, external } = process.memoryUsage();
			return heapUsed + external;
		};
		const baselineLive = live();
		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		let peakLive = baselineLive;
		const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
		const liveSampler = setInterval(() => (peakLive = Math.max(peakLive, live())), 250);
		let bytes = 0;
		let tail = Buffer.alloc(0);
		try {
			const res = await fetch(`${gatewayOrigin(broker)}/me/export`, {
				headers: { Authorization: `Bearer ${me.token}` },
			});
			expect(res.status).toBe(200);
			for await (const chunk of res.body!) {
				const part = Buffer.from(chunk as Uint8Array);
				bytes += part.length;
				tail = Buffer.concat([tail, part]).subarray(-65536);
			}
		} finally {
			clearInterval(sampler);
			clearInterval(liveSampler);
		}
		const mb = (n: number) => (n / 2 ** 20).toFixed(1);
		console.log(
			`GET /me/export of ${n} messages: ${mb(bytes)} MB zip, peak RSS +${mb(peak - baseline)} MB, ` +
				`peak live memory +${mb(peakLive - baselineLive)} MB`,
		);
		// The central directory lists every chat, twice.
		const listed = tail.toString("latin1").match(/chats\/[^\0]*?\.jsonl?/g) ?? [];
		expect(new Set(listed).size).toBe(sessions * 2);
		expect(bytes).toBeGreaterThan(256 * 1024);
		// Held at once, the chats' text alone would be over 40 MB; one chat at a time is a few.
		expect((peakLive - baselineLive) / 2 ** 20).toBeLessThan(28);
	});
});

describe("the account routes in /openapi.json", () => {
	it("should document each, with its answers", async () => {
		const doc = (await call("GET", "/openapi.json")).body;
		expect(Object.keys(doc.paths["/me"]).sort()).toEqual(["delete", "get", "patch"]);
		expect(Object.keys(doc.paths["/me"].delete.responses)).toContain("204");
		expect(Object.keys(doc.paths["/me"].patch.responses)).toEqual(expect.arrayContaining(["200", "401", "422", "429"]));
		expect(Object.keys(doc.paths["/logout"].post.responses)).toContain("204");
		expect(doc.paths["/me/export"].get.security).toBeDefined();
	});
});
