/**
 * WebSocket tickets (issue 19), in embedded mode with the real gateway and sockets: POST /ws-ticket trades the
 * caller's token for a ticket that opens one socket (`?ticket=`) as that token would, once, within
 * WS_TICKET_TTL_SECONDS; a user disabled meanwhile is refused; a ticket of an API key or a login carries it, so
 * revoking it closes the socket; `?token=` still works.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { restClient } from "../support/rest-client.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ChatSocket } from "../support/ws-client.js";

/** Short, so the expiry test waits little; long enough for a handshake right after the POST. */
const TTL_SECONDS = 2;
const OPERATOR = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };

let broker: ServiceBroker;
let wsBase = "";
let characterId = "";
const { call, login } = restClient(() => gatewayOrigin(broker));

async function ticketOf(token: string): Promise<string> {
	const res = await call("POST", "/ws-ticket", { token });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	expect(res.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires_in: TTL_SECONDS });
	return res.body.ticket;
}

const chatUrl = (query: string) => `${wsBase}/ws/${characterId}?${query}`;

async function openChat(query: string): Promise<ChatSocket> {
	const socket = await ChatSocket.open(chatUrl(query));
	await socket.next((f) => f.type === "connection");
	return socket;
}

/** The refused handshake's status and code. */
const refusal = (query: string) =>
	ChatSocket.open(chatUrl(query)).then(
		async (socket) => {
			await socket.close();
			return [101, "accepted"];
		},
		(err: { status?: number; body?: string }) => [err.status, JSON.parse(err.body ?? "{}").code],
	);

beforeAll(async () => {
	const config = testConfig({ NAMESPACE: uniqueName("tickets"), WS_TICKET_TTL_SECONDS: String(TTL_SECONDS) });
	broker = createBroker(config, { logger: false });
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	characterId = await createTestCharacter(broker);
});

afterAll(() => broker?.stop());

describe("WebSocket tickets", () => {
	it("should open a socket as the ticket's user once, and refuse the same ticket the second time", async () => {
		const me = await login();
		const ticket = await ticketOf(me.token);
		const socket = await openChat(`ticket=${ticket}`);
		expect(socket.frames[0]).toMatchObject({ type: "connection", username: me.username });
		expect(await socket.say("hello")).toMatchObject({ type: "echo", content: "hello" });
		expect(await refusal(`ticket=${ticket}`)).toEqual([401, "UNAUTHORIZED"]);
		await socket.close();
	});

	it("should refuse a ticket past its time", async () => {
		const me = await login();
		const ticket = await ticketOf(me.token);
		await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 200));
		expect(await refusal(`ticket=${ticket}`)).toEqual([401, "UNAUTHORIZED"]);
	});

	it("should still take ?token=, and never a token as a ticket or a ticket as a token", async () => {
		const me = await login();
		const socket = await openChat(`token=${encodeURIComponent(me.token)}`);
		await socket.close();
		expect(await refusal(`ticket=${encodeURIComponent(me.token)}`)).toEqual([401, "UNAUTHORIZED"]);
		const ticket = await ticketOf(me.token);
		expect(await refusal(`token=${ticket}`)).toEqual([401, "UNAUTHORIZED"]);
		expect((await call("POST", "/ws-ticket", { token: ticket })).status).toBe(401);
		expect(await refusal(`ticket=${ticket}&token=${encodeURIComponent(me.token)}`)).toEqual([400, "VALIDATION_ERROR"]);
	});

	it("should refuse POST /ws-ticket without a token, as /openapi.json says", async () => {
		const res = await call("POST", "/ws-ticket");
		expect([res.status, res.body.code]).toEqual([401, "UNAUTHORIZED"]);
		const doc = (await call("GET", "/openapi.json")).body;
		const operation = doc.paths["/ws-ticket"].post;
		expect(operation).toMatchObject({ security: [{ bearerAuth: [] }], summary: expect.stringContaining("?ticket=") });
		expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["200", "401", "429"]));
	});

	it("should refuse the ticket of a user disabled after it was issued", async () => {
		const me = await login();
		const ticket = await ticketOf(me.token);
		await broker.call("admin.updateUser", { username: me.username, disabled: true }, { meta: OPERATOR });
		expect(await refusal(`ticket=${ticket}`)).toEqual([401, "USER_DISABLED"]);
		await broker.call("admin.updateUser", { username: me.username, disabled: false }, { meta: OPERATOR });
	});

	it("should give the socket its token's identity: revoking the API key or logging out closes it", async () => {
		const me = await login();
		const made = await call("POST", "/me/api-keys", { token: me.token, json: { name: "Bot" } });
		expect(made.status).toBe(201);
		const byKey = await openChat(`ticket=${await ticketOf(made.body.key)}`);
		const byLogin = await openChat(`ticket=${await ticketOf(me.token)}`);
		expect((await call("DELETE", `/me/api-keys/${made.body.id}`, { token: me.token })).status).toBe(204);
		expect(await byKey.closedWithin()).toBe(4001);
		expect(byLogin.closeCode).toBeUndefined();
		expect((await call("POST", "/logout", { token: me.token })).status).toBe(204);
		expect(await byLogin.closedWithin()).toBe(4001);
	});
});
