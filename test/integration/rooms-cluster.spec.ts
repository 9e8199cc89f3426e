/**
 * Rooms in a cluster: three people and three characters in one session, the people's sockets spread over two chat-ws
 * nodes, on the real Redis transporter, RabbitMQ, Redis and PostgreSQL (the offline model answers). Every socket of
 * every member sees every message and every reply exactly once; reply modes pick who speaks; a removed member is cut
 * off at once and refused after; tokens are charged to whoever asked for the reply.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { Redis } from "ioredis";
import type { DbThis } from "../../mixins/db.mixin.js";
import { redisKey } from "../../src/adapters/redis.js";
import { RoomTurns } from "../../src/adapters/room-turns.js";
import { createTestCharacter, signUp, type SignedUp } from "../support/config.js";
import { REDIS_URL, awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { eventually } from "../support/process.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const namespace = clusterNamespace("rm");

let core: ServiceBroker;
let ws1: ServiceBroker;
let ws2: ServiceBroker;
let consumer: ServiceBroker;
let dispatcher: ServiceBroker;
let redis: Redis;
let cast: { id: string; name: string }[] = [];

type Person = SignedUp;

const wsUrl = (b: ServiceBroker) => `ws://127.0.0.1:${b.getLocalService("chat-ws").settings.port as number}`;
const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;
const sql = () => (core.getLocalService("auth") as unknown as DbThis).db.sequelize;

function node(services: string): ServiceBroker {
	return clusterNode(namespace, services, {
		CHAT_REPLY_TIMEOUT: "3",
		CHAT_MESSAGES_PER_MINUTE: "1000",
		CHAT_USER_MESSAGES_PER_MINUTE: "1000",
		// About 0.4 s a reply: long enough to stop one, or remove someone, while it streams.
		OFFLINE_MODEL_DELAY_MS: "15",
	});
}

const person = () => signUp(core, "rm");

/** A room of the three characters owned by `owner`, with `members` added by username. */
async function room(owner: Person, members: Person[], replyMode: string): Promise<string> {
	const created = await core.call<{ id: string }, object>(
		"rooms.create",
		{ character_ids: cast.map((c) => c.id), reply_mode: replyMode },
		{ meta: owner.meta },
	);
	for (const m of members)
		await core.call("rooms.addMember", { id: created.id, username: m.username }, { meta: owner.meta });
	return created.id;
}

async function join(b: ServiceBroker, who: Person, sessionId: string, after = ""): Promise<ChatSocket> {
	const socket = await ChatSocket.open(
		`${wsUrl(b)}/ws/session/${sessionId}?token=${who.token}${after && `&after=${after}`}`,
	);
	await socket.next((f) => f.type === "connection");
	return socket;
}

/** Waits until every socket has `count` replies, then checks none came twice. */
async function repliesOn(sockets: ChatSocket[], count: number, timeoutMs = 20_000): Promise<Frame[][]> {
	await eventually(() => sockets.every((s) => s.frames.filter(isReply).length >= count), timeoutMs, `${count} replies`);
	return sockets.map((s) => {
		const replies = s.frames.filter(isReply);
		expect(new Set(replies.map((r) => r.id)).size).toBe(replies.length);
		return replies;
	});
}

beforeAll(async () => {
	core = node("auth,characters,sessions,rooms");
	ws1 = node("chat-ws");
	ws2 = node("chat-ws");
	consumer = node("ai-consumer");
	dispatcher = node("dispatcher");
	await Promise.all([core, ws1, ws2, consumer, dispatcher].map((b) => b.start()));
	// Room changes are broadcast from the core node, presence asked of every chat-ws node.
	await awaitService([core, ws1, ws2], "chat-ws", 2);
	redis = new Redis(REDIS_URL);
	const ids = [await createTestCharacter(core), await createTestCharacter(core), await createTestCharacter(core)];
	const names = await Promise.all(ids.map((id) => core.call<{ name: string }, object>("characters.resolve", { id })));
	cast = ids.map((id, i) => ({ id, name: names[i].name }));
}, 60_000);

afterAll(async () => {
	await Promise.all([core, ws1, ws2, consumer, dispatcher].map((b) => b?.stop()));
	redis?.disconnect();
	await removeNamespace(namespace);
});

