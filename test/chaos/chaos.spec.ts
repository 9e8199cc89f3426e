/**
 * Chaos, short version (issue 7): real cameo processes on loopback under a steady conversation load, on a Redis and a
 * RabbitMQ of this file's own (the shared ones serve the other test files). One fault after another, each once the
 * previous one has been recovered from:
 * - kill -9 an ai-consumer while it is writing replies: the other one takes over what RabbitMQ redelivers;
 * - kill -9 the dispatcher while replies are streaming: they wait in RabbitMQ until it is back;
 * - kill -9 a chat-ws node while a user on it is mid-reply: its users resume on the other node;
 * - kill -9 RabbitMQ and start it again: what was lost in flight comes back through the outbox;
 * - kill -9 Redis (transporter, routes, history, limits) and start it again, empty, 3 s later.
 * Every killed process is started again. Then every user resumes once more, and the test checks that each message
 * has exactly one reply stored and that each user was shown each message and reply exactly once, counting per id.
 * Three of the users share a room with two characters, its people on both chat-ws nodes: each of them must also be
 * shown every message of the others and every reply of the room exactly once.
 * The counts go to stdout as one JSON line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceBroker } from "moleculer";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, signUp } from "../support/config.js";
import { ClusterProcess, clusterNamespace, clusterNode } from "../support/cluster.js";
import { eventually, killStarted, within } from "../support/process.js";
import { PrivateRabbitMq, PrivateRedis } from "../support/private-servers.js";
import { Conversation } from "../support/conversation.js";

// Everything of the namespace lives in this file's own Redis and RabbitMQ, which go away with it.
const namespace = clusterNamespace("chaos");
const USERS = 8;
/** People in the room, besides the users of one-character chats. */
const ROOM_PEOPLE = 3;
/** The offline model pauses before each of its ~25 words: a reply streams for about a second. */
const WORD_DELAY_MS = 40;
/** Users pause up to this long before each message, so faults find them at every stage of a turn. */
const MAX_THINK_MS = 600;
/** Steady load before the first fault and between faults. */
const STEADY_MS = 1500;
const RECOVERY_TIMEOUT_MS = 45_000;
/** Redis (the transporter too) stays down this long: longer than a message's three attempts would last back to back. */
const REDIS_DOWN_MS = 3000;
/** Time for a late duplicate to show up, if one were coming. */
const SETTLE_MS = 1500;

interface FaultReport {
	fault: string;
	/** Users with a reply streaming when the fault hit. */
	mid_reply: number;
	/** The killed ai-consumer only: messages it was handling just before (its own gauge). */
	victim_handling?: number;
	/** From the kill until the process (or server) took work again. */
	restart_ms: number;
	/** From the kill until every user had an answer to a message sent after it. */
	recovery_ms: number;
}

interface StoredMessage {
	id: string;
	session_id: string;
	username: string;
	content: string;
	reply_status: string;
	replies: string[];
}

let redis: PrivateRedis;
let rabbitMq: PrivateRabbitMq;
let core: ServiceBroker;
let consumers: ClusterProcess[];
let dispatcher: ClusterProcess;
let chatWs: ClusterProcess[];
const conversations: Conversation[] = [];
let room: { id: string; people: Conversation[] };

async function query<T>(sql: string, bind: unknown[]): Promise<T[]> {
	const [rows] = await (core.getLocalService("auth") as unknown as DbThis).db.sequelize.query(sql, { bind });
	return rows as T[];
}

/** The user messages of `sessionIds`, each with the ids of the replies stored for it. */
function storedMessages(sessionIds: string[]): Promise<StoredMessage[]> {
	return query<StoredMessage>(
		`SELECT u.id, u.session_id, u.username, u.content, u.reply_status,
			array_remove(array_agg(a.id::text), NULL) AS replies
		 FROM messages u LEFT JOIN messages a ON a.reply_to = u.id AND a.role = 'ai'
		 WHERE u.session_id = ANY($1::uuid[]) AND u.role = 'user'
		 GROUP BY u.id`,
		[sessionIds],
	);
}

