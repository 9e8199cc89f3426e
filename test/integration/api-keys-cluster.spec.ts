/**
 * An API key revoked in a cluster (issue 18): revoked through one gateway node, it is refused at once through another
 * and by a chat-ws node's handshake (auth.validate, on the accounts node, reads the database uncached), and the socket
 * opened with it on the chat-ws node closes (4001).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createTestCharacter, signUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket } from "../support/ws-client.js";

const namespace = clusterNamespace("keys");
let core: ServiceBroker;
let gw1: ServiceBroker;
let gw2: ServiceBroker;
let ws: ServiceBroker;
let characterId = "";
const via1 = restClient(() => gatewayOrigin(gw1));
const via2 = restClient(() => gatewayOrigin(gw2));

const chatUrl = (token: string) =>
	`ws://127.0.0.1:${ws.getLocalService("chat-ws").settings.port as number}/ws/${characterId}?token=${encodeURIComponent(token)}`;

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions,api-keys");
	gw1 = clusterNode(namespace, "api");
	gw2 = clusterNode(namespace, "api");
	ws = clusterNode(namespace, "chat-ws");
	await Promise.all([core, gw1, gw2, ws].map((b) => b.start()));
	await awaitService([gw1, gw2, ws], "api-keys", 1);
	await awaitService([gw1, gw2, core], "chat-ws", 1);
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await Promise.all([core, gw1, gw2, ws].map((b) => b?.stop()));
	await removeNamespace(namespace);
});

describe("an API key revoked across nodes", () => {
	it("should be refused at once through another gateway and a chat-ws node, and its socket there closed", async () => {
		const me = await signUp(core, "keys");
		const made = await via1.call("POST", "/me/api-keys", { token: me.token, json: { name: "Bot" } });
		expect(made.status).toBe(201);
		const key = made.body.key as string;
		expect((await via2.call("GET", "/me", { token: key })).status).toBe(200);
		const socket = await ChatSocket.open(chatUrl(key));
		await socket.next((f) => f.type === "connection");

		expect((await via1.call("DELETE", `/me/api-keys/${made.body.id}`, { token: me.token })).status).toBe(204);
		expect((await via2.call("GET", "/me", { token: key })).status).toBe(401);
		expect(await socket.closedWithin()).toBe(4001);
		await expect(ChatSocket.open(chatUrl(key))).rejects.toMatchObject({ status: 401 });
	});
});
