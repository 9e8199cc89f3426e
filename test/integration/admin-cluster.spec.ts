/**
 * An admin's changes in a cluster (issue 17): a user's own message limit set on the node running the admin service
 * holds at once on a chat-ws node that had already cached the default for that user (the broadcast drops it; the
 * cache alone would keep the default for its TTL), clearing it holds at once too, and disabling a user closes their
 * sockets on every chat-ws node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createTestCharacter, signUp, type SignedUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { ChatSocket } from "../support/ws-client.js";

const namespace = clusterNamespace("admin");
/** Who the admin actions are called as (the middleware reads the role from meta.user, as the gateway sets it). */
const ADMIN = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };
let core: ServiceBroker;
let ws1: ServiceBroker;
let ws2: ServiceBroker;
let characterId = "";

async function open(b: ServiceBroker, token: string): Promise<ChatSocket> {
	const port = b.getLocalService("chat-ws").settings.port as number;
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${encodeURIComponent(token)}`);
	await socket.next((f) => f.type === "connection");
	return socket;
}

const update = (user: SignedUp, changes: object) =>
	core.call("admin.updateUser", { username: user.username, ...changes }, { meta: ADMIN });

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions,admin", { CHAT_USER_MESSAGES_PER_MINUTE: "20" });
	ws1 = clusterNode(namespace, "chat-ws", { CHAT_USER_MESSAGES_PER_MINUTE: "20" });
	ws2 = clusterNode(namespace, "chat-ws", { CHAT_USER_MESSAGES_PER_MINUTE: "20" });
	await Promise.all([core, ws1, ws2].map((b) => b.start()));
	await awaitService([core, ws1, ws2], "chat-ws", 2);
	characterId = await createTestCharacter(core);
}, 60_000);

afterAll(async () => {
	await Promise.all([core, ws1, ws2].map((b) => b?.stop()));
	await removeNamespace(namespace);
});

describe("an admin's changes across nodes", () => {
	it("should hold a user to a limit set on another node at once, and to the default once it is cleared", async () => {
		const user = await signUp(core, "lim");
		const socket = await open(ws2, user.token);
		expect(await socket.say("one")).toMatchObject({ type: "echo" });

		await update(user, { messages_per_minute: 1 });
		expect(await socket.say("two")).toMatchObject({ type: "error", code: "rate_limited" });
		// The same count on the other chat-ws node (Redis), and the same limit.
		const other = await open(ws1, user.token);
		expect(await other.say("three")).toMatchObject({ type: "error", code: "rate_limited" });

		await update(user, { messages_per_minute: null });
		expect(await socket.say("four")).toMatchObject({ type: "echo" });
		await Promise.all([socket.close(), other.close()]);
	});

	it("should close a disabled user's sockets on every chat-ws node", async () => {
		const user = await signUp(core, "dis");
		const [first, second] = await Promise.all([open(ws1, user.token), open(ws2, user.token)]);
		await update(user, { disabled: true });
		expect(await first.closedWithin()).toBe(4003);
		expect(await second.closedWithin()).toBe(4003);
		await expect(ws1.call("auth.validate", { token: user.token })).rejects.toMatchObject({ type: "USER_DISABLED" });
	});
});
