/**
 * GET /search over real HTTP and PostgreSQL: only the caller's chats and the rooms they are in are searched (never
 * another user's, nor a room they were removed from), words in German, Russian and Japanese are found, hits come best
 * first with their matches highlighted as ranges of plain text, pages follow one another without gaps or repeats
 * even as new messages arrive, and bad parameters get a 422. Messages are written with SQL: what is searched is the
 * table, however the rows got there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { SearchHit, SearchPage } from "../../src/domain/search.js";
import { createTestCharacter, signUp, testConfig, uniqueName, type SignedUp } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";

let broker: ServiceBroker;
let sequelize: Sequelize;
const client = restClient(() => gatewayOrigin(broker));
let alice: SignedUp;
let bob: SignedUp;
let carol: SignedUp;
let bard = "";
let sage = "";
/** A word no other test file writes, so other files' messages in the same database never match. */
const WORD = `wetter${uniqueName("w").replace(/[^a-z0-9]/g, "")}`;
const ids: Record<string, string> = {};

async function sql<T>(query: string, bind: unknown[]): Promise<T[]> {
	const [rows] = await sequelize.query(query, { bind });
	return rows as T[];
}

async function chat(owner: SignedUp, characterId: string): Promise<string> {
	const [row] = await sql<{ id: string }>(
		`INSERT INTO chat_sessions (username, character_id) VALUES ($1, $2) RETURNING id`,
		[owner.username, characterId],
	);
	return row.id;
}

