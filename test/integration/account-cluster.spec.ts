/**
 * Tokens taken back in a cluster (issue 16): a logout or a password change on the node running auth holds at once on
 * every node (auth.validate, asked from another node, refuses the token) and closes the tokens' sockets held by other
 * chat-ws nodes with 4001, while the sockets of tokens still good stay open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { verifyAccessToken } from "../../src/domain/access-tokens.js";
import { createTestCharacter, signUp, TEST_JWT_SECRET } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { ChatSocket } from "../support/ws-client.js";

const namespace = clusterNamespace("acct");
let core: ServiceBroker;
let ws1: ServiceBroker;
let ws2: ServiceBroker;
let characterId = "";

const wsUrl = (b: ServiceBroker) => `ws://127.0.0.1:${b.getLocalService("chat-ws").settings.port as number}`;

async function open(b: ServiceBroker, token: string): Promise<ChatSocket> {
	const socket = await ChatSocket.open(`${wsUrl(b)}/ws/${characterId}?token=${encodeURIComponent(token)}`);
	await socket.next((f) => f.type === "connection");
	return socket;
}

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions");
	ws1 = clusterNode(namespace, "chat-ws");
	ws2 = clusterNode(namespace, "chat-ws");
	await Promise.all([core, ws1, ws2].map((b) => b.start()));
	await awaitService([core, ws1, ws2], "chat-ws", 2);
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await Promise.all([core, ws1, ws2].map((b) => b?.stop()));
	await removeNamespace(namespace);
});

describe("tokens taken back across nodes", () => {
	it("should refuse a logged-out token everywhere at once and close its sockets on the other nodes", async () => {
		const me = await signUp(core, "acct");
		const { access_token: second } = await core.call<{ access_token: string }, object>("auth.login", {
			username: me.username,
			password: "password123",
		});
		const first = await open(ws1, me.token);
		const other = await open(ws2, second);
		const meta = (token: string) => ({
			user: { ...me.meta.user, token_id: verifyAccessToken(token, TEST_JWT_SECRET).jti },
		});

		await core.call("auth.logout", {}, { meta: meta(me.token) });
		await expect(ws2.call("auth.validate", { token: me.token })).rejects.toMatchObject({ type: "TOKEN_REVOKED" });
		expect(await first.closedWithin()).toBe(4001);
		await expect(ws1.call("auth.validate", { token: second })).resolves.toMatchObject({ username: me.username });
		expect(other.closeCode).toBeUndefined();

		const changed = await core.call<{ access_token: string }, object>(
			"auth.updateAccount",
			{ current_password: "password123", new_password: "a brand new password" },
			{ meta: meta(second) },
		);
		expect(await other.closedWithin()).toBe(4001);
		await expect(ws1.call("auth.validate", { token: second })).rejects.toMatchObject({ type: "TOKEN_REVOKED" });
		await expect(ws2.call("auth.validate", { token: changed.access_token })).resolves.toMatchObject({
			username: me.username,
		});
		await (await open(ws2, changed.access_token)).close();
	});
});
