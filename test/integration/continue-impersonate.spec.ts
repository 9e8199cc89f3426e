/**
 * `continue` and `impersonate` end to end, in embedded mode (one broker) and as a cluster (two chat-ws nodes, the
 * ai-consumer and the dispatcher on their own brokers, over the Redis transporter and RabbitMQ), each with two sockets
 * of one session (in the cluster on different chat-ws nodes). The model is a fake OpenAI-compatible server (the real
 * wire format), so the prompts sent can be read and the replies paced.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { CONTINUE_INSTRUCTION } from "../../src/domain/prompt.js";
import { OFFLINE_NOTICE } from "../../src/domain/offline-model.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { startFakeOpenAI, type FakeServer, type FakeStep } from "../support/fake-openai.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const MODEL_ENV = {
	LLM_PROVIDER: "openai",
	OPENAI_MODEL: "llama3",
	OPENAI_API_KEY: "sk-test-continue-0123456789",
	LLM_MAX_RETRIES: "1",
	LLM_RETRY_DELAY_MS: "5",
	CHAT_MESSAGES_PER_MINUTE: "1000",
	CHAT_USER_MESSAGES_PER_MINUTE: "1000",
	CHAT_USER_TOKENS_PER_DAY: "100000",
	// Long enough that a running continue's mark never goes stale within a test.
	CHAT_REPLY_TIMEOUT: "30",
};

/** Each test's time limit: the cluster's on a busy machine (it waits up to `frameWaitMs` for several frames). */
const TEST_MS = 60_000;

/** One deployment under test: where its sockets, gateway and database are. */
interface Deployment {
	fake: FakeServer;
	/** The chat-ws brokers: sockets of a pair go to the first and the last. */
	chatNodes: ServiceBroker[];
	/** Any broker running a database mixin, for SQL checks. */
	dbNode: ServiceBroker;
	/** Runs the gateway (`api`), for the REST rewind. */
	gatewayNode: ServiceBroker;
	characterId: string;
	/** Longest wait for a frame: a cluster on a busy machine takes longer than one process. */
	frameWaitMs: number;
}

const isContinued = (id: string) => (f: Frame) => f.type === "ai" && f.id === id && f.continued === true;
const continuedDeltas = (socket: ChatSocket, id: string) =>
	socket
		.ofType("ai.delta")
		.filter((d) => d.id === id && d.continued === true)
		.map((d) => d.delta)
		.join("");
const completions = (fake: FakeServer) => fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
/**
 * The continue prompts the fake got in the chat where `said` was said: the fake serves every test of the file, and
 * what earlier tests started may still reach it.
 */
const continuesOf = (fake: FakeServer, said: string) =>
	completions(fake).filter((r) => {
		const messages = r.body.messages as { content: string }[];
		return messages.at(-1)?.content === CONTINUE_INSTRUCTION && messages.some((m) => m.content === said);
	});