async function say(
	sessionId: string,
	who: SignedUp,
	role: "user" | "ai",
	content: string,
	extra: { characterId?: string; active?: boolean } = {},
): Promise<string> {
	const [row] = await sql<{ id: string }>(
		`INSERT INTO messages (session_id, username, character_id, role, content, active)
		 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		[sessionId, who.username, extra.characterId ?? bard, role, content, extra.active ?? true],
	);
	return row.id;
}

async function search(who: SignedUp, query: Record<string, string | number>) {
	const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
	return client.call("GET", `/search?${params}`, { token: who.token });
}

async function hits(who: SignedUp, query: Record<string, string | number>): Promise<SearchHit[]> {
	const res = await search(who, { limit: 50, ...query });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return (res.body as SearchPage).hits;
}

const marked = (h: SearchHit) => h.highlights.map(([a, b]) => h.snippet.slice(a, b));

beforeAll(async () => {
	broker = createBroker(
		testConfig({ NAMESPACE: uniqueName("search"), SERVICES: "api,auth,characters,sessions,personas,rooms,search" }),
		{
			logger: false,
		},
	);
	await broker.start();
	sequelize = (broker.getLocalService("search") as unknown as DbThis).db.sequelize;
	[alice, bob, carol, bard, sage] = await Promise.all([
		signUp(broker, "alice"),
		signUp(broker, "bob"),
		signUp(broker, "carol"),
		createTestCharacter(broker),
		createTestCharacter(broker),
	]);

	ids.aliceChat = await chat(alice, bard);
	ids.german = await say(ids.aliceChat, alice, "user", `Das ${WORD} in München ist schön`);
	ids.often = await say(ids.aliceChat, alice, "ai", `${WORD}, ${WORD}, ${WORD}: morgen wieder ${WORD} in München`);
	ids.russian = await say(ids.aliceChat, alice, "user", `Я люблю Москву зимой, ${WORD}`);
	ids.japanese = await say(ids.aliceChat, alice, "user", "東京タワーに行きました");
	ids.hiddenSwipe = await say(ids.aliceChat, alice, "ai", `${WORD} in a swipe not shown`, { active: false });
	ids.aliceSage = await chat(alice, sage);
	ids.withSage = await say(ids.aliceSage, alice, "user", `${WORD} bei Sage`, { characterId: sage });

	ids.bobChat = await chat(bob, bard);
	ids.bobs = await say(ids.bobChat, bob, "user", `${WORD} in München, Bobs Geheimnis, Москву, 東京`);

	// Carol's room with Alice in it, and one Alice was removed from; Bob is in neither.
	const room = async (title: string) => {
		const made = await client.call("POST", "/sessions", {
			token: carol.token,
			json: { character_ids: [bard, sage], title },
		});
		expect(made.status).toBe(201);
		const added = await client.call("POST", `/sessions/${made.body.id}/members`, {
			token: carol.token,
			json: { username: alice.username },
		});
		expect(added.status).toBe(201);
		return made.body.id as string;
	};
	ids.room = await room("Shared");
	ids.roomLine = await say(ids.room, carol, "user", `${WORD} im Raum`);
	ids.removedRoom = await room("Left behind");
	ids.removedLine = await say(ids.removedRoom, carol, "user", `${WORD} after Alice was removed`);
	const removed = await client.call("DELETE", `/sessions/${ids.removedRoom}/members/${alice.username}`, {
		token: carol.token,
	});
	expect(removed.status).toBe(204);
}, 60_000);

afterAll(() => broker?.stop());

describe("GET /search", () => {
	it("should find only messages of the caller's own chats and of the rooms they are in", async () => {
		const mine = await hits(alice, { q: WORD });
		expect(new Set(mine.map((h) => h.message_id))).toEqual(
			new Set([ids.german, ids.often, ids.russian, ids.withSage, ids.roomLine]),
		);
		expect(mine.find((h) => h.message_id === ids.roomLine)).toMatchObject({
			session_id: ids.room,
			reply_mode: "addressed",
			session_title: "Shared",
			role: "user",
		});
		const bobs = await hits(bob, { q: WORD });
		expect(bobs.map((h) => h.message_id)).toEqual([ids.bobs]);
		// Carol owns both rooms, but not Alice's chats.
		expect((await hits(carol, { q: WORD })).map((h) => h.message_id).sort()).toEqual(
			[ids.roomLine, ids.removedLine].sort(),
		);
		expect(await hits(alice, { q: "Geheimnis" })).toEqual([]);
	});

	it("should rank the message that says it most first, and highlight each match as a range of plain text", async () => {
		const [best, ...rest] = await hits(alice, { q: WORD });
		expect(best).toMatchObject({
			message_id: ids.often,
			session_id: ids.aliceChat,
			role: "ai",
			character_id: bard,
		});
		expect(typeof best.timestamp).toBe("string");
		expect(marked(best).length).toBeGreaterThanOrEqual(2);
		for (const text of marked(best)) expect(text).toBe(WORD);
		expect(rest.length).toBe(4);
	});

	it("should find words of other languages in any case, and Japanese inside a sentence", async () => {
		const [umlaut] = await hits(alice, { q: "MÜNCHEN schön" });
		expect(umlaut.message_id).toBe(ids.german);
		expect(marked(umlaut)).toEqual(["München", "schön"]);
		const russian = await hits(alice, { q: "москву" });
		expect(russian.map((h) => h.message_id)).toEqual([ids.russian]);
		expect(marked(russian[0])).toEqual(["Москву"]);
		const japanese = await hits(alice, { q: "東京" });
		expect(japanese.map((h) => h.message_id)).toEqual([ids.japanese]);
		expect(marked(japanese[0])).toEqual(["東京"]);
		// Part of a word, three letters or more.
		expect((await hits(alice, { q: "ünche" })).map((h) => h.message_id).sort()).toEqual([ids.german, ids.often].sort());
	});

	it("should list only chats with one character when asked, rooms with it in the cast included", async () => {
		const withSage = await hits(alice, { q: WORD, character_id: sage });
		expect(withSage.map((h) => h.message_id).sort()).toEqual([ids.withSage, ids.roomLine].sort());
	});

	it("should page through every hit once, in order, even when a better one arrives between pages", async () => {
		const all = (await hits(alice, { q: WORD })).map((h) => h.message_id);
		const paged: string[] = [];
		let before: string | null = null;
		for (let page = 0; page < 10; page++) {
			const res = await search(alice, { q: WORD, limit: 2, ...(before ? { before } : {}) });
			expect(res.status).toBe(200);
			paged.push(...(res.body as SearchPage).hits.map((h) => h.message_id));
			before = (res.body as SearchPage).next_before;
			if (page === 0) await say(ids.aliceChat, alice, "user", `${WORD} ${WORD} ${WORD} ${WORD} ${WORD} ${WORD}`);
			if (!before) break;
		}
		expect(paged).toEqual(all);
	});

	it.each([
		["an empty query", { q: "  " }, "q"],
		["a query over 200 characters", { q: "x".repeat(201) }, "q"],
		["a limit of 0", { q: WORD, limit: 0 }, "limit"],
		["a limit of 51", { q: WORD, limit: 51 }, "limit"],
		["a character that is not a UUID", { q: WORD, character_id: "1 OR 1=1" }, "character_id"],
		["a cursor it never gave", { q: WORD, before: "MC41OjE7IERST1A" }, "before"],
	])("should refuse %s with 422", async (_, query, field) => {
		const res = await search(alice, query);
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ code: "VALIDATION_ERROR" });
		expect(JSON.stringify(res.body.errors)).toContain(field);
	});

	it("should answer tsquery and LIKE syntax with matches of it as text, not errors", async () => {
		for (const q of ["!&|():*", "'", "\\", "%", "_", "a:* & !b", '"unclosed']) {
			const res = await search(alice, { q });
			expect(res.status, q).toBe(200);
			expect(res.body.hits, q).toEqual([]);
		}
	});

	it("should find words through a GIN index, and keep no trigram index for the insert path to pay for", async () => {
		const rows = await sql<{ indexname: string; valid: boolean }>(
			`SELECT c.relname AS indexname, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			 WHERE i.indrelid = 'messages'::regclass AND c.relname LIKE 'ix_messages_content%' ORDER BY 1`,
			[],
		);
		expect(rows).toEqual([{ indexname: "ix_messages_content_fts", valid: true }]);
	});
});
