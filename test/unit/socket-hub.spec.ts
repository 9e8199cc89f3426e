import { describe, expect, it } from "vitest";
import {
	ChatClient,
	CloseCode,
	SocketHub,
	type ClientIdentity,
	type SocketLike,
} from "../../src/adapters/socket-hub.js";
import type { ServerFrame } from "../../src/domain/chat-wire.js";

type FakeSocket = SocketLike & {
	sent: string[];
	closed?: number;
	terminated: boolean;
	readyState: number;
	bufferedAmount: number;
};

function fakeSocket(): FakeSocket {
	const sent: string[] = [];
	const socket: FakeSocket = {
		readyState: 1,
		bufferedAmount: 0,
		sent,
		terminated: false,
		send: (data) => void sent.push(data),
		ping() {},
		terminate: () => void ((socket.terminated = true), (socket.readyState = 3)),
		close: (code) => void ((socket.closed = code), (socket.readyState = 2)),
	};
	return socket;
}

const identity: ClientIdentity = {
	userId: "u",
	username: "u",
	name: "U",
	role: "user",
	sessionId: "s",
	characterId: "c",
};
const limits = { maxQueuedFrames: 3, maxLimitBreaches: 2, maxBufferedBytes: 1000 };

const echo = (id: string): ServerFrame => ({
	type: "echo",
	role: "user",
	id,
	content: id,
	timestamp: new Date(0).toISOString(),
});

describe("SocketHub.catchUp", () => {
	it("should send each socket what was stored after the last message it was shown, minus what it has seen", async () => {
		const hub = new SocketHub();
		const socket = fakeSocket();
		// Resumed after m1; the replay showed m2, then m3 was stored while no delivery could find this node.
		const client = new ChatClient(socket, identity, { resumedAfter: "m1" });
		hub.add(client);
		const asked: [string, string | undefined][] = [];
		client.finishReplay([echo("m2")]);

		await hub.catchUp(async ({ sessionId }, afterId) => {
			asked.push([sessionId, afterId]);
			return [echo("m2"), echo("m3")];
		});

		expect(asked).toEqual([["s", "m2"]]);
		expect(socket.sent.map((text) => JSON.parse(text).id)).toEqual(["m2", "m3"]);
		expect(client.lastShownId).toBe("m3");
	});

	it("should start from the message a resumed socket came back after when it has been shown nothing since", async () => {
		const hub = new SocketHub();
		const client = new ChatClient(fakeSocket(), identity, { resumedAfter: "m1" });
		hub.add(client);
		client.finishReplay([]);
		const asked: (string | undefined)[] = [];
		await hub.catchUp(async (_identity, afterId) => {
			asked.push(afterId);
			return [];
		});
		expect(asked).toEqual(["m1"]);
	});
});

describe("SocketHub.catchUp after deliveries failed", () => {
	it("should start where each socket stood when Redis went, not after the echoes of its own messages since", async () => {
		const hub = new SocketHub();
		const standing = new ChatClient(fakeSocket(), identity, { resumedAfter: "m1" });
		hub.add(standing);
		standing.finishReplay([echo("m2")]);
		hub.deliveriesMayFail();
		// Another member's m3 reached nobody; this member's own m4 was echoed on its socket.
		standing.send(echo("m4"));
		// A socket that resumed meanwhile, after m2: its replay came from PostgreSQL, then deliveries failed for it too.
		const resumed = new ChatClient(fakeSocket(), identity, { resumedAfter: "m2" });
		hub.add(resumed);
		resumed.finishReplay([]);
		resumed.send(echo("m5"));
		const asked: (string | undefined)[] = [];
		await hub.catchUp(async (_identity, afterId) => {
			asked.push(afterId);
			return [echo("m3"), echo("m4"), echo("m5")];
		});
		expect(asked).toEqual(["m2", "m2"]);
		expect((standing.socket as FakeSocket).sent.map((text) => JSON.parse(text).id)).toEqual(["m2", "m4", "m3", "m5"]);

		// Caught up: the next catch-up starts after the last message shown again, no longer at m2.
		asked.length = 0;
		await hub.catchUp(async (_identity, afterId) => {
			asked.push(afterId);
			return [];
		});
		expect(asked[0]).toBe("m5");
		expect(asked).not.toContain("m2");
	});
});

