/**
 * The /v1 API in a cluster (issue 18): the gateway and the completions service on different nodes (Redis
 * transporter). A streamed completion reaches the official `openai` client chunk by chunk across them, and a client
 * that aborts mid-stream ends the provider's request on the completions node: destroying the gateway's end of a
 * Moleculer stream does not reach the node that writes it, the `completion.abandoned` broadcast does. In the
 * stored-session mode, a message posted on the completions node reaches the user's socket on a chat-ws node of its own,
 * and so does the reply the ai-consumer and dispatcher nodes make of it, each once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ServiceBroker } from "moleculer";
import { signUp, uniqueName, type SignedUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { readThenAbort } from "../support/openai-client.js";
import { ChatSocket } from "../support/ws-client.js";

const namespace = clusterNamespace("v1");
const MODEL_ENV = {
	LLM_PROVIDER: "openai",
	OPENAI_MODEL: "llama3",
	OPENAI_API_KEY: "sk-upstream-0123456789",
	LLM_MAX_RETRIES: "0",
	CHAT_USER_MESSAGES_PER_MINUTE: "1000",
};
let fake: FakeServer;
let gateway: ServiceBroker;
let core: ServiceBroker;
let completions: ServiceBroker;
/** The chat's own nodes, for the stored-session mode: a socket's, the replies' and their storage's. */
let chatWs: ServiceBroker;
let chat: ServiceBroker[] = [];
let user: SignedUp;
let slug = "";
let characterId = "";

const sent = () => fake.requests.filter((r) => r.path === "/v1/chat/completions");

beforeAll(async () => {
	fake = await startFakeOpenAI({ apiKey: MODEL_ENV.OPENAI_API_KEY });
	const env = { ...MODEL_ENV, OPENAI_BASE_URL: `${fake.url}/v1` };
	gateway = clusterNode(namespace, "api", env);
	core = clusterNode(namespace, "auth,characters,sessions,personas,lorebooks", env);
	completions = clusterNode(namespace, "completions", env);
	chatWs = clusterNode(namespace, "chat-ws", env);
	chat = [chatWs, clusterNode(namespace, "ai-consumer", env), clusterNode(namespace, "dispatcher,story,memory", env)];
	const all = [gateway, core, completions, ...chat];
	await Promise.all(all.map((b) => b.start()));
	await awaitService(all, "completions", 1);
	await awaitService(all, "auth", 1);
	await awaitService(all, "ai-consumer", 1);
	user = await signUp(core, "v1cl", "Clio");
	({ slug, id: characterId } = await core.call<{ slug: string; id: string }, object>(
		"characters.create",
		{ name: `Ferryman ${uniqueName("f")}`, system_prompt: "You are a ferryman.", is_public: false },
		{ meta: user.meta },
	));
}, 60_000);

afterAll(async () => {
	await Promise.all([gateway, core, completions, ...chat].map((b) => b?.stop()));
	await fake?.stop();
	await removeNamespace(namespace);
});

describe("/v1 across nodes", () => {
	const client = () => new OpenAI({ apiKey: user.token, baseURL: `${gatewayOrigin(gateway)}/v1`, maxRetries: 0 });

	it("should stream a completion generated on another node", async () => {
		fake.reset();
		fake.script([{ text: ["Across ", "the ", "river."], usage: { input: 20, output: 3 } }]);
		const stream = await client().chat.completions.create({
			model: slug,
			messages: [{ role: "user", content: "Take me across" }],
			stream: true,
			stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const chunk of stream) chunks.push(chunk);
		expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Across the river.");
		expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 20, completion_tokens: 3, total_tokens: 23 });
		expect(sent()[0].body.messages[0].content).toContain("You are a ferryman.");
		// Counted as a reply's tokens are, on the node that made it.
		const counted = (type: string) =>
			completions.metrics.getMetric("cameo_llm_tokens_total")?.get({ provider: "openai", model: "llama3", type })
				?.value;
		expect([counted("input"), counted("output")]).toEqual([20, 3]);

		// On the wire: server-sent events, as the gateway names them whatever node wrote the stream.
		fake.script([{ text: ["Mind ", "the oars."] }]);
		const res = await fetch(`${gatewayOrigin(gateway)}/v1/chat/completions`, {
			method: "POST",
			headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ model: slug, stream: true, messages: [{ role: "user", content: "Careful" }] }),
		});
		expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
		expect(res.headers.get("cache-control")).toBe("no-cache");
		const body = await res.text();
		expect(body.startsWith("data: {")).toBe(true);
		expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
	});

	it("should end the provider's request on the completions node when the client aborts", async () => {
		fake.reset();
		fake.script([{ text: Array.from({ length: 60 }, (_, i) => `stroke${i} `), delayMs: 100 }]);
		const controller = new AbortController();
		const stream = await client().chat.completions.create(
			{ model: slug, messages: [{ role: "user", content: "Row slowly" }], stream: true },
			{ signal: controller.signal },
		);
		const words = await readThenAbort(stream, controller, 3);
		expect(words.length).toBeLessThan(10);
		await eventually(() => sent()[0]?.endedBy === "client", 5000, "the provider's request to end");
	});

	it("should store a session_id message on one node and reach the user's socket on another, once", async () => {
		fake.reset();
		fake.script([{ text: ["Fare ", "paid."], usage: { input: 30, output: 2 } }]);
		const port = chatWs.getLocalService("chat-ws").settings.port as number;
		const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${user.token}`);
		const sessionId = (await socket.next((f) => f.type === "connection")).session_id as string;
		const body = {
			model: slug,
			messages: [{ role: "user" as const, content: "Here is my coin" }],
			session_id: sessionId,
		};
		const completion = await client().chat.completions.create(body);
		expect(completion.choices[0].message.content).toBe("Fare paid.");
		const echo = await socket.next((f) => f.type === "echo" && f.content === "Here is my coin", 10_000);
		const reply = await socket.next((f) => f.type === "ai" && f.content === "Fare paid.", 10_000);
		await new Promise((r) => setTimeout(r, 500));
		expect(socket.frames.filter((f) => f.id === echo.id && f.type === "echo")).toHaveLength(1);
		expect(socket.frames.filter((f) => f.id === reply.id && f.type === "ai")).toHaveLength(1);
		await socket.close();
	});
});
