import { describe, expect, it } from "vitest";
import { ChatClient, SocketHub, type SocketLike } from "../../src/adapters/socket-hub.js";
import type { ServerFrame } from "../../src/domain/chat-wire.js";

function fakeSocket(): SocketLike & { sent: string[] } {
	const sent: string[] = [];
	return { readyState: 1, sent, send: (data) => void sent.push(data), ping() {}, terminate() {}, close() {} };
}

const echo = (id: string): ServerFrame => ({ type: "echo", role: "user", id, content: id, timestamp: new Date(0).toISOString() });

describe("SocketHub.catchUp", () => {
	it("should send each socket what was stored after the last message it was shown, minus what it has seen", async () => {
		const hub = new SocketHub();
		const socket = fakeSocket();
		// Resumed after m1; the replay showed m2, then m3 was stored while no delivery could find this node.
		const client = new ChatClient(socket, { userId: "u", username: "u", sessionId: "s", characterId: "c" }, "m1");
		hub.add(client);
		const asked: [string, string | undefined][] = [];
		client.finishReplay([echo("m2")]);

		await hub.catchUp(async (sessionId, afterId) => {
			asked.push([sessionId, afterId]);
			return [echo("m2"), echo("m3")];
		});

		expect(asked).toEqual([["s", "m2"]]);
		expect(socket.sent.map((text) => JSON.parse(text).id)).toEqual(["m2", "m3"]);
		expect(client.lastShownId).toBe("m3");
	});

	it("should start from the message a resumed socket came back after when it has been shown nothing since", async () => {
		const hub = new SocketHub();
		const client = new ChatClient(fakeSocket(), { userId: "u", username: "u", sessionId: "s", characterId: "c" }, "m1");
		hub.add(client);
		client.finishReplay([]);
		const asked: (string | undefined)[] = [];
		await hub.catchUp(async (_sessionId, afterId) => {
			asked.push(afterId);
			return [];
		});
		expect(asked).toEqual(["m1"]);
	});
});
