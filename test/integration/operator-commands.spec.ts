/**
 * The operators' REPL commands against running brokers: src/repl/operations.ts on one embedded broker (sockets, kick,
 * say, users, characters, stats) and on a small cluster over Redis and RabbitMQ (queues, dead letters); the command
 * definitions through their `action`; and `npm run repl`'s REPL-only node driven over its stdin.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import amqp from "amqplib";
import { createBroker } from "../../src/broker.js";
import { loadConfig, type Config } from "../../src/config.js";
import { ChatStore } from "../../src/adapters/chat-store.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { UserMsgPayload } from "../../src/domain/chat-wire.js";
import * as ops from "../../src/repl/operations.js";
import { operatorCommands, type ReplArgs } from "../../src/repl/operator-commands.js";
import { AMQP_URL, clusterEnv, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const isReplyTo = (id: unknown) => (f: Frame) => f.type === "ai" && f.reply_to === id;

function db(broker: ServiceBroker, service: string) {
	return (broker.getLocalService(service) as unknown as DbThis).db.sequelize;
}

async function register(broker: ServiceBroker) {
	const username = uniqueName("op");
	const user = await broker.call<{ id: string }, object>("auth.register", {
		username,
		name: "Operator Test",
		password: "password123",
	});
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { id: user.id, username, token: access_token };
}

async function openChat(broker: ServiceBroker, token: string, characterId: string, extra = "") {
	const port = broker.getLocalService("chat-ws").settings.port as number;
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${token}${extra}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string };
}

/** Runs a command definition's action as moleculer-repl would, with a `table` that joins cells; returns what it printed. */
async function run(
	broker: ServiceBroker,
	config: Config,
	name: string,
	words: string[],
	options: ReplArgs["options"] = {},
) {
	const command = operatorCommands(config).find((c) => c.command.split(" ")[0] === name);
	if (!command) throw new Error(`no command ${name}`);
	const printed: string[] = [];
	const log = vi.spyOn(console, "log").mockImplementation((text: string) => void printed.push(text));
	try {
		await command.action(
			broker,
			{ words, options },
			{ table: (rows) => rows.map((row) => row.join(" | ")).join("\n") },
		);
	} finally {
		log.mockRestore();
	}
	return printed.join("\n");
}

