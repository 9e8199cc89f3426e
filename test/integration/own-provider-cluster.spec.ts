/**
 * Users' own provider keys in a cluster (issue 17): the key is stored by the own-provider service on the ai-consumer's
 * node (the only one given SECRETS_KEY), and its broadcast reaches the other nodes' caches at once: the ai-consumer
 * drops the operator's model it had cached for the user, and a chat-ws node that had already held the user to the
 * token quota lets them on, since their own key's tokens cost the server nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createTestCharacter, signUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const namespace = clusterNamespace("ownkey");
const KEY = "sk-cluster-own-key-7777";
let own: FakeServer;
let nodes: ServiceBroker[] = [];
let core: ServiceBroker;
let chat: ServiceBroker;
let characterId = "";

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

beforeAll(async () => {
	own = await startFakeOpenAI({ apiKey: KEY });
	// One reply spends the quota: the next message is refused, unless the user pays with their own key.
	const limits = { CHAT_USER_TOKENS_PER_DAY: "1" };
	core = clusterNode(namespace, "auth,characters,sessions", limits);
	chat = clusterNode(namespace, "chat-ws", limits);
	nodes = [
		core,
		chat,
		clusterNode(namespace, "ai-consumer,own-provider", { ...limits, ALLOW_PRIVATE_PROVIDER_URLS: "true" }),
		clusterNode(namespace, "dispatcher,story", limits),
	];
	await Promise.all(nodes.map((b) => b.start()));
	await awaitService(nodes, "own-provider", 1);
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await Promise.all(nodes.map((b) => b.stop()));
	await own?.stop();
	await removeNamespace(namespace);
});

describe("own provider keys across nodes", () => {
	it("should let a user over the quota chat on with their own key, set on another node, at once", async () => {
		const user = await signUp(core, "own");
		const port = chat.getLocalService("chat-ws").settings.port as number;
		const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${user.token}`);
		await socket.next((f) => f.type === "connection");
		const first = await socket.say("on the server's model");
		await socket.next((f) => isReply(f) && f.reply_to === first.id);
		let refused: Frame | undefined;
		// The reply's tokens land in Redis just before it is delivered.
		for (let i = 0; i < 10 && refused?.code !== "quota_exceeded"; i++) refused = await socket.say(`again ${i}`);
		expect(refused).toMatchObject({ type: "error", code: "quota_exceeded" });

		// Called from the core node: the action runs on the ai-consumer's.
		const view = await core.call(
			"own-provider.set",
			{ provider: "openai", api_key: KEY, base_url: `${own.url}/v1`, model: "cluster-llm" },
			{ meta: user.meta },
		);
		expect(view).toMatchObject({ provider: "openai", key_last4: "7777" });
		const mine = await socket.say("on my own key");
		expect(mine).toMatchObject({ type: "echo" });
		await socket.next((f) => isReply(f) && f.reply_to === mine.id, 20_000);
		const request = own.requests.at(-1)!;
		expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
		expect(request.body.model).toBe("cluster-llm");
		await socket.close();
	});

	it("should refuse to start an ai-consumer or own-provider node without SECRETS_KEY", () => {
		expect(() => clusterNode(namespace, "own-provider", { SECRETS_KEY: "" })).toThrow(/SECRETS_KEY/);
		expect(() => clusterNode(namespace, "ai-consumer", { SECRETS_KEY: "" })).toThrow(/SECRETS_KEY/);
	});
});