function steeringSuite(deployment: () => Deployment) {
	const next = (socket: ChatSocket, match: (f: Frame) => boolean) => socket.next(match, deployment().frameWaitMs);

	async function sql<T>(query: string, bind: unknown[] = []): Promise<T[]> {
		const [rows] = await (deployment().dbNode.getLocalService("auth") as unknown as DbThis).db.sequelize.query(query, {
			bind,
		});
		return rows as T[];
	}

	async function login() {
		const broker = deployment().dbNode;
		const username = uniqueName("cont");
		await broker.call("auth.register", { username, name: "Ada Quill", password: "password123" });
		const { access_token: token } = await broker.call<{ access_token: string }, object>("auth.login", {
			username,
			password: "password123",
		});
		return { username, token };
	}

	/** Two sockets of one new session (phone on the first chat-ws node, laptop on the last). */
	async function pair() {
		const { token, username } = await login();
		const { chatNodes, characterId } = deployment();
		const url = (b: ServiceBroker) =>
			`ws://127.0.0.1:${b.getLocalService("chat-ws").settings.port as number}/ws/${characterId}?token=${token}`;
		const phone = await ChatSocket.open(url(chatNodes[0]));
		const hello = await next(phone, (f) => f.type === "connection");
		const sessionId = hello.session_id as string;
		const laptop = await ChatSocket.open(`${url(chatNodes.at(-1)!)}&session_id=${sessionId}`);
		await next(laptop, (f) => f.type === "connection");
		const greeting = await next(phone, (f) => f.type === "ai");
		return { phone, laptop, sessionId, greeting, token, username };
	}

	/** The user says `content` on the phone; both sockets show the reply (the model's `chunks`). */
	async function exchange(phone: ChatSocket, laptop: ChatSocket, content: string, chunks: string[]) {
		deployment().fake.script([{ text: chunks }]);
		phone.send({ content });
		const echo = await next(phone, (f) => f.type === "echo" && f.content === content);
		const isReply = (f: Frame) => f.type === "ai" && f.reply_to === echo.id;
		const [reply] = await Promise.all([next(phone, isReply), next(laptop, isReply)]);
		return { echo, reply };
	}

	const rowsOf = (sessionId: string) =>
		sql<{ id: string; role: string; content: string; generating_since: Date | null }>(
			`SELECT id, role, content, generating_since FROM messages WHERE session_id = $1 ORDER BY seq`,
			[sessionId],
		);

	async function rewind(token: string, sessionId: string, messageId: string) {
		const res = await fetch(`${gatewayOrigin(deployment().gatewayNode)}/sessions/${sessionId}/messages/${messageId}`, {
			method: "DELETE",
			headers: { authorization: `Bearer ${token}` },
		});
		expect(res.status).toBe(204);
	}

	const slow = (chunks: number, delayMs: number): FakeStep => ({
		text: Array.from({ length: chunks }, (_, i) => ` more${i}`),
		delayMs,
	});

	it(
		"should extend the last reply in place: continued deltas, then one longer `ai` frame with the same id on every socket",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			const { echo, reply } = await exchange(phone, laptop, "Is the lamp lit?", ["It is lit"]);
			fake.script([{ text: [", mostly.", " The gulls are loud."], delayMs: 20 }]);
			phone.send({ type: "continue" });

			const longer = "It is lit, mostly. The gulls are loud.";
			const [onPhone, onLaptop] = await Promise.all([phone, laptop].map((s) => next(s, isContinued(reply.id!))));
			for (const frame of [onPhone, onLaptop]) {
				expect(frame).toMatchObject({ role: "ai", reply_to: echo.id, variant: 0, content: longer, continued: true });
			}
			for (const socket of [phone, laptop]) {
				await eventually(() => continuedDeltas(socket, reply.id!) === ", mostly. The gulls are loud.", 5000, "deltas");
			}
			// Stored in place: the same rows, the reply longer and no longer marked.
			const rows = await rowsOf(sessionId);
			expect(rows.map((r) => r.role)).toEqual(["ai", "user", "ai"]);
			expect(rows[2]).toMatchObject({ id: reply.id, content: longer, generating_since: null });

			// The prompt: the history up to the reply, the reply as the model's own last message, then the instruction.
			const continues = continuesOf(fake, "Is the lamp lit?");
			expect(continues).toHaveLength(1);
			const messages = continues[0].body.messages as { role: string; content: string }[];
			expect(messages.at(-1)).toEqual({ role: "system", content: CONTINUE_INSTRUCTION });
			expect(messages.at(-2)).toEqual({ role: "assistant", content: "It is lit" });
			expect(messages.at(-3)).toEqual({ role: "user", content: "Is the lamp lit?" });

			await sleep(300);
			for (const socket of [phone, laptop]) expect(socket.frames.filter(isContinued(reply.id!))).toHaveLength(1);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should continue the greeting when it is the last message",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId, greeting } = await pair();
			fake.script([{ text: [" Sit, and I shall sing."] }]);
			laptop.send({ type: "continue" });
			const frame = await next(phone, isContinued(greeting.id!));
			expect(frame).toMatchObject({ reply_to: null, content: `${greeting.content} Sit, and I shall sing.` });
			expect((await rowsOf(sessionId)).map((r) => r.content)).toEqual([frame.content]);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should refuse a second continue while one runs, from any socket, and make the reply longer once",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			const { reply } = await exchange(phone, laptop, "Tell me of the storm", ["It came at night."]);
			fake.script([slow(5, 150)]);
			phone.send({ type: "continue" });
			await next(laptop, (f) => f.type === "ai.delta" && f.id === reply.id && f.continued === true);
			laptop.send({ type: "continue" });
			const refused = await next(laptop, (f) => f.type === "error");
			expect(refused).toMatchObject({ code: "cannot_continue" });

			const done = await next(laptop, isContinued(reply.id!));
			expect(done.content).toBe("It came at night. more0 more1 more2 more3 more4");
			await sleep(500);
			expect(continuesOf(fake, "Tell me of the storm")).toHaveLength(1);
			for (const socket of [phone, laptop]) expect(socket.frames.filter(isContinued(reply.id!))).toHaveLength(1);
			expect((await rowsOf(sessionId)).filter((r) => r.id === reply.id)).toHaveLength(1);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should answer reply_in_progress while the reply is pending and cannot_continue when the last message is the user's",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId, token } = await pair();
			fake.script([{ text: ["Slowly", " now."], delayMs: 600 }]);
			phone.send({ content: "Wait for it" });
			const echo = await next(phone, (f) => f.type === "echo");
			phone.send({ type: "continue" });
			expect(await next(phone, (f) => f.type === "error")).toMatchObject({ code: "reply_in_progress" });
			const reply = await next(laptop, (f) => f.type === "ai" && f.reply_to === echo.id);

			// Rewound to the user's message: the reply is gone, the user's line is last.
			await rewind(token, sessionId, reply.id!);
			await next(laptop, (f) => f.type === "messages.deleted");
			laptop.send({ type: "continue" });
			expect(await next(laptop, (f) => f.type === "error")).toMatchObject({ code: "cannot_continue" });
			// Neither refused continue asked the model.
			expect(continuesOf(fake, "Wait for it")).toHaveLength(0);
			expect((await rowsOf(sessionId)).map((r) => r.role)).toEqual(["ai", "user"]);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should answer reply_in_progress to a continue while the last reply is being regenerated, and continue the new one",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			const { echo } = await exchange(phone, laptop, "Again?", ["Once."]);
			fake.script([{ text: ["Twice", " over."], delayMs: 1500 }]);
			phone.send({ type: "regenerate", reply_to: echo.id });
			await next(laptop, (f) => f.type === "ai.delta" && f.variant === 1);
			laptop.send({ type: "continue" });
			expect(await next(laptop, (f) => f.type === "error")).toMatchObject({ code: "reply_in_progress" });
			const regenerated = await next(laptop, (f) => f.type === "ai" && f.reply_to === echo.id && f.variant === 1);

			// Once the new variant is stored its message is released: a continue extends that variant.
			fake.script([{ text: [" And thrice."] }]);
			laptop.send({ type: "continue" });
			const longer = await next(phone, isContinued(regenerated.id!));
			expect(longer.content).toBe("Twice over. And thrice.");
			const [message] = await sql<{ generating_since: Date | null }>(
				`SELECT generating_since FROM messages WHERE id = $1`,
				[echo.id],
			);
			expect(message.generating_since).toBeNull();
			expect((await rowsOf(sessionId)).filter((r) => r.role === "ai")).toHaveLength(3);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should store the partial extension when the user stops a continue",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			const { reply } = await exchange(phone, laptop, "Sing", ["La la."]);
			fake.script([slow(20, 100)]);
			phone.send({ type: "continue" });
			await eventually(() => continuedDeltas(laptop, reply.id!).length >= " more0 more1".length, 5000, "two deltas");
			phone.send({ type: "stop" });
			const [onPhone, onLaptop] = await Promise.all([phone, laptop].map((s) => next(s, isContinued(reply.id!))));
			expect(onPhone.content).toBe(onLaptop.content);
			const content = onPhone.content as string;
			expect(content.startsWith("La la. more0 more1")).toBe(true);
			expect(content.length).toBeLessThan("La la.".length + " moreNN".length * 20);
			const stored = (await rowsOf(sessionId)).find((r) => r.id === reply.id)!;
			expect(stored).toMatchObject({ content, generating_since: null });
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should leave no orphan when the reply being continued is rewound",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId, token } = await pair();
			const { reply } = await exchange(phone, laptop, "One more thing", ["Yes?"]);
			fake.script([slow(8, 120)]);
			phone.send({ type: "continue" });
			await next(laptop, (f) => f.type === "ai.delta" && f.id === reply.id && f.continued === true);
			await rewind(token, sessionId, reply.id!);
			const deleted = await next(phone, (f) => f.type === "messages.deleted");
			expect(deleted.ids).toEqual([reply.id]);
			// Long enough for the continuation, stopped or not, to reach the dispatcher.
			await sleep(1500);
			for (const socket of [phone, laptop]) expect(socket.frames.filter(isContinued(reply.id!))).toEqual([]);
			expect((await rowsOf(sessionId)).map((r) => r.role)).toEqual(["ai", "user"]);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should report a failed continue with reply_to the reply, leave it as it was and let the user try again",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			const { reply } = await exchange(phone, laptop, "And then?", ["Then nothing."]);
			fake.script([{ status: 500 }, { status: 500 }]);
			phone.send({ type: "continue" });
			const [onPhone, onLaptop] = await Promise.all(
				[phone, laptop].map((s) => next(s, (f) => f.type === "error" && f.reply_to === reply.id)),
			);
			expect(onPhone).toMatchObject({ code: "ai_unavailable" });
			expect(onLaptop).toMatchObject({ code: "ai_unavailable" });
			const stored = (await rowsOf(sessionId)).find((r) => r.id === reply.id)!;
			expect(stored).toMatchObject({ content: "Then nothing.", generating_since: null });

			fake.script([{ text: [" Then the sea."] }]);
			laptop.send({ type: "continue" });
			expect((await next(phone, isContinued(reply.id!))).content).toBe("Then nothing. Then the sea.");
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should stream an impersonation to the asking socket only, store nothing and count its tokens",
		async () => {
			const { fake } = deployment();
			const { phone, laptop, sessionId } = await pair();
			await exchange(phone, laptop, "Who goes there?", ["Only the keeper."]);
			const before = await rowsOf(sessionId);
			fake.script([{ text: ["I step", " into the light."], delayMs: 20, usage: { input: 99_990, output: 20 } }]);
			laptop.send({ type: "impersonate" });
			const suggestion = await next(laptop, (f) => f.type === "impersonation");
			expect(suggestion).toEqual({ type: "impersonation", content: "I step into the light." });
			const deltas = laptop.ofType("impersonation.delta").map((d) => d.delta);
			expect(deltas.join("")).toBe("I step into the light.");

			const messages = completions(fake).at(-1)!.body.messages as { role: string; content: string }[];
			expect(messages.at(-1)!.content).toContain("as Ada Quill would write it");
			expect(messages.at(-2)).toEqual({ role: "assistant", content: "Only the keeper." });

			await sleep(500);
			expect(phone.frames.filter((f) => f.type.startsWith("impersonation"))).toEqual([]);
			expect(await rowsOf(sessionId)).toEqual(before);
			// 100,010 tokens against a daily quota of 100,000: the next message is refused.
			await eventually(
				async () => {
					laptop.send({ content: "Hello?" });
					const refusal = await laptop
						.next((f) => f.type === "error" && f.code === "quota_exceeded", 300)
						.catch(() => null);
					return refusal !== null;
				},
				5000,
				"the quota to count the impersonation",
				0,
			);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);

	it(
		"should act on the socket's own session only, whatever ids a frame carries",
		async () => {
			const { fake } = deployment();
			const victim = await pair();
			const { reply: victimReply } = await exchange(victim.phone, victim.laptop, "My secret plan", ["Kept safe."]);
			const attacker = await pair();
			const { reply: ownReply } = await exchange(attacker.phone, attacker.laptop, "Hello", ["Hi."]);
			const forged = { id: victimReply.id, reply_to: victimReply.id, session_id: victim.sessionId };

			fake.script([{ text: [" Again."] }]);
			attacker.phone.send({ type: "continue", ...forged });
			expect((await next(attacker.phone, isContinued(ownReply.id!))).content).toBe("Hi. Again.");
			fake.script([{ text: ["Sure."] }]);
			attacker.phone.send({ type: "impersonate", ...forged });
			await next(attacker.phone, (f) => f.type === "impersonation");
			const prompt = JSON.stringify(completions(fake).at(-1)!.body.messages);
			expect(prompt).toContain("Hi. Again.");
			expect(prompt).not.toContain("secret plan");

			await sleep(300);
			expect((await rowsOf(victim.sessionId)).find((r) => r.id === victimReply.id)!.content).toBe("Kept safe.");
			for (const socket of [victim.phone, victim.laptop]) {
				expect(socket.frames.filter((f) => f.continued || f.type.startsWith("impersonation"))).toEqual([]);
			}
			await Promise.all([victim.phone, victim.laptop, attacker.phone, attacker.laptop].map((s) => s.close()));
		},
		TEST_MS,
	);

	it(
		"should refuse an impersonation with cannot_impersonate when the model cannot answer",
		async () => {
			const { fake } = deployment();
			const { phone, laptop } = await pair();
			fake.script([{ status: 500 }, { status: 500 }]);
			phone.send({ type: "impersonate" });
			expect(await next(phone, (f) => f.type === "error")).toMatchObject({ code: "cannot_impersonate" });
			expect(phone.frames.filter((f) => f.type.startsWith("impersonation"))).toEqual([]);
			// The socket carries on: the next suggestion comes.
			fake.script([{ text: ["Hello?"] }]);
			phone.send({ type: "impersonate" });
			expect(await next(phone, (f) => f.type === "impersonation")).toMatchObject({ content: "Hello?" });
			expect(laptop.frames.filter((f) => f.type.startsWith("impersonation") || f.type === "error")).toEqual([]);
			await Promise.all([phone.close(), laptop.close()]);
		},
		TEST_MS,
	);
}

describe("continue and impersonate, embedded", () => {
	let broker: ServiceBroker;
	let fake: FakeServer;
	let characterId = "";

	beforeAll(async () => {
		fake = await startFakeOpenAI();
		broker = createBroker(
			testConfig({ NAMESPACE: uniqueName("cont"), OPENAI_BASE_URL: `${fake.url}/v1`, ...MODEL_ENV }),
			{ logger: false },
		);
		await broker.start();
		characterId = await createTestCharacter(broker);
	}, 60_000);

	afterAll(async () => {
		await broker?.stop();
		await fake?.stop();
	});

	steeringSuite(() => ({
		fake,
		chatNodes: [broker],
		dbNode: broker,
		gatewayNode: broker,
		characterId,
		frameWaitMs: 10_000,
	}));
});

describe("continue and impersonate, cluster", () => {
	const namespace = clusterNamespace("cont");
	let fake: FakeServer;
	let nodes: ServiceBroker[] = [];
	let characterId = "";

	beforeAll(async () => {
		fake = await startFakeOpenAI();
		const node = (services: string) =>
			clusterNode(namespace, services, { OPENAI_BASE_URL: `${fake.url}/v1`, ...MODEL_ENV });
		nodes = [
			node("api,auth,characters,sessions"),
			node("chat-ws"),
			node("chat-ws"),
			node("ai-consumer"),
			node("dispatcher,story"),
		];
		await Promise.all(nodes.map((b) => b.start()));
		// Nodes announce their services up to a second after starting: chat-ws must know ai-consumer (impersonate)
		// and the gateway story (rewind).
		const knows = (b: ServiceBroker, name: string) =>
			b.registry.getServiceList({ onlyAvailable: true }).some((s) => s.name === name);
		await eventually(
			() => knows(nodes[1], "ai-consumer") && knows(nodes[2], "ai-consumer") && knows(nodes[0], "story"),
			10_000,
			"every node to know the services it calls",
		);
		characterId = await createTestCharacter(nodes[0]);
	}, 60_000);

	afterAll(async () => {
		await Promise.all(nodes.map((b) => b.stop().catch(() => undefined)));
		await fake?.stop();
		await removeNamespace(namespace);
	}, 60_000);

	steeringSuite(() => ({
		fake,
		chatNodes: [nodes[1], nodes[2]],
		dbNode: nodes[0],
		gatewayNode: nodes[0],
		characterId,
		frameWaitMs: 20_000,
	}));
});

describe("continue and impersonate, offline model", () => {
	let broker: ServiceBroker;

	beforeAll(async () => {
		broker = createBroker(testConfig({ NAMESPACE: uniqueName("contoff") }), { logger: false });
		await broker.start();
	}, 60_000);

	afterAll(() => broker?.stop());

	it("should say plainly that it is offline when continuing and when suggesting a line", async () => {
		const characterId = await createTestCharacter(broker);
		const username = uniqueName("off");
		await broker.call("auth.register", { username, name: "Ada", password: "password123" });
		const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
			username,
			password: "password123",
		});
		const port = broker.getLocalService("chat-ws").settings.port as number;
		const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${access_token}`);
		const greeting = await socket.next((f) => f.type === "ai");
		socket.send({ type: "continue" });
		const continued = await socket.next(isContinued(greeting.id!));
		expect((continued.content as string).startsWith(`${greeting.content} `)).toBe(true);
		expect(continued.content).toContain(OFFLINE_NOTICE);
		socket.send({ type: "impersonate" });
		expect((await socket.next((f) => f.type === "impersonation")).content).toContain(OFFLINE_NOTICE);
		await socket.close();
	});
});