async function isStored(sessionId: string, content: string): Promise<boolean> {
	return (
		(
			await query(`SELECT 1 FROM messages WHERE session_id = $1 AND role = 'user' AND content = $2`, [
				sessionId,
				content,
			])
		).length > 0
	);
}

/** Messages the victim's channel handlers are working on now (moleculer-channels' gauge, on its /metrics). */
async function activeMessages(victim: ClusterProcess, channel: string): Promise<number> {
	const gauge = (await victim.metrics())
		.split("\n")
		.find((line) => line.startsWith("moleculer_channels_messages_active{") && line.includes(`channel="${channel}"`));
	return Number(gauge?.split(" ").at(-1) ?? 0);
}

/** The cameo processes that ended other than by this test's kill -9, with the end of their output. */
function crashed(): string[] {
	return [...consumers, dispatcher, ...chatWs].flatMap(({ services, proc }) => {
		const child = proc?.child;
		if (!child || (child.exitCode === null && child.signalCode === null) || child.signalCode === "SIGKILL") return [];
		return [`${services} exited (${child.exitCode ?? child.signalCode}): ${proc.output().slice(-2000)}`];
	});
}

async function openConversation(index: number, characterId: string, room?: { id: string; token: string }) {
	const conversation = new Conversation({
		name: `user ${index}`,
		token: room?.token ?? (await signUp(core, "chaos", `Chaos ${index}`)).token,
		characterId,
		roomId: room?.id,
		wsPorts: chatWs.map((node) => node.wsPort!),
		isStored,
		timeoutMs: RECOVERY_TIMEOUT_MS,
		maxThinkMs: MAX_THINK_MS,
	});
	await conversation.open(index % chatWs.length);
	return conversation;
}

/** A room of two characters (who answers: the next in turn) and ROOM_PEOPLE people, one conversation each. */
async function openRoom(characterIds: string[]): Promise<{ id: string; people: Conversation[] }> {
	const people = await Promise.all(
		Array.from({ length: ROOM_PEOPLE }, (_, i) => signUp(core, "chaos", `Chaos ${USERS + i}`)),
	);
	const [owner, ...members] = people;
	const { id } = await core.call<{ id: string }, object>(
		"rooms.create",
		{ character_ids: characterIds },
		{ meta: owner.meta },
	);
	for (const m of members) await core.call("rooms.addMember", { id, username: m.username }, { meta: owner.meta });
	const joined: Conversation[] = [];
	for (const [i, p] of people.entries()) joined.push(await openConversation(USERS + i, "", { id, token: p.token }));
	return { id, people: joined };
}

beforeAll(async () => {
	[redis, rabbitMq] = await Promise.all([PrivateRedis.create(), PrivateRabbitMq.create()]);
	await Promise.all([redis.start(), rabbitMq.start(60_000)]);
	const servers = { TRANSPORTER: redis.url, REDIS_URL: redis.url, AMQP_URL: rabbitMq.url };
	const chat = {
		...servers,
		// The outbox re-publishes a message without a reply after 3 s; a reply takes about one.
		CHAT_REPLY_TIMEOUT: "3",
		CHAT_REPLY_MAX_ATTEMPTS: "30",
		CHAT_MESSAGES_PER_MINUTE: "100000",
		CHAT_USER_MESSAGES_PER_MINUTE: "100000",
		CHAT_USER_TOKENS_PER_DAY: "0",
		OFFLINE_MODEL_DELAY_MS: String(WORD_DELAY_MS),
	};
	core = clusterNode(namespace, "auth,characters,sessions,rooms", servers);
	consumers = await Promise.all([0, 1].map(() => ClusterProcess.create(namespace, "ai-consumer", chat)));
	dispatcher = await ClusterProcess.create(namespace, "dispatcher", chat);
	chatWs = await Promise.all([0, 1].map(() => ClusterProcess.create(namespace, "chat-ws", chat)));
	await Promise.all([core.start(), ...[...consumers, dispatcher, ...chatWs].map((node) => node.start(60_000))]);
	const characterId = await createTestCharacter(core);
	for (let i = 0; i < USERS; i++) conversations.push(await openConversation(i, characterId));
	room = await openRoom([characterId, await createTestCharacter(core)]);
	conversations.push(...room.people);
}, 120_000);