describe("ChatClient bounds", () => {
	it("should close with 1008 when more frames wait than allowed, and drop those still waiting", async () => {
		const socket = fakeSocket();
		const client = new ChatClient(socket, identity, { limits });
		let release!: () => void;
		const handled: number[] = [];
		const blocked = new Promise<void>((r) => (release = r));
		const handle = (i: number) => async () => {
			if (i === 0) await blocked;
			handled.push(i);
		};
		expect(client.enqueue(handle(0), () => undefined)).toBe(true);
		await Promise.resolve(); // frame 0 is being handled
		const accepted = [1, 2, 3].map((i) => client.enqueue(handle(i), () => undefined));
		expect(accepted).toEqual([true, true, false]);
		expect(socket.closed).toBe(CloseCode.PolicyViolation);
		release();
		await client.work;
		expect(handled).toEqual([0]);
	});

	it("should close with 1008 after more rate-limit breaches in a minute than allowed, and forget older ones", () => {
		const socket = fakeSocket();
		const client = new ChatClient(socket, identity, { limits });
		expect([client.breach(0), client.breach(30_000)]).toEqual([true, true]);
		expect(client.breach(61_000)).toBe(true);
		expect(socket.closed).toBeUndefined();
		expect(client.breach(61_001)).toBe(false);
		expect(socket.closed).toBe(CloseCode.PolicyViolation);
	});

	it("should terminate a socket whose unread output passes the bound, during replay and after", () => {
		const live = fakeSocket();
		const client = new ChatClient(live, identity, { limits });
		client.finishReplay([]);
		expect(client.send(echo("a"))).toBe(true);
		live.bufferedAmount = 1001;
		expect(client.send(echo("b"))).toBe(false);
		expect(live.terminated).toBe(true);

		const replaying = fakeSocket();
		const late = new ChatClient(replaying, identity, { limits });
		for (let i = 0; i < 20 && !replaying.terminated; i++) late.send(echo(`m${i}`.padEnd(100, "x")));
		expect(replaying.terminated).toBe(true);
		late.finishReplay([]);
		expect(replaying.sent).toEqual([]);
	});
});

describe("SocketHub grants", () => {
	it("should hand out at most `max` slots per user and take them back", () => {
		const hub = new SocketHub();
		expect([hub.claimSlot("a", 2), hub.claimSlot("a", 2), hub.claimSlot("a", 2), hub.claimSlot("b", 2)]).toEqual([
			true,
			true,
			false,
			true,
		]);
		hub.releaseSlot("a");
		expect(hub.claimSlot("a", 2)).toBe(true);
	});

	it("should close sockets with an expired token with 4001 at the keep-alive round, and ping the others", () => {
		const hub = new SocketHub();
		const expired = fakeSocket();
		const fresh = fakeSocket();
		hub.add(new ChatClient(expired, identity, { expiresAt: 1000 }));
		hub.add(new ChatClient(fresh, { ...identity, sessionId: "t" }, { expiresAt: 5000 }));
		hub.pingAll(1000);
		expect([expired.closed, fresh.closed]).toEqual([CloseCode.TokenExpired, undefined]);
	});

	it("should close the sockets picked, with the code given", () => {
		const hub = new SocketHub();
		const mine = fakeSocket();
		const theirs = fakeSocket();
		hub.add(new ChatClient(mine, identity));
		hub.add(new ChatClient(theirs, { ...identity, username: "other", sessionId: "t" }));
		expect(hub.closeWhere((c) => c.identity.username === "u", CloseCode.AccountDisabled, "Account disabled")).toBe(1);
		expect([mine.closed, theirs.closed]).toEqual([CloseCode.AccountDisabled, undefined]);
	});
});

