/**
 * Per-user limits over real sockets and HTTP: messages per minute over all of a user's sockets (embedded, and across
 * two chat-ws nodes on Redis), the daily token quota, and the login throttle per username and client, per username
 * and per IP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const PASSWORD = "password123";

async function register(broker: ServiceBroker): Promise<string> {
	const username = uniqueName("q");
	await broker.call("auth.register", { username, name: "Quota", password: PASSWORD });
	return username;
}

async function token(broker: ServiceBroker): Promise<string> {
	const username = await register(broker);
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: PASSWORD,
	});
	return access_token;
}

async function openChat(chatWs: ServiceBroker, accessToken: string, characterId: string): Promise<ChatSocket> {
	const port = chatWs.getLocalService("chat-ws").settings.port as number;
	const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${accessToken}`);
	await socket.next((f) => f.type === "connection");
	return socket;
}

const echoOf = (content: string) => (f: Frame) => f.type === "echo" && f.content === content;

/** Two messages on one socket and one on another of the same user, over a per-user limit of 2. */
async function expectUserLimitAcross(first: ChatSocket, second: ChatSocket) {
	first.send({ content: "one" });
	await first.next(echoOf("one"));
	second.send({ content: "two" });
	await second.next(echoOf("two"));
	first.send({ content: "three" });
	expect(await first.next((f) => f.type === "error")).toMatchObject({
		code: "rate_limited",
		retry_after: expect.any(Number),
	});
	expect(first.frames.some(echoOf("three"))).toBe(false);
}

describe("per-user limits, embedded", () => {
	let broker: ServiceBroker;
	let characterId = "";
	let loginUrl = "";
	let ip = 0;

	beforeAll(async () => {
		broker = createBroker(
			testConfig({
				NAMESPACE: uniqueName("quota"),
				SERVICES: "api,auth,characters,chat-ws",
				CHAT_USER_MESSAGES_PER_MINUTE: "2",
				TRUST_PROXY: "true",
				AUTH_RATE_LIMIT: "5",
				AUTH_LOGIN_FAILURES_PER_USER: "3",
				AUTH_LOGIN_FAILURES_PER_USER_TOTAL: "6",
			}),
			{ logger: false },
		);
		await broker.start();
		characterId = await createTestCharacter(broker);
		loginUrl = `${gatewayOrigin(broker)}/login`;
	});

	afterAll(() => broker?.stop());

	/** A login through the gateway, from a new client IP unless one is given. */
	async function httpLogin(username: string, password: string, from = `198.51.100.${++ip}`) {
		const res = await fetch(loginUrl, {
			method: "POST",
			headers: { "Content-Type": "application/json", "X-Forwarded-For": from },
			body: JSON.stringify({ username, password }),
		});
		return {
			status: res.status,
			retryAfter: Number(res.headers.get("retry-after")),
			body: (await res.json()) as { code: string; detail: string },
		};
	}

	it("should limit a user's messages over all of their sockets", async () => {
		const accessToken = await token(broker);
		const [first, second] = await Promise.all([
			openChat(broker, accessToken, characterId),
			openChat(broker, accessToken, characterId),
		]);
		await expectUserLimitAcross(first, second);
		// Another user has a budget of their own.
		const other = await openChat(broker, await token(broker), characterId);
		other.send({ content: "mine" });
		await other.next(echoOf("mine"));
		await Promise.all([first.close(), second.close(), other.close()]);
	});

	it("should answer 429 to a client after N failed logins for a username, whether it exists or not", async () => {
		const known = await register(broker);
		const ghost = uniqueName("ghost");
		for (const username of [known, ghost]) {
			for (let i = 0; i < 3; i++)
				expect(
					(await httpLogin(username, "wrong-password", `198.51.100.${username === known ? 200 : 201}`)).status,
				).toBe(401);
		}
		const rightPassword = await httpLogin(known, PASSWORD, "198.51.100.200");
		expect(rightPassword).toMatchObject({ status: 429, body: { code: "RATE_LIMITED" } });
		expect(rightPassword.retryAfter).toBeGreaterThan(0);
		expect(rightPassword.retryAfter).toBeLessThanOrEqual(15 * 60);
		expect(await httpLogin(ghost, PASSWORD, "198.51.100.201")).toMatchObject({
			status: 429,
			body: { code: "RATE_LIMITED", detail: rightPassword.body.detail },
		});
	});

	it("should let the owner in from another client while a stranger is locked out", async () => {
		const username = await register(broker);
		// A forged leftmost X-Forwarded-For entry changes nothing: the proxy's entry (the rightmost) is the client.
		for (let i = 0; i < 3; i++)
			expect((await httpLogin(username, "wrong-password", `10.9.9.${i}, 203.0.113.50`)).status).toBe(401);
		expect((await httpLogin(username, PASSWORD, "203.0.113.50")).status).toBe(429);
		expect((await httpLogin(username, PASSWORD, "203.0.113.51")).status).toBe(200);
		expect((await httpLogin(username, PASSWORD, "10.9.9.9, 203.0.113.50")).status).toBe(429);
	});

	it("should answer 429 to everyone after the username's total of failures from many clients", async () => {
		const username = await register(broker);
		// AUTH_LOGIN_FAILURES_PER_USER_TOTAL is 6: two each from three clients; a refused client spends none of it.
		for (const client of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
			for (let i = 0; i < 2; i++) expect((await httpLogin(username, "wrong-password", client)).status).toBe(401);
		}
		expect((await httpLogin(username, PASSWORD, "192.0.2.4")).status).toBe(429);
	});

	it("should start a client's count for a username again after a successful login", async () => {
		const username = await register(broker);
		const from = "198.51.100.202";
		for (let i = 0; i < 2; i++) expect((await httpLogin(username, "wrong-password", from)).status).toBe(401);
		expect((await httpLogin(username, PASSWORD, from)).status).toBe(200);
		// Without the reset the next attempt would be the fourth of three.
		for (let i = 0; i < 2; i++) expect((await httpLogin(username, "wrong-password", from)).status).toBe(401);
	});

	it("should answer 429 to one IP over the per-IP limit, whichever usernames it tries", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < 6; i++)
			statuses.push((await httpLogin(uniqueName("ip"), "wrong-password", "203.0.113.7")).status);
		expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
	});
});