afterAll(async () => {
	// Bounded, so that the kills below happen whatever hangs.
	await Promise.all(conversations.map((c) => within(c.close(), 5000, "a socket to close").catch(() => undefined)));
	if (core) await within(core.stop(), 10_000, "the broker to stop").catch(() => undefined);
	await killStarted();
	await rabbitMq?.remove();
}, 60_000);

describe("chaos", () => {
	it("should give every message exactly one reply, shown once to its user, through kills and restarts", async () => {
		const startedAt = Date.now();
		const faults: FaultReport[] = [];
		let loadError: unknown;
		const load = Promise.all(conversations.map((c) => c.run())).catch((err) => (loadError = err));
		let loadMs = 0;

		/** Resolves with the time since `since` once every user has had an answer to a message sent after it. */
		const recovered = async (since: number) => {
			await eventually(
				() => {
					if (loadError) throw loadError;
					return conversations.every((c) => c.turns.some((t) => t.sentAt >= since && (t.repliedAt || t.failed)));
				},
				RECOVERY_TIMEOUT_MS,
				"every user to get a reply again",
				50,
			);
			return Date.now() - since;
		};
		/**
		 * kill -9, then start again; resolves once the restart is done and every user has had a round trip since the
		 * kill. `ports`: the chat-ws nodes whose users count as mid-reply; `evidence` goes into the report.
		 */
		const inject = async (
			fault: string,
			ports: number[],
			kill: () => Promise<void>,
			restart: () => Promise<unknown>,
			evidence: Partial<FaultReport> = {},
		) => {
			const midReply = conversations.filter((c) => ports.includes(c.port()) && c.midReply()).length;
			const at = Date.now();
			await kill();
			const [restartMs, recoveryMs] = await Promise.all([restart().then(() => Date.now() - at), recovered(at)]);
			faults.push({ fault, mid_reply: midReply, ...evidence, restart_ms: restartMs, recovery_ms: recoveryMs });
			await sleep(STEADY_MS);
		};
		/** Until a user on one of `ports` has a reply streaming (bounded). */
		const replyStreaming = (ports: number[]) =>
			eventually(
				() => conversations.some((c) => ports.includes(c.port()) && c.midReply()),
				10_000,
				"a reply to be streaming",
				10,
			);
		const allPorts = chatWs.map((node) => node.wsPort!);
		const victimPorts = [chatWs[0].wsPort!];

		try {
			await sleep(STEADY_MS);
			let handling = 0;
			await eventually(
				async () => (handling = await activeMessages(consumers[0], "chat.user.msg")) > 0,
				10_000,
				"the consumer to be writing a reply",
				20,
			);
			await inject(
				"kill -9 ai-consumer",
				allPorts,
				() => consumers[0].kill(),
				() => consumers[0].start(60_000),
				{ victim_handling: handling },
			);

			await replyStreaming(allPorts);
			await inject(
				"kill -9 dispatcher",
				allPorts,
				() => dispatcher.kill(),
				() => dispatcher.start(60_000),
			);

			await replyStreaming(victimPorts);
			await inject(
				"kill -9 chat-ws",
				victimPorts,
				() => chatWs[0].kill(),
				() => chatWs[0].start(60_000),
			);

			await replyStreaming(allPorts);
			await inject(
				"kill -9 RabbitMQ, start",
				allPorts,
				() => rabbitMq.kill(),
				() => rabbitMq.start(60_000),
			);

			await replyStreaming(allPorts);
			await inject(
				"kill -9 Redis, start empty",
				allPorts,
				() => redis.kill(),
				async () => {
					await sleep(REDIS_DOWN_MS);
					await redis.start();
				},
			);

			for (const c of conversations) c.stop();
			await within(load, RECOVERY_TIMEOUT_MS, "the last turns to end");
			if (loadError) throw loadError;
			loadMs = Date.now() - startedAt;
			// Everyone leaves and comes back once more, half of them on the restarted chat-ws node.
			await Promise.all(conversations.map((c, i) => c.resume(i % chatWs.length)));
			await sleep(SETTLE_MS);
		} catch (err) {
			const sent = conversations.reduce((n, c) => n + c.turns.length, 0);
			console.log(`chaos counts (failed): ${JSON.stringify({ messages_sent: sent, faults, crashed: crashed() })}`);
			throw err;
		}

		const stored = await storedMessages(conversations.map((c) => c.sessionId));
		const perUser = conversations.map((c, i) => {
			const inRoom = room.people.includes(c);
			const session = stored.filter((m) => m.session_id === c.sessionId);
			const mine = session.filter((m) => m.content.startsWith(`user ${i} says`));
			// In the room, everyone is shown every reply, and the others' messages as `message` frames.
			const storedReplies = (inRoom ? session : mine).flatMap((m) => m.replies);
			const others = session.filter((m) => !mine.includes(m));
			const echoes = c.shown("echo");
			const messages = c.shown("message");
			const replies = c.shown("ai");
			const repeats = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
			return {
				sent: c.turns.length,
				stored: mine.length,
				replies_expected: storedReplies.length,
				replies_seen: replies.size,
				duplicates: repeats(echoes) + repeats(messages) + repeats(replies),
				messages_not_seen: mine.filter((m) => !echoes.has(m.id)).length,
				others_not_seen: others.filter((m) => !messages.has(m.id)).length,
				replies_not_seen: storedReplies.filter((id) => !replies.has(id)).length,
				seen_not_stored: [...replies.keys()].filter((id) => !storedReplies.includes(id)).length,
				contents_stored_twice: mine.length - new Set(mine.map((m) => m.content)).size,
				reconnects: c.reconnects,
				resends: c.resends,
			};
		});
		const sum = (key: keyof (typeof perUser)[number]) => perUser.reduce((total, u) => total + u[key], 0);
		const counts = {
			messages_sent: sum("sent"),
			messages_resent: sum("resends"),
			user_messages_stored: stored.length,
			replies_stored: stored.reduce((total, m) => total + m.replies.length, 0),
			messages_without_exactly_one_reply: stored.filter((m) => m.replies.length !== 1).length,
			messages_not_replied: stored.filter((m) => m.reply_status !== "replied").length,
			failed_turns: conversations.flatMap((c) => c.turns).filter((t) => t.failed).length,
			replies_seen_per_user: perUser.map((u) => u.replies_seen),
			duplicates_seen: sum("duplicates"),
			messages_not_seen: sum("messages_not_seen"),
			room_messages_not_seen: sum("others_not_seen"),
			replies_not_seen: sum("replies_not_seen"),
			seen_not_stored: sum("seen_not_stored"),
			reconnects: sum("reconnects"),
			faults,
			load_ms: loadMs,
			total_ms: Date.now() - startedAt,
		};
		console.log(`chaos counts: ${JSON.stringify(counts)}`);

		expect(crashed()).toEqual([]);
		expect(faults).toHaveLength(5);
		// The three processes were killed with replies under way: by the consumer's own gauge, and with users mid-reply.
		expect(faults[0].victim_handling).toBeGreaterThan(0);
		expect(faults.slice(1, 3).map((f) => f.mid_reply > 0)).toEqual([true, true]);
		expect(counts).toMatchObject({
			user_messages_stored: counts.messages_sent,
			failed_turns: 0,
			messages_without_exactly_one_reply: 0,
			messages_not_replied: 0,
		});
		for (const user of perUser) {
			expect(user).toMatchObject({
				stored: user.sent,
				replies_seen: user.replies_expected,
				duplicates: 0,
				messages_not_seen: 0,
				others_not_seen: 0,
				replies_not_seen: 0,
				seen_not_stored: 0,
				contents_stored_twice: 0,
			});
		}
	}, 170_000);
});
