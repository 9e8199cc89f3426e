/**
 * WebSocket tickets in a cluster (issue 19): a ticket issued through a gateway is kept in Redis, so any chat-ws node
 * takes it (whichever auth node redeems it), and only once over all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { Redis } from "ioredis";
import { createTestCharacter, signUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, REDIS_URL, removeNamespace } from "../support/cluster.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket } from "../support/ws-client.js";

const namespace = clusterNamespace("tickets");
let core: ServiceBroker;
let auth2: ServiceBroker;
let gw: ServiceBroker;
let ws1: ServiceBroker;
let ws2: ServiceBroker;
let redis: Redis;
let characterId = "";
const { call } = restClient(() => gatewayOrigin(gw));

const chatUrl = (node: ServiceBroker, ticket: string) =>
	`ws://127.0.0.1:${node.getLocalService("chat-ws").settings.port as number}/ws/${characterId}?ticket=${ticket}`;

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions,api-keys");
	auth2 = clusterNode(namespace, "auth");
	gw = clusterNode(namespace, "api");
	ws1 = clusterNode(namespace, "chat-ws");
	ws2 = clusterNode(namespace, "chat-ws");
	await Promise.all([core, auth2, gw, ws1, ws2].map((b) => b.start()));
	await awaitService([gw, ws1, ws2], "auth", 2);
	await awaitService([gw, core], "chat-ws", 2);
	redis = new Redis(REDIS_URL);
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	redis?.disconnect();
	await Promise.all([core, auth2, gw, ws1, ws2].map((b) => b?.stop()));
	await removeNamespace(namespace);
});

describe("WebSocket tickets across nodes", () => {
	it("should open a socket on any chat-ws node, once over all of them", async () => {
		const me = await signUp(core, "tickets");
		for (const [first, second] of [
			[ws1, ws2],
			[ws2, ws1],
		]) {
			const issued = await call("POST", "/ws-ticket", { token: me.token });
			expect(issued.status).toBe(200);
			const { ticket } = issued.body as { ticket: string };
			expect(await redis.pttl(`${namespace}:ws-ticket:${ticket}`)).toBeGreaterThan(25_000);

			const socket = await ChatSocket.open(chatUrl(first, ticket));
			expect(await socket.next((f) => f.type === "connection")).toMatchObject({ username: me.username });
			await expect(ChatSocket.open(chatUrl(second, ticket))).rejects.toMatchObject({ status: 401 });
			expect(await redis.exists(`${namespace}:ws-ticket:${ticket}`)).toBe(0);
			await socket.close();
		}
	});
});
