/**
 * SIGTERM loses nothing and repeats nothing, on this machine's Redis, RabbitMQ and PostgreSQL. The processes that
 * get the signal are real cameo processes (an ai-consumer mid-reply, a chat-ws holding a socket); accounts, the
 * dispatcher and a second chat-ws run as in-process brokers. The outbox is left at its 90 s default, so every reply
 * here comes from the pipeline itself, not from a re-publish.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, uniqueName } from "../support/config.js";
import { ClusterProcess, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { killStarted, within } from "../support/process.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const namespace = clusterNamespace("gs");

interface LogLine {
	ts: string;
	msg: string;
	message_id?: string;
}

let core: ServiceBroker;
let dispatcher: ServiceBroker;
let chatWs: ServiceBroker;
let characterId = "";

/** A cameo process running `services` in the test cluster, once its /readyz answers 200. */
async function startChild(services: string, extra: Record<string, string> = {}): Promise<ClusterProcess> {
	const child = await ClusterProcess.create(namespace, services, {
		LOGLEVEL: "debug",
		CHAT_MESSAGES_PER_MINUTE: "1000",
		...extra,
	});
	await child.start();
	return child;
}

function logsOf(child: ClusterProcess): LogLine[] {
	return child
		.proc!.output()
		.split("\n")
		.filter((line) => line.startsWith("{"))
		.map((line) => JSON.parse(line) as LogLine);
}

/** A real ai-consumer whose offline model takes 50 ms a word: a reply streams for a few seconds. */
const startConsumer = () => startChild("ai-consumer", { OFFLINE_MODEL_DELAY_MS: "50" });

/** SIGTERM, then the exit code; rejects if the process is still running after `ms`. */
function terminate(child: ClusterProcess, ms = 30_000): Promise<number | null> {
	const proc = child.proc!;
	proc.child.kill("SIGTERM");
	return within(proc.exited, ms, "the process to exit after SIGTERM");
}

async function login(): Promise<string> {
	const username = uniqueName("gs");
	await core.call("auth.register", { username, name: "Shutdown Tester", password: "password123" });
	return (await core.call<{ access_token: string }, object>("auth.login", { username, password: "password123" }))
		.access_token;
}

async function open(port: number, token: string, resume = "") {
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${token}${resume}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string };
}

const inProcessWsPort = () => chatWs.getLocalService("chat-ws").settings.port as number;
const replyTo = (messageId: string) => (f: Frame) => f.type === "ai" && f.reply_to === messageId;

async function storedReplies(messageId: string): Promise<{ id: string; content: string; stopped: boolean }[]> {
	const [rows] = await (core.getLocalService("auth") as unknown as DbThis).db.sequelize.query(
		`SELECT id, content, stopped FROM messages WHERE reply_to = $1 AND role = 'ai'`,
		{ bind: [messageId] },
	);
	return rows as { id: string; content: string; stopped: boolean }[];
}

/** Time for a duplicate to show up, if one were coming. */
const settle = () => new Promise((r) => setTimeout(r, 1000));

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions");
	dispatcher = clusterNode(namespace, "dispatcher");
	chatWs = clusterNode(namespace, "chat-ws");
	await Promise.all([core, dispatcher, chatWs].map((b) => b.start()));
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await killStarted();
	await Promise.all([chatWs, dispatcher, core].map((b) => b?.stop().catch(() => undefined)));
	await removeNamespace(namespace);
}, 60_000);

describe("graceful shutdown", () => {
	it("should let a SIGTERMed ai-consumer finish the reply it is streaming, stored and shown exactly once", async () => {
		const consumer = await startConsumer();
		const token = await login();
		const { socket, sessionId } = await open(inProcessWsPort(), token);
		socket.send({ content: "Tell me everything about the road ahead" });
		const echo = await socket.next((f) => f.type === "echo");
		const messageId = echo.id as string;
		await socket.next((f) => f.type === "ai.delta" && f.reply_to === messageId, 15_000);

		const exited = terminate(consumer);
		// A fresh consumer, as a rolling update would start; it must not answer the same message again.
		const successor = startConsumer();
		const reply = await socket.next(replyTo(messageId), 20_000);
		expect(await exited).toBe(0);
		await successor;

		// The terminated process published the reply itself, after it was told to stop.
		const logs = logsOf(consumer);
		const stopAt = logs.find((l) => l.msg === "SIGTERM: stopping")?.ts;
		const publishedAt = logs.find((l) => l.msg === "Reply published" && l.message_id === messageId)?.ts;
		expect(stopAt).toBeDefined();
		expect(publishedAt).toBeDefined();
		expect(publishedAt! > stopAt!).toBe(true);

		await settle();
		const stored = await storedReplies(messageId);
		expect(stored).toEqual([{ id: reply.id, content: reply.content, stopped: false }]);
		expect(socket.frames.filter(replyTo(messageId))).toHaveLength(1);
		await socket.close();

		const back = await open(inProcessWsPort(), token, `&session_id=${sessionId}&after=${messageId}`);
		await back.socket.next(replyTo(messageId));
		await settle();
		expect(back.socket.frames.filter(replyTo(messageId))).toEqual([
			expect.objectContaining({ id: reply.id, content: reply.content }),
		]);
		await back.socket.close();
	}, 90_000);

	it("should close a SIGTERMed chat-ws node's sockets with 1012, and the client resumes on another node with the reply once", async () => {
		const node = await startChild("chat-ws");
		const token = await login();
		const { socket, sessionId } = await open(node.wsPort!, token);
		socket.send({ content: "Are you still there?" });
		const echo = await socket.next((f) => f.type === "echo");
		const messageId = echo.id as string;
		await socket.next((f) => f.type === "ai.delta" && f.reply_to === messageId, 15_000);

		const exited = terminate(node);
		expect(await within(socket.closed, 10_000, "the close frame")).toBe(1012);
		// Resume from the last message this socket showed (the reply too, had it come before the close).
		const seen = socket.frames.filter((f) => f.type === "echo" || f.type === "ai").at(-1)!;
		const back = await open(inProcessWsPort(), token, `&session_id=${sessionId}&after=${seen.id}`);
		const shown = () => [...socket.frames, ...back.socket.frames].filter(replyTo(messageId));
		if (shown().length === 0) await back.socket.next(replyTo(messageId), 20_000);
		await settle();
		expect(shown()).toHaveLength(1);
		expect(await storedReplies(messageId)).toEqual([expect.objectContaining({ id: shown()[0].id, stopped: false })]);
		expect(await exited).toBe(0);
		await back.socket.close();
	}, 90_000);
});