describe("daily token quota, embedded", () => {
	let broker: ServiceBroker;
	let characterId = "";

	beforeAll(async () => {
		broker = createBroker(
			testConfig({
				NAMESPACE: uniqueName("tokens"),
				SERVICES: "auth,characters,chat-ws,ai-consumer,dispatcher",
				CHAT_USER_TOKENS_PER_DAY: "1",
			}),
			{ logger: false },
		);
		await broker.start();
		characterId = await createTestCharacter(broker);
	});

	afterAll(() => broker?.stop());

	it("should refuse a user's messages once their replies used the quota, and leave other users alone", async () => {
		const socket = await openChat(broker, await token(broker), characterId);
		socket.send({ content: "hello" });
		const echo = await socket.next(echoOf("hello"));
		await socket.next((f) => f.type === "ai" && f.reply_to === echo.id);
		socket.send({ content: "again" });
		const refused = await socket.next((f) => f.type === "error");
		expect(refused).toMatchObject({ code: "quota_exceeded", message: expect.any(String) });
		expect(refused.retry_after).toBeGreaterThan(0);
		expect(refused.retry_after).toBeLessThanOrEqual(24 * 3600);

		const other = await openChat(broker, await token(broker), characterId);
		other.send({ content: "hello" });
		await other.next(echoOf("hello"));
		await Promise.all([socket.close(), other.close()]);
	});
});

describe("per-user limits, cluster", () => {
	const namespace = clusterNamespace("quota");
	const node = (services: string) => clusterNode(namespace, services, { CHAT_USER_MESSAGES_PER_MINUTE: "2" });
	let core: ServiceBroker;
	let ws1: ServiceBroker;
	let ws2: ServiceBroker;
	let characterId = "";

	beforeAll(async () => {
		core = node("auth,characters,sessions");
		ws1 = node("chat-ws");
		ws2 = node("chat-ws");
		await Promise.all([core, ws1, ws2].map((b) => b.start()));
		characterId = await createTestCharacter(core);
	}, 60_000);

	afterAll(async () => {
		await Promise.all([core, ws1, ws2].map((b) => b?.stop().catch(() => undefined)));
		await removeNamespace(namespace);
	});

	it("should limit a user's messages across chat-ws nodes", async () => {
		const accessToken = await token(core);
		const [first, second] = await Promise.all([
			openChat(ws1, accessToken, characterId),
			openChat(ws2, accessToken, characterId),
		]);
		await expectUserLimitAcross(first, second);
		await Promise.all([first.close(), second.close()]);
	});
});