describe("ChatClient de-duplication", () => {
	it("should show each id once, read from beside the JSON (never from it), and drop a reply's deltas once it is shown", () => {
		const hub = new SocketHub();
		const socket = fakeSocket();
		const client = new ChatClient(socket, identity);
		hub.add(client);
		client.finishReplay([echo("m1")]);
		// The JSON's keys in an order messageFrame never uses: only the id carried beside it counts.
		const frame = (type: string, id: string) => ({ type, id, json: JSON.stringify({ id, content: id, type }) });
		const frames = [frame("echo", "m1"), frame("ai.delta", "m2"), frame("ai", "m2"), frame("ai.delta", "m2")];
		expect(hub.deliver([{ session_id: "s", frames }])).toBe(2);
		expect(socket.sent.map((text) => [JSON.parse(text).type, JSON.parse(text).id])).toEqual([
			["echo", "m1"],
			["ai.delta", "m2"],
			["ai", "m2"],
		]);
		expect(client.lastShownId).toBe("m2");
	});
});

describe("ChatClient de-duplication of steering frames", () => {
	const id = "6f1d1a52-3c1e-4c9e-9a55-5b8f2f1f0a11";
	const timestamp = new Date(0).toISOString();
	const ai = (content: string, continued?: true): ServerFrame => ({
		type: "ai",
		role: "ai",
		id,
		reply_to: null,
		variant: 0,
		content,
		timestamp,
		...(continued ? { continued } : {}),
	});

	it("should show each edit, each continued length and every deletion once, and move catch-ups only on new messages", () => {
		const socket = fakeSocket();
		const client = new ChatClient(socket, identity);
		client.finishReplay([echo("m1")]);
		const edit = (edited_at: string): ServerFrame => ({ type: "message.edited", id, content: edited_at, edited_at });
		const deleted: ServerFrame = { type: "messages.deleted", ids: [id] };
		const selected: ServerFrame = { type: "variant.selected", reply_to: "m1", id, variant: 1 };
		const continuation: ServerFrame = { type: "ai.delta", id, reply_to: null, variant: 0, delta: "!", continued: true };
		const frames: ServerFrame[] = [
			ai("Hi"),
			ai("Hi"),
			edit("t1"),
			edit("t1"),
			edit("t2"),
			continuation,
			continuation,
			ai("Hi!", true),
			ai("Hi!", true),
			ai("Hi!!", true),
			selected,
			selected,
			deleted,
			deleted,
		];
		for (const frame of frames) client.send(frame);
		const shown = socket.sent.map((text) => JSON.parse(text) as ServerFrame);
		expect(shown.map((f) => f.type + ("content" in f ? `:${f.content}` : ""))).toEqual([
			"echo:m1",
			"ai:Hi",
			"message.edited:t1",
			"message.edited:t2",
			"ai.delta",
			"ai.delta",
			"ai:Hi!",
			"ai:Hi!!",
			"variant.selected",
			"variant.selected",
			"messages.deleted",
			"messages.deleted",
		]);
		// The reply was the newest message shown; its edits and continuations do not make a key the catch-up point.
		expect(client.lastShownId).toBe(id);
	});
});

describe("ChatClient after a rewind", () => {
	it("should show again a message id that a rewind deleted (a reply asked for anew gets the same id)", () => {
		const socket = fakeSocket();
		const client = new ChatClient(socket, identity);
		client.finishReplay([echo("m1"), echo("m2")]);
		client.send({ type: "messages.deleted", ids: ["m2"] });
		expect([client.send(echo("m1")), client.send(echo("m2")), client.send(echo("m2"))]).toEqual([false, true, false]);
		expect(socket.sent.map((text) => JSON.parse(text).type)).toEqual(["echo", "echo", "messages.deleted", "echo"]);
	});
});
