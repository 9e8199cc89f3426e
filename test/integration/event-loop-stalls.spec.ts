/**
 * No input within the limits freezes the process: while one account sends the longest message allowed as one run of
 * random CJK (js-tiktoken's merge was quadratic in it: 4.4 s), or talks to a character whose system prompt is 8,000
 * such characters (16 s on every reply), the gateway's /health keeps answering. The broker runs in this process, so
 * a freeze delays every answer; the probe counts each from when it was due (test/support/stalls.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { probeHealth, randomCjk } from "../support/stalls.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { gatewayOrigin } from "../support/gateway.js";

/**
 * Generous: counting the 8,000 characters takes ~40 ms of CPU, but tests share two cores with each other; before the
 * fix these attacks froze the process for 4 s and for more than 30 s.
 */
const MAX_HEALTH_MS = 500;

let characterId = "";

let broker: ServiceBroker;
let wsBase = "";
let healthUrl = "";

async function login(): Promise<{ id: string; username: string; token: string }> {
	const username = uniqueName("stall");
	const user = await broker.call<{ id: string }, object>("auth.register", {
		username,
		name: "Staller",
		password: "password123",
	});
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { id: user.id, username, token: access_token };
}

/** Sends `content` on a new socket to `characterId` and waits for its reply, probing /health all along. */
async function replyUnderProbe(characterId: string, token: string, content: string) {
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${encodeURIComponent(token)}`);
	await socket.next((f) => f.type === "connection");
	const probe = probeHealth(healthUrl);
	try {
		socket.send({ content });
		const echo = await socket.next((f) => f.type === "echo" || f.type === "error");
		expect(echo.type).toBe("echo");
		const reply = await socket.next(
			(f: Frame) => (f.type === "ai" && f.reply_to === echo.id) || f.type === "error",
			20_000,
		);
		expect(reply).toMatchObject({ type: "ai", content: expect.any(String) });
		return await probe.stop();
	} finally {
		await probe.stop().catch(() => undefined);
		await socket.close();
	}
}

beforeAll(async () => {
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("ns") }), { logger: false });
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	healthUrl = `${gatewayOrigin(broker)}/health`;
	// A process's first reply builds the tokenizer's tables (~0.2 s, once) and warms everything else: not an attack.
	characterId = await createTestCharacter(broker);
	await replyUnderProbe(characterId, (await login()).token, "Hello there.");
});

afterAll(() => broker?.stop());

describe("event-loop stalls", () => {
	it("should keep /health answering while a 4,000-character random-CJK message is answered", async () => {
		const { token } = await login();
		const latency = await replyUnderProbe(characterId, token, randomCjk(4000, 11));
		expect(latency.samples).toBeGreaterThan(0);
		expect(latency.health_max_ms).toBeLessThan(MAX_HEALTH_MS);
	});

	it("should keep /health answering while a character with an 8,000-character run in its system prompt answers", async () => {
		const owner = await login();
		const character = await broker.call<{ id: string }, object>(
			"characters.create",
			{ name: `Run-on ${uniqueName("c")}`, system_prompt: randomCjk(8000, 12), greeting: "Hello." },
			{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
		);
		const latency = await replyUnderProbe(character.id, owner.token, "Hello, who are you?");
		expect(latency.health_max_ms).toBeLessThan(MAX_HEALTH_MS);
	});
});