describe("a room across two chat-ws nodes", () => {
	it("should give every socket of every member each message and the addressed character's reply exactly once", async () => {
		const [ann, bob, cid] = [await person(), await person(), await person()];
		const sessionId = await room(ann, [bob, cid], "addressed");
		const sockets = [
			await join(ws1, ann, sessionId),
			await join(ws2, bob, sessionId),
			await join(ws1, cid, sessionId),
			await join(ws2, cid, sessionId),
		];
		sockets[0].send({ content: `What do you say, ${cast[1].name}?` });
		const replies = await repliesOn(sockets, 1);
		for (const got of replies) expect(got.map((r) => r.character_id)).toEqual([cast[1].id]);
		expect(new Set(replies.map((r) => r[0].id)).size).toBe(1);
		const echo = await sockets[0].next((f) => f.type === "echo");
		for (const s of sockets.slice(1)) {
			const seen = s.frames.filter((f) => f.id === echo.id);
			expect(seen).toEqual([
				expect.objectContaining({ type: "message", username: ann.username, persona: expect.any(String) }),
			]);
		}
		// Three greetings opened the room, in cast order, each with its speaker.
		const [greetings] = await sql().query(
			`SELECT character_id FROM messages WHERE session_id = $1 AND role = 'ai' AND reply_to IS NULL ORDER BY seq`,
			{ bind: [sessionId] },
		);
		expect((greetings as { character_id: string }[]).map((g) => g.character_id)).toEqual(cast.map((c) => c.id));
		for (const s of sockets) s.close();
	});

	it("should tell every socket who is here as people join and leave", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "manual");
		const a = await join(ws1, ann, sessionId);
		const online = (f: Frame, who: string) =>
			f.type === "presence" &&
			(f.members as { username: string; online: boolean }[]).some((m) => m.username === who && m.online);
		const b = await join(ws2, bob, sessionId);
		await a.next((f) => online(f, bob.username));
		await b.next((f) => online(f, ann.username));
		b.close();
		await a.next((f) => f.type === "presence" && !online(f, bob.username) && online(f, ann.username));
		// Typing reaches the others, from the other node.
		const b2 = await join(ws2, bob, sessionId);
		b2.send({ type: "typing" });
		await a.next((f) => f.type === "typing" && f.username === bob.username);
		a.close();
		b2.close();
	});

	it("should let every character speak in cast order in all mode, and go round in round_robin", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "all");
		const sockets = [await join(ws1, ann, sessionId), await join(ws2, bob, sessionId)];
		sockets[1].send({ content: "Good evening, all" });
		for (const got of await repliesOn(sockets, 3))
			expect(got.map((r) => r.character_id)).toEqual(cast.map((c) => c.id));

		await core.call("sessions.rename", { id: sessionId, reply_mode: "round_robin" }, { meta: ann.meta });
		sockets[0].send({ content: "Next, please" });
		sockets[0].send({ content: "And the next" });
		for (const got of await repliesOn(sockets, 5)) {
			expect(got.slice(3).map((r) => r.character_id)).toEqual([cast[0].id, cast[1].id]);
		}
		for (const s of sockets) s.close();
	});

	it("should answer nobody in manual mode until a member triggers a character, and charge that member", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "manual");
		const sockets = [await join(ws1, ann, sessionId), await join(ws2, bob, sessionId)];
		sockets[0].send({ content: `${cast[0].name}, are you there?` });
		await sockets[1].next((f) => f.type === "message");
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect(sockets.flatMap((s) => s.frames.filter(isReply))).toEqual([]);

		const tokens = async (who: Person) =>
			Number((await redis.get(`${redisKey(namespace, "limit", "user-tokens")}:${who.username}`)) ?? 0);
		const [annBefore, bobBefore] = [await tokens(ann), await tokens(bob)];
		sockets[1].send({ type: "trigger", character_id: cast[2].id });
		for (const got of await repliesOn(sockets, 1)) expect(got.map((r) => r.character_id)).toEqual([cast[2].id]);
		await eventually(async () => (await tokens(bob)) > bobBefore, 5000, "bob charged");
		expect(await tokens(ann)).toBe(annBefore);

		sockets[1].send({ type: "trigger", character_id: "00000000-0000-4000-8000-000000000000" });
		expect(await sockets[1].next((f) => f.type === "error")).toMatchObject({ code: "not_in_cast" });
		for (const s of sockets) s.close();
	});

	it("should replay what a member missed exactly once when they come back after a drop", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "addressed");
		const a = await join(ws1, ann, sessionId);
		const b = await join(ws2, bob, sessionId);
		a.send({ content: "First" });
		await repliesOn([a, b], 1);
		const lastSeen = b.frames.filter(isReply).at(-1)!.id!;
		b.close();
		a.send({ content: "Second, while Bob is away" });
		await repliesOn([a], 2);
		const back = await join(ws1, bob, sessionId, lastSeen);
		await eventually(() => back.frames.filter(isReply).length === 1, 10_000, "the missed reply");
		const missed = back.frames.filter((f) => f.type === "message" || isReply(f));
		expect(missed.map((f) => f.type)).toEqual(["message", "ai"]);
		expect(missed[0]).toMatchObject({ content: "Second, while Bob is away", username: ann.username });
		a.close();
		back.close();
	});

	it("should cut a removed member off at once on every node and refuse them after; strangers get 404", async () => {
		const [ann, bob, eve] = [await person(), await person(), await person()];
		const sessionId = await room(ann, [bob], "manual");
		const a = await join(ws1, ann, sessionId);
		const b1 = await join(ws1, bob, sessionId);
		const b2 = await join(ws2, bob, sessionId);
		await core.call("rooms.removeMember", { id: sessionId, username: bob.username }, { meta: ann.meta });
		expect(await b1.closed).toBe(4003);
		expect(await b2.closed).toBe(4003);
		a.send({ content: "Bob has gone" });
		await a.next((f) => f.type === "echo");
		await expect(join(ws2, bob, sessionId)).rejects.toMatchObject({ status: 404 });
		await expect(join(ws1, eve, sessionId)).rejects.toMatchObject({ status: 404 });
		await expect(core.call("sessions.messages", { id: sessionId }, { meta: bob.meta })).rejects.toMatchObject({
			code: 404,
		});
		expect(b1.frames.concat(b2.frames).some((f) => f.content === "Bob has gone")).toBe(false);
		a.close();
	});

	it("should regenerate the room's last reply by its character, and leave older lines to their authors", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "manual");
		const sockets = [await join(ws1, ann, sessionId), await join(ws2, bob, sessionId)];
		sockets[0].send({ content: "Tell us a story" });
		const mine = await sockets[0].next((f) => f.type === "echo");
		sockets[1].send({ type: "trigger", character_id: cast[1].id });
		const [[first]] = await repliesOn(sockets, 1);
		// An older reply is not the last one: refused.
		sockets[1].send({ type: "regenerate", reply_to: mine.id, id: "00000000-0000-4000-8000-000000000000" });
		expect(await sockets[1].next((f) => f.type === "error")).toMatchObject({ code: "cannot_regenerate" });
		sockets[1].send({ type: "regenerate", reply_to: first.reply_to });
		for (const got of await repliesOn(sockets, 2)) {
			expect(got[1]).toMatchObject({ character_id: cast[1].id, variant: 1, reply_to: first.reply_to });
			expect(got[1].id).not.toBe(first.id);
		}
		const [active] = await sql().query(
			`SELECT id FROM messages WHERE session_id = $1 AND role = 'ai' AND reply_to IS NOT NULL AND active`,
			{ bind: [sessionId] },
		);
		expect((active as { id: string }[]).map((r) => r.id)).toEqual([sockets[0].frames.filter(isReply)[1].id]);

		sockets[1].send({ type: "continue" });
		expect(await sockets[1].next((f) => f.type === "error" && f.code === "cannot_continue")).toBeTruthy();
		sockets[1].send({ type: "edit", id: mine.id, content: "Not yours to change" });
		expect(await sockets[1].next((f) => f.type === "error" && f.code === "not_allowed")).toBeTruthy();
		sockets[0].send({ type: "edit", id: mine.id, content: "Tell us a long story" });
		await sockets[1].next((f) => f.type === "message.edited" && f.id === mine.id);
		for (const s of sockets) s.close();
	});

	it("should answer a member's message whose replies were never queued (its node died first), from the outbox", async () => {
		const [ann] = [await person()];
		const sessionId = await room(ann, [], "addressed");
		const a = await join(ws1, ann, sessionId);
		// Stored as chat-ws stores it, but nothing queued: what a node dying between the two leaves behind.
		const [[stored]] = (await sql().query(
			`INSERT INTO messages (session_id, username, character_id, role, content, speaker, reply_status)
			 VALUES ($1, $2, $3, 'user', 'Is anyone there?', 'Ann', 'none') RETURNING id`,
			{ bind: [sessionId, ann.username, cast[0].id] },
		)) as unknown as [{ id: string }[]];
		const reply = await a.next((f) => isReply(f) && f.reply_to === stored.id, 20_000);
		expect(reply.character_id).toBe(cast[0].id);
		// The node was only slow: its own queueing comes late, and must not ask for a second reply.
		const published: unknown[] = [];
		const late = new RoomTurns(sql(), async (_channel, payload) => void published.push(payload), console, {
			replyTimeoutSeconds: 3,
			replyMaxAttempts: 3,
		});
		await late.afterMessage({
			id: stored.id,
			session_id: sessionId,
			username: ann.username,
			content: "Is anyone there?",
		});
		const [turns] = await sql().query(`SELECT count(*)::int AS n FROM room_turns WHERE reply_to = $1`, {
			bind: [stored.id],
		});
		expect({ turns: (turns as { n: number }[])[0].n, published: published.length }).toEqual({ turns: 1, published: 0 });
		a.close();
	});

	it("should stop only the reply being written, then go on with the next, and send a member removed mid-reply nothing more", async () => {
		const [ann, bob] = [await person(), await person()];
		const sessionId = await room(ann, [bob], "all");
		const a = await join(ws1, ann, sessionId);
		const b = await join(ws2, bob, sessionId);
		a.send({ content: "Everyone, speak" });
		await b.next((f) => f.type === "ai.delta" && f.character_id === cast[0].id);
		b.send({ type: "stop" });
		const replies = (await repliesOn([a], 3))[0];
		expect(replies.map((r) => [r.character_id, r.stopped ?? false])).toEqual([
			[cast[0].id, true],
			[cast[1].id, false],
			[cast[2].id, false],
		]);
		// A branch of it copies the three replies to the one message.
		const branch = await core.call<{ id: string }, object>(
			"sessions.branch",
			{ id: sessionId, message_id: replies[2].id },
			{ meta: ann.meta },
		);
		const [copies] = await sql().query(
			`SELECT character_id FROM messages WHERE session_id = $1 AND role = 'ai' AND reply_to IS NOT NULL ORDER BY seq`,
			{ bind: [branch.id] },
		);
		expect((copies as { character_id: string }[]).map((c) => c.character_id)).toEqual(cast.map((c) => c.id));
		// Choosing among the last character's variants leaves the other characters' replies shown.
		a.send({ type: "regenerate", reply_to: replies[2].reply_to });
		await repliesOn([a], 4);
		a.send({ type: "select_variant", id: replies[2].id });
		await b.next((f) => f.type === "variant.selected" && f.id === replies[2].id);
		const [shown] = await sql().query(
			`SELECT id FROM messages WHERE session_id = $1 AND role = 'ai' AND reply_to IS NOT NULL AND active ORDER BY seq`,
			{ bind: [sessionId] },
		);
		expect((shown as { id: string }[]).map((r) => r.id)).toEqual(replies.map((r) => r.id));

		const known = new Set(a.frames.filter(isReply).map((r) => r.id));
		a.send({ content: "Once more" });
		const streaming = await b.next((f) => f.type === "ai.delta" && !known.has(f.id));
		await core.call("rooms.removeMember", { id: sessionId, username: bob.username }, { meta: ann.meta });
		expect(await b.closed).toBe(4003);
		const shownToBob = b.frames.length;
		await repliesOn([a], 7);
		expect(b.frames.length).toBe(shownToBob);
		expect(b.frames.some((f) => f.type === "ai" && f.id === streaming.id)).toBe(false);
		a.close();
	});
});
