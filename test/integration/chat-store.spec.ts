/**
 * ChatStore's batched writes on the run's real PostgreSQL: calls made in one turn share a statement, and what they
 * store is what one call at a time would have stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDatabase, releaseDatabase, type Database } from "../../src/adapters/database.js";
import { ChatStore, type NewAiMessage, type SessionClaims } from "../../src/adapters/chat-store.js";
import { SessionStore } from "../../src/adapters/session-store.js";
import { replyId } from "../../src/domain/chat-wire.js";
import { testConfig, uniqueName } from "../support/config.js";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

describe("ChatStore batched writes", () => {
	let db: Database;
	let store: ChatStore;
	let sessions: SessionStore;
	let username: string;
	let characterId: string;

	beforeAll(async () => {
		db = await acquireDatabase(testConfig(), quiet);
		store = new ChatStore(db.sequelize);
		sessions = new SessionStore(db.sequelize);
		username = uniqueName("store");
		await db.models.User.create({ username, name: username, hashed_password: "not-a-real-hash" });
		const character = await db.models.Character.create({
			name: "Batch Tester",
			slug: uniqueName("batch"),
			system_prompt: "You test batches.",
		});
		characterId = character.id;
	});

	afterAll(() => releaseDatabase());

	const newSession = async () => (await store.createSession(username, characterId)).id;
	const reply = (userMessageId: string, sessionId: string, extra: Partial<NewAiMessage> = {}): NewAiMessage => ({
		id: replyId(userMessageId, extra.variant ?? 0),
		reply_to: userMessageId,
		session_id: sessionId,
		username,
		character_id: characterId,
		content: `reply to ${userMessageId}`,
		model: "offline",
		...extra,
	});

	it("should store the messages of one turn in call order, each answered with its own row", async () => {
		const sessions = await Promise.all([newSession(), newSession()]);
		const contents = Array.from({ length: 40 }, (_, i) => `message ${i}`);
		const rows = await Promise.all(
			contents.map((content, i) =>
				store.insertUserMessage({ session_id: sessions[i % 2], username, character_id: characterId, content }),
			),
		);
		expect(rows.map((r) => r.content)).toEqual(contents);
		expect(rows.map((r) => r.session_id)).toEqual(contents.map((_, i) => sessions[i % 2]));
		expect(rows.every((r) => r.reply_status === "pending" && r.publish_attempts === 1)).toBe(true);
		const seqs = rows.map((r) => BigInt(r.seq));
		expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1])).toBe(true);
		const stored = await store.latestMessages(sessions[0], 100);
		expect(stored.map((r) => r.content)).toEqual(contents.filter((_, i) => i % 2 === 0));
	});

	it("should store a reply delivered twice in one turn once, and say which call stored it", async () => {
		const sessionId = await newSession();
		const user = await store.insertUserMessage({
			session_id: sessionId,
			username,
			character_id: characterId,
			content: "hello",
		});
		const [first, second] = await Promise.all([
			store.insertAiMessage(reply(user.id, sessionId)),
			store.insertAiMessage(reply(user.id, sessionId)),
		]);
		expect([first?.inserted, second?.inserted]).toEqual([true, false]);
		expect(second?.row).toEqual(first?.row);
		expect(first?.answeredCreatedAt).toEqual(user.created_at);
		expect(second?.answeredCreatedAt).toBeNull();
		expect((await store.getMessage(user.id))?.reply_status).toBe("replied");
		expect((await store.latestMessages(sessionId, 10)).filter((m) => m.role === "ai")).toHaveLength(1);
	});

	it("should leave only the newest variant active when regenerations land in one turn", async () => {
		const sessionId = await newSession();
		const user = await store.insertUserMessage({
			session_id: sessionId,
			username,
			character_id: characterId,
			content: "again",
		});
		await store.insertAiMessage(reply(user.id, sessionId));
		await Promise.all(
			[1, 2].map((variant) =>
				store.insertAiMessage(reply(user.id, sessionId, { variant, content: `variant ${variant}` })),
			),
		);
		const replies = (await store.latestMessages(sessionId, 10)).filter((m) => m.role === "ai");
		expect(replies.map((r) => [r.variant, r.active])).toEqual([
			[0, false],
			[1, false],
			[2, true],
		]);
	});

	it("should store no reply to a message deleted meanwhile, and the others of its turn as usual", async () => {
		const sessionId = await newSession();
		const [kept, rewound] = await Promise.all(
			["kept", "rewound"].map((content) =>
				store.insertUserMessage({ session_id: sessionId, username, character_id: characterId, content }),
			),
		);
		await db.sequelize.query(`DELETE FROM messages WHERE id = $1`, { bind: [rewound.id] });
		const [answered, dropped, again] = await Promise.all([
			store.insertAiMessage(reply(kept.id, sessionId)),
			store.insertAiMessage(reply(rewound.id, sessionId)),
			store.insertAiMessage(reply(rewound.id, sessionId, { variant: 1 })),
		]);
		expect(answered?.inserted).toBe(true);
		expect([dropped, again]).toEqual([null, null]);
		expect((await store.latestMessages(sessionId, 10)).map((m) => m.content)).toEqual(["kept", `reply to ${kept.id}`]);
	});

	it("should wait for a rewind holding the message it answers, then store nothing (and not fail on the key)", async () => {
		const sessionId = await newSession();
		const user = await store.insertUserMessage({
			session_id: sessionId,
			username,
			character_id: characterId,
			content: "rewound while answered",
		});
		const answered = await db.sequelize.transaction(async (transaction) => {
			// What a rewind does first: lock the rows it deletes.
			await db.sequelize.query(`SELECT id FROM messages WHERE id = $1 FOR UPDATE`, { bind: [user.id], transaction });
			const insert = store.insertAiMessage(reply(user.id, sessionId));
			const state = await Promise.race([
				insert.then(() => "done"),
				new Promise((r) => setTimeout(() => r("waiting"), 300)),
			]);
			expect(state).toBe("waiting");
			await db.sequelize.query(`DELETE FROM messages WHERE id = $1`, { bind: [user.id], transaction });
			return { insert }; // Not awaited here: it waits for this transaction to end.
		});
		expect(await answered.insert).toBeNull();
		expect(await store.latestMessages(sessionId, 10)).toEqual([]);
	});

	it("should fail only the message whose session is gone when they share a turn", async () => {
		const sessionId = await newSession();
		const gone = await newSession();
		await store.deleteSession(gone);
		const results = await Promise.allSettled(
			[sessionId, gone, sessionId].map((session_id) =>
				store.insertUserMessage({ session_id, username, character_id: characterId, content: "still here?" }),
			),
		);
		expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
		expect(await store.latestMessages(sessionId, 10)).toHaveLength(2);
	});

	it("should read the sessions asked for in one turn, null for an unknown one", async () => {
		const ids = await Promise.all([newSession(), newSession()]);
		const unknown = "00000000-0000-4000-8000-000000000000";
		const sessions = await Promise.all([...ids, unknown].map((id) => store.getSession(id)));
		expect(sessions.map((s) => s?.id ?? null)).toEqual([...ids, null]);
	});

	it("should answer the ranges of messages asked for in one turn each with its own, active ones only", async () => {
		const sessions = await Promise.all([newSession(), newSession()]);
		const stored = [];
		for (const [i, session_id] of [sessions[0], sessions[1], sessions[0], sessions[1], sessions[0]].entries()) {
			stored.push(
				await store.insertUserMessage({ session_id, username, character_id: characterId, content: `range ${i}` }),
			);
		}
		const regenerated = await store.insertAiMessage(reply(stored[2].id, sessions[0]));
		const newest = await store.insertAiMessage(
			reply(stored[2].id, sessions[0], { variant: 1, content: "the newest variant" }),
		);
		const last = await store.insertUserMessage({
			session_id: sessions[0],
			username,
			character_id: characterId,
			content: "range end",
		});
		const [first, second, capped] = await Promise.all([
			store.activeMessagesBetween({ session_id: sessions[0], after_seq: null, before_seq: last.seq, limit: 10 }),
			store.activeMessagesBetween({
				session_id: sessions[1],
				after_seq: stored[1].seq,
				before_seq: stored[4].seq,
				limit: 10,
			}),
			store.activeMessagesBetween({ session_id: sessions[0], after_seq: null, before_seq: last.seq, limit: 1 }),
		]);
		expect(first.map((m) => m.content)).toEqual(["range 0", "range 2", "range 4", "the newest variant"]);
		expect(first.at(-1)?.id).toBe(newest?.row.id);
		expect(first.map((m) => m.id)).not.toContain(regenerated?.row.id);
		expect(second.map((m) => m.content)).toEqual(["range 3"]);
		expect(capped.map((m) => m.content)).toEqual(["range 0"]);
	});

	it("should open one fresh session for a burst of handshakes, reuse it while empty, and open another once used", async () => {
		const greeting = "Shut the door behind you, Mira.";
		// No socket holds any of them (each handshake of the burst hung up): one empty session serves them all.
		const unheld: SessionClaims = { taken: async () => new Set(), claim: () => undefined };
		const open = (text: string) => store.openFreshSession(username, characterId, text, unheld);
		const burst = await Promise.all(Array.from({ length: 20 }, () => open(greeting)));
		expect(new Set(burst.map((s) => s.id)).size).toBe(1);
		const sessionId = burst[0].id;
		expect((await store.latestMessages(sessionId, 10)).map((m) => [m.role, m.content, m.model])).toEqual([
			["ai", greeting, "greeting"],
		]);
		// Another greeting asked for: a session of its own.
		expect((await open("Another hello.")).id).not.toBe(sessionId);
		expect((await open(greeting)).id).toBe(sessionId);

		await store.insertUserMessage({ session_id: sessionId, username, character_id: characterId, content: "hi" });
		expect((await open(greeting)).id).not.toBe(sessionId);
		expect((await sessions.list({ username }, { limit: 100, offset: 0 })).map((s) => s.id)).toContain(sessionId);
	});

	it("should give handshakes whose sockets stay open an empty session each, and reuse one once it is let go", async () => {
		const greeting = `Two tabs ${uniqueName("g")}`;
		const held = new Set<string>();
		const claims: SessionClaims = {
			taken: async (ids) => new Set(ids.filter((id) => held.has(id))),
			claim: (id) => void held.add(id),
		};
		const tabs = await Promise.all(
			Array.from({ length: 3 }, () => store.openFreshSession(username, characterId, greeting, claims)),
		);
		expect(new Set(tabs.map((s) => s.id)).size).toBe(3);
		held.delete(tabs[1].id);
		expect((await store.openFreshSession(username, characterId, greeting, claims)).id).toBe(tabs[1].id);
	});

	it("should list only the sessions in which the user said something", async () => {
		const quietOne = await newSession();
		const spoken = await newSession();
		await store.insertUserMessage({ session_id: spoken, username, character_id: characterId, content: "hello" });
		const listed = (await sessions.list({ username }, { limit: 100, offset: 0 })).map((s) => s.id);
		expect(listed).toContain(spoken);
		expect(listed).not.toContain(quietOne);
	});
});