describe("operator commands, embedded", () => {
	let broker: ServiceBroker;
	let config: Config;
	let characterId = "";

	beforeAll(async () => {
		config = testConfig({ NAMESPACE: uniqueName("op"), SERVICES: "all", CHAT_MESSAGES_PER_MINUTE: "1000" });
		broker = createBroker(config, { logger: false });
		await broker.start();
		characterId = await createTestCharacter(broker);
	});

	afterAll(() => broker?.stop());

	it("should list open sockets, by user too, and kick a session's sockets with 4000", async () => {
		const alice = await register(broker);
		const bob = await register(broker);
		const phone = await openChat(broker, alice.token, characterId);
		const laptop = await openChat(broker, alice.token, characterId, `&session_id=${phone.sessionId}`);
		const other = await openChat(broker, bob.token, characterId);

		const all = await ops.listSockets(broker);
		expect(all.nodes).toEqual([broker.nodeID]);
		expect(all.sockets.map((s) => s.session_id)).toEqual(expect.arrayContaining([phone.sessionId, other.sessionId]));
		const alices = await ops.listSockets(broker, alice.username);
		expect(alices.sockets).toHaveLength(2);
		expect(alices.sockets[0]).toMatchObject({
			node_id: broker.nodeID,
			session_id: phone.sessionId,
			username: alice.username,
			character_id: characterId,
		});
		expect(Date.parse(alices.sockets[0].connected_at)).toBeLessThanOrEqual(Date.now());

		const kicked = await ops.kickSession(broker, phone.sessionId);
		expect(kicked).toMatchObject({ total: 2, results: [{ node_id: broker.nodeID, value: 2 }], failures: [] });
		expect(await phone.socket.closed).toBe(4000);
		expect(await laptop.socket.closed).toBe(4000);
		await new Promise((r) => setTimeout(r, 100));
		expect((await ops.listSockets(broker, alice.username)).sockets).toEqual([]);
		expect((await ops.listSockets(broker, bob.username)).sockets).toHaveLength(1);
		await other.socket.close();
	});

	it("should deliver an operator's message like a reply, and store it as the operator's", async () => {
		const { token } = await register(broker);
		const { socket, sessionId } = await openChat(broker, token, characterId);
		const said = await ops.sayInSession(broker, sessionId, "This is the operator speaking.");
		expect(said).toMatchObject({ session_id: sessionId, delivered: 1 });
		const frame = await socket.next((f) => f.id === said.id);
		expect(frame).toMatchObject({ type: "ai", role: "ai", reply_to: null, content: "This is the operator speaking." });
		const stored = await new ChatStore(db(broker, "dispatcher")).getMessage(said.id);
		expect(stored).toMatchObject({ role: "ai", model: "operator", reply_to: null, session_id: sessionId });

		await expect(ops.sayInSession(broker, "00000000-0000-4000-8000-000000000000", "anyone?")).rejects.toMatchObject({
			code: 404,
			type: "SESSION_NOT_FOUND",
		});
		await socket.close();
	});

	it("should store each reply's token usage and report the traffic", async () => {
		const { token, username } = await register(broker);
		const { socket, sessionId } = await openChat(broker, token, characterId);
		const store = new ChatStore(db(broker, "dispatcher"));
		const seen = new Set<string>();
		/** One reply and one message the pipeline gave up on, with the traffic figures before and after them. */
		const traffic = async () => {
			const before = await ops.chatStats(broker, 5);
			socket.send({ content: "Count my tokens, please." });
			const echo = await socket.next((f) => f.type === "echo" && !seen.has(f.id as string));
			seen.add(echo.id as string);
			const reply = await socket.next(isReplyTo(echo.id));
			const [usage] = await db(broker, "dispatcher").query(
				`SELECT input_tokens, output_tokens FROM messages WHERE id = $1`,
				{ bind: [reply.id] },
			);
			const { input_tokens, output_tokens } = (usage as { input_tokens: number; output_tokens: number }[])[0];
			expect(input_tokens).toBeGreaterThan(0);
			expect(output_tokens).toBeGreaterThan(0);
			const failed = await store.insertUserMessage({
				session_id: sessionId,
				username,
				character_id: characterId,
				content: "lost",
			});
			expect(await store.markReplyFailed(failed.id)).toBe(true);
			return { before, after: await ops.chatStats(broker, 5), input_tokens, output_tokens };
		};
		// Other files write to the same database meanwhile (at least this test's share is counted) and rewind or delete
		// chats of theirs, which takes messages out of the window: a second look is taken if that happened in between.
		let measured = await traffic();
		const counted = ({ before, after, input_tokens, output_tokens }: typeof measured) =>
			after.user_messages - before.user_messages >= 2 &&
			after.replies - before.replies >= 1 &&
			after.failed_replies - before.failed_replies >= 1 &&
			after.input_tokens - before.input_tokens >= input_tokens &&
			after.output_tokens - before.output_tokens >= output_tokens;
		for (let attempt = 1; attempt < 5 && !counted(measured); attempt++) measured = await traffic();
		const { before, after } = measured;
		expect(after.minutes).toBe(5);
		expect(after.user_messages - before.user_messages).toBeGreaterThanOrEqual(2);
		expect(after.replies - before.replies).toBeGreaterThanOrEqual(1);
		expect(after.failed_replies - before.failed_replies).toBeGreaterThanOrEqual(1);
		expect(after.input_tokens - before.input_tokens).toBeGreaterThanOrEqual(measured.input_tokens);
		expect(after.output_tokens - before.output_tokens).toBeGreaterThanOrEqual(measured.output_tokens);
		expect(after.user_messages_per_minute).toBeCloseTo(after.user_messages / 5);
		expect(after.latency_p50_ms).toBeGreaterThan(0);
		expect(after.latency_p99_ms).toBeGreaterThanOrEqual(after.latency_p50_ms!);
		await expect(ops.chatStats(broker, 0)).rejects.toMatchObject({ code: 422 });
		await socket.close();
	});

	it("should list users without their hashes, disable and enable them, and promote them", async () => {
		const { username, token } = await register(broker);
		const listed = await ops.listUsers(broker, username);
		expect(listed).toEqual([
			{
				id: expect.any(String),
				username,
				name: "Operator Test",
				role: "user",
				show_nsfw: false,
				is_disabled: false,
				created_at: expect.any(String),
			},
		]);

		expect(await ops.setUserDisabled(broker, username, true)).toMatchObject({ username, is_disabled: true });
		await expect(broker.call("auth.login", { username, password: "password123" })).rejects.toMatchObject({
			type: "USER_DISABLED",
		});
		await expect(broker.call("auth.validate", { token })).rejects.toMatchObject({ code: 401 });
		expect(await ops.setUserDisabled(broker, username, false)).toMatchObject({ is_disabled: false });
		await broker.call("auth.login", { username, password: "password123" });

		expect(await ops.promoteUser(broker, username)).toMatchObject({ username, role: "admin" });
		expect((await broker.call<{ role: string }, object>("auth.validate", { token })).role).toBe("admin");
		await expect(ops.promoteUser(broker, "nobody-by-that-name")).rejects.toMatchObject({
			code: 404,
			type: "USER_NOT_FOUND",
		});
	});

	it("should add, import (JSON and PNG) and disable characters for their owner", async () => {
		const owner = await register(broker);
		const added = await ops.addCharacter(broker, {
			owner: owner.username,
			name: "Operator's Owl",
			prompt: "You are a wise owl.",
			greeting: "Hoo?",
		});
		expect(added).toMatchObject({
			name: "Operator's Owl",
			system_prompt: "You are a wise owl.",
			greeting: "Hoo?",
			created_by: owner.id,
			is_active: true,
		});

		const dir = await mkdtemp(join(tmpdir(), "cameo-op-"));
		try {
			const card = {
				spec: "chara_card_v2",
				spec_version: "2.0",
				data: { name: "Card Crow", description: "A crow.", first_mes: "Caw.", extensions: {} },
			};
			await writeFile(join(dir, "crow.json"), JSON.stringify(card));
			const fromJson = await ops.importCharacter(broker, join(dir, "crow.json"), owner.username);
			expect(fromJson).toMatchObject({ name: "Card Crow", greeting: "Caw.", created_by: owner.id });

			const png = await broker.call<Buffer, object>(
				"characters.exportCard",
				{ id: added.id, format: "png" },
				{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
			);
			await writeFile(join(dir, "owl.png"), Buffer.from(png));
			const fromPng = await ops.importCharacter(broker, join(dir, "owl.png"), owner.username);
			expect(fromPng).toMatchObject({ name: "Operator's Owl", greeting: "Hoo?", created_by: owner.id });
			expect(fromPng.id).not.toBe(added.id);

			await writeFile(join(dir, "junk.txt"), "not a card");
			await expect(ops.importCharacter(broker, join(dir, "junk.txt"), owner.username)).rejects.toThrow(
				/neither a card PNG nor JSON/,
			);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
		await expect(
			ops.addCharacter(broker, { owner: "nobody-by-that-name", name: "X", prompt: "Y" }),
		).rejects.toMatchObject({ type: "USER_NOT_FOUND" });

		expect(await ops.disableCharacter(broker, added.id)).toMatchObject({ id: added.id, is_active: false });
		const stranger = await register(broker);
		await expect(
			broker.call(
				"characters.get",
				{ id: added.id },
				{ meta: { user: { id: stranger.id, username: stranger.username, role: "user" } } },
			),
		).rejects.toMatchObject({
			code: 404,
		});
	});

	it("should print tables, and the usage when the arguments are wrong", async () => {
		// What `broker.repl()` registers (`npm start -- --repl`).
		expect((broker.options.replCommands as { command: string }[]).map((c) => c.command.split(" ")[0])).toEqual([
			"sessions",
			"queues",
			"dlq",
			"user",
			"character",
			"kick",
			"say",
			"stats",
		]);
		const { username, token } = await register(broker);
		const { socket, sessionId } = await openChat(broker, token, characterId);

		const sessions = await run(broker, config, "sessions", [], { user: username });
		expect(sessions).toContain("Node | Session | User | Character | Connected since");
		expect(sessions).toContain(`${broker.nodeID} | ${sessionId} | ${username} | ${characterId} | `);
		expect(sessions).toContain("1 socket(s) on 1 chat-ws node(s)");

		const said = await run(broker, config, "say", [sessionId, "Hello", "from", "the", "operator"]);
		expect(said).toMatch(
			new RegExp(`^Message \\| Session \\| Sockets reached\\n[0-9a-f-]{36} \\| ${sessionId} \\| 1$`),
		);
		expect((await socket.next((f) => f.content === "Hello from the operator")).type).toBe("ai");

		expect(await run(broker, config, "user", ["list"], { q: username })).toMatch(
			new RegExp(`\\n${username} \\| Operator Test \\| user \\| no \\| `),
		);
		expect(await run(broker, config, "queues", [])).toBe(ops.IN_PROCESS_CHANNELS);
		expect(await run(broker, config, "stats", [], { minutes: "10" })).toContain(
			"Last 10 min | Value\nUser messages / min | ",
		);

		expect(await run(broker, config, "kick", [])).toBe("Usage: kick <session_id>");
		expect(await run(broker, config, "kick", ["not-a-session"])).toBe("Usage: kick <session_id>");
		expect(await run(broker, config, "say", [sessionId])).toBe("Usage: say <session_id> <text...>");
		expect(await run(broker, config, "stats", [], { minutes: "ten" })).toBe("Usage: stats [--minutes <n>]");
		expect(await run(broker, config, "dlq", ["replay", "everything"])).toBe(
			"Usage: dlq replay <user|ai> [--limit <n>]\n       dlq purge <user|ai>",
		);
		expect(await run(broker, config, "character", ["add"], { owner: username })).toMatch(
			/^Usage: character add --owner/,
		);
		expect(await run(broker, config, "user", ["promote", "nobody-by-that-name"])).toBe("Error: User not found");

		expect(await run(broker, config, "kick", [sessionId])).toBe(
			`Node | Closed\n${broker.nodeID} | 1\nClosed 1 socket(s) of session ${sessionId}`,
		);
		expect(await socket.closed).toBe(4000);
	});
});

describe("operator commands, cluster", () => {
	const namespace = clusterNamespace("opc");
	const env = clusterEnv(namespace);
	let brokers: ServiceBroker[] = [];
	let core: ServiceBroker;
	let ws: ServiceBroker;
	let config: Config;
	let characterId = "";

	const node = (services: string) => clusterNode(namespace, services);
	const deadUser = `${namespace}.chat.user.msg.dead`;

	async function publishDead(payloads: object[]) {
		const connection = await amqp.connect(AMQP_URL);
		const channel = await connection.createConfirmChannel();
		for (const p of payloads) channel.sendToQueue(deadUser, Buffer.from(JSON.stringify(p)), { persistent: true });
		await channel.waitForConfirms();
		await connection.close();
	}

	beforeAll(async () => {
		core = node("auth,characters,sessions");
		ws = node("chat-ws");
		brokers = [core, ws, node("ai-consumer"), node("dispatcher")];
		await Promise.all(brokers.map((b) => b.start()));
		// What `npm run repl` runs: no services, no secret, no database.
		config = loadConfig({ ...env, SERVICES: "none" });
		characterId = await createTestCharacter(core);
	}, 60_000);

	afterAll(async () => {
		await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
		await removeNamespace(namespace);
	}, 60_000);

	it("should let a node without services, secret or database join as the REPL", () => {
		expect(config).toMatchObject({ mode: "cluster", services: [], jwtSecret: undefined, databaseUrl: undefined });
		expect(() => loadConfig({ ...env, SERVICES: "dispatcher" })).toThrow(/JWT_SECRET/);
	});

	it("should show the depth and consumers of the chat queues and dead-letter queues", async () => {
		expect(await ops.queueStatus(config)).toEqual([
			{ queue: `ai-consumer.${namespace}.chat.user.msg`, messages: 0, consumers: 1 },
			{ queue: `dispatcher.${namespace}.chat.ai.msg`, messages: 0, consumers: 1 },
			{ queue: deadUser, messages: 0, consumers: 0 },
			{ queue: `${namespace}.chat.ai.msg.dead`, messages: 0, consumers: 0 },
		]);
		const printed = await run(ws, config, "queues", []);
		expect(printed).toContain(`Queue | Messages | Consumers\nai-consumer.${namespace}.chat.user.msg | 0 | 1`);
		// A namespace nobody runs: its queues are reported missing, and the next check still works.
		const elsewhere = await ops.queueStatus({ ...config, namespace: `${namespace}-none` });
		expect(elsewhere?.map((d) => d.messages)).toEqual([null, null, null, null]);
	});

	it("should replay a dead letter so that it gets answered, up to --limit, and purge the rest", async () => {
		const { token, username } = await register(core);
		const { socket, sessionId } = await openChat(ws, token, characterId);
		// A message stored like chat-ws stores one, whose publish ended in the dead-letter queue.
		const message = await new ChatStore(db(core, "auth")).insertUserMessage({
			session_id: sessionId,
			username,
			character_id: characterId,
			content: "Back from the dead",
		});
		const payload: UserMsgPayload = {
			message_id: message.id,
			session_id: sessionId,
			username,
			character_id: characterId,
			content: message.content,
		};
		await publishDead([payload, { junk: 1 }, { junk: 2 }]);
		expect((await ops.queueStatus(config))?.find((d) => d.queue === deadUser)?.messages).toBe(3);

		expect(await ops.replayDeadLetters(config, "user", 1)).toEqual({
			from: deadUser,
			to: `${namespace}.chat.user.msg`,
			moved: 1,
		});
		const reply = await socket.next(isReplyTo(message.id), 15_000);
		expect(reply.content).toEqual(expect.stringContaining("offline"));
		expect((await ops.queueStatus(config))?.find((d) => d.queue === deadUser)?.messages).toBe(2);

		expect(await run(ws, config, "dlq", ["purge", "user"])).toBe(`Queue | Purged\n${deadUser} | 2`);
		expect(await ops.replayDeadLetters(config, "ai")).toMatchObject({ moved: 0 });
		await socket.close();
	});

	it("should run the commands in `npm run repl`'s REPL-only node", async () => {
		const { token, username } = await register(core);
		const { socket, sessionId } = await openChat(ws, token, characterId);
		const home = await mkdtemp(join(tmpdir(), "cameo-repl-"));
		const child = spawn(process.execPath, ["--import", "tsx", "scripts/repl.ts"], {
			env: { PATH: process.env.PATH ?? "", HOME: home, ...env },
			stdio: ["pipe", "pipe", "pipe"],
		});
		let output = "";
		child.stdout.on("data", (d) => (output += d));
		child.stderr.on("data", (d) => (output += d));
		const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
		const waitFor = async (text: string, retype?: string) => {
			for (let i = 0; i < 100 && !output.includes(text); i++) {
				if (retype && i % 10 === 0) child.stdin.write(`${retype}\n`);
				await new Promise((r) => setTimeout(r, 100));
			}
			if (!output.includes(text)) throw new Error(`no "${text}" in:\n${output}`);
		};
		try {
			await waitFor("Joined namespace");
			// The cluster's nodes are discovered shortly after the start: ask until chat-ws has answered.
			await waitFor(sessionId, `sessions --user ${username}`);
			child.stdin.write(`say ${sessionId} Hello from the REPL node\n`);
			expect((await socket.next((f) => f.content === "Hello from the REPL node")).type).toBe("ai");
			child.stdin.write("dlq replay everything\n");
			await waitFor("Usage: dlq replay <user|ai> [--limit <n>]");
			child.stdin.end();
			expect(await exited).toBe(0);
		} finally {
			child.kill();
			await socket.close();
			await rm(home, { recursive: true, force: true });
		}
	}, 30_000);
});
