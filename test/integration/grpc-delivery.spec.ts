/**
 * gRPC delivery over real sockets on 127.0.0.1: two servers, the client pool, failures (silent peer, stopped peer,
 * restarted peer) and hostile requests from raw clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import net from "node:net";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { DeliveryClientPool, startDeliveryServer, type DeliveryServer } from "../../src/adapters/grpc-delivery.js";
import { messageFrame, serializeFrame, type SerializedFrame, type SessionFrames } from "../../src/domain/chat-wire.js";

const logger = () => ({ warn: vi.fn(), info: vi.fn() });
/** A frame of any text: the transport neither parses nor checks it. */
const text = (json: string): SerializedFrame => ({ type: "test", json });

/** A server on 127.0.0.1 that records what it receives and counts one send per frame. */
async function recordingServer(port = 0, onFrames?: (items: SessionFrames[]) => number) {
	const received: SessionFrames[] = [];
	const log = logger();
	const server = await startDeliveryServer({
		host: "127.0.0.1",
		port,
		logger: log,
		onFrames:
			onFrames ??
			((items) => {
				received.push(...items);
				return items.reduce((sum, item) => sum + item.frames.length, 0);
			}),
	});
	return { server, received, log, address: `127.0.0.1:${server.port}` };
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
	const until = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > until) throw new Error("timed out waiting");
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

const servers: DeliveryServer[] = [];
const pools: DeliveryClientPool[] = [];
function pool(deadlineMs = 2_000) {
	const p = new DeliveryClientPool({ deadlineMs, logger: logger() });
	pools.push(p);
	return p;
}
async function track<T extends { server: DeliveryServer }>(started: Promise<T>): Promise<T> {
	const s = await started;
	servers.push(s.server);
	return s;
}

afterEach(async () => {
	for (const p of pools.splice(0)) p.close();
	await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe("Test 'Deliver' (unary)", () => {
	it("should deliver to each of two servers, intact and in order, and return the send count", async () => {
		const one = await track(recordingServer());
		const two = await track(recordingServer());
		const clients = pool();
		const message = {
			...{ role: "ai" as const, username: "ann", character_id: "c", created_at: new Date(0) },
			...{ reply_to: "u", variant: 0, stopped: false },
		};
		const frame = (n: number) =>
			serializeFrame(messageFrame({ ...message, id: `m${n}`, content: `héllo "${n}" 👋\n` }));

		expect(await clients.deliver(one.address, [{ session_id: "s-1", frames: [frame(1), frame(2)] }])).toBe(2);
		expect(
			await clients.deliver(one.address, [
				{ session_id: "s-1", frames: [frame(3)] },
				{ session_id: "s-2", frames: [] },
			]),
		).toBe(1);
		expect(await clients.deliver(two.address, [{ session_id: "s-3", frames: [frame(4)] }])).toBe(1);

		expect(one.received).toEqual([
			{ session_id: "s-1", frames: [frame(1), frame(2)] },
			{ session_id: "s-1", frames: [frame(3)] },
			{ session_id: "s-2", frames: [] },
		]);
		expect(two.received).toEqual([{ session_id: "s-3", frames: [frame(4)] }]);
	});

	it("should answer INTERNAL when onFrames throws, and keep serving", async () => {
		let fail = true;
		const { address, log } = await track(
			recordingServer(0, () => {
				if (fail) throw new Error("socket exploded");
				return 1;
			}),
		);
		const clients = pool();
		await expect(clients.deliver(address, [{ session_id: "s", frames: [text("x")] }])).rejects.toMatchObject({
			code: grpc.status.INTERNAL,
		});
		expect(log.warn).toHaveBeenCalled();
		fail = false;
		expect(await clients.deliver(address, [{ session_id: "s", frames: [text("x")] }])).toBe(1);
	});

	it("should fail with DEADLINE_EXCEEDED against a peer that accepts TCP but never speaks HTTP/2", async () => {
		const silent = net.createServer(() => {});
		await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
		try {
			const started = Date.now();
			const address = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
			await expect(pool(300).deliver(address, [{ session_id: "s", frames: [text("x")] }])).rejects.toMatchObject({
				code: grpc.status.DEADLINE_EXCEEDED,
			});
			expect(Date.now() - started).toBeLessThan(2_000);
		} finally {
			silent.close();
		}
	});

	it("should fail fast with UNAVAILABLE against a stopped server, and reconnect once it is back on the same port", async () => {
		const first = await recordingServer();
		const clients = pool(5_000);
		expect(await clients.deliver(first.address, [{ session_id: "s", frames: [text("before")] }])).toBe(1);
		await first.server.stop();

		for (let attempt = 0; attempt < 2; attempt++) {
			const started = Date.now();
			await expect(clients.deliver(first.address, [{ session_id: "s", frames: [text("lost")] }])).rejects.toMatchObject(
				{
					code: grpc.status.UNAVAILABLE,
				},
			);
			expect(Date.now() - started).toBeLessThan(1_000);
		}

		// Right after a failure: a channel left in reconnect backoff would fail this call without dialing.
		const second = await track(recordingServer(first.server.port));
		expect(await clients.deliver(second.address, [{ session_id: "s", frames: [text("after")] }])).toBe(1);
		expect(second.received).toEqual([{ session_id: "s", frames: [text("after")] }]);
	});
});

describe("Test 'StreamDeltas' (client stream)", () => {
	it("should deliver many deltas in order on one stream", async () => {
		const { address, received } = await track(recordingServer());
		const clients = pool();
		for (let i = 0; i < 500; i++) clients.streamDeltas(address, [{ session_id: "s", frames: [text(`d${i}`)] }]);
		await waitFor(() => received.length === 500);
		expect(received.map((item) => item.frames[0].json)).toEqual(Array.from({ length: 500 }, (_, i) => `d${i}`));
		expect(new Set(received.map((item) => item.session_id))).toEqual(new Set(["s"]));
	});

	it("should survive the server restarting: later deltas arrive", async () => {
		const first = await recordingServer();
		const clients = pool();
		clients.streamDeltas(first.address, [{ session_id: "s", frames: [text("before")] }]);
		await waitFor(() => first.received.length === 1);
		// The server answers open delta streams itself instead of waiting out its grace period for them.
		const stopping = Date.now();
		await first.server.stop();
		expect(Date.now() - stopping).toBeLessThan(1_000);
		clients.streamDeltas(first.address, [{ session_id: "s", frames: [text("while down")] }]);

		const second = await track(recordingServer(first.server.port));
		let n = 0;
		await waitFor(() => {
			clients.streamDeltas(second.address, [{ session_id: "s", frames: [text(`after${n++}`)] }]);
			return second.received.length > 0;
		});
		const countAfterRestart = n;
		for (let i = 0; i < 20; i++)
			clients.streamDeltas(second.address, [{ session_id: "s", frames: [text(`later${i}`)] }]);
		await waitFor(() => second.received.some((item) => item.frames[0].json === "later19"));
		const frames = second.received.map((item) => item.frames[0].json);
		expect(frames.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => `later${i}`));
		expect(countAfterRestart).toBeLessThan(200);
	});

	it("should drop rather than queue without bound when the peer never answers, and never throw", async () => {
		const silent = net.createServer(() => {});
		await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
		const log = logger();
		const clients = new DeliveryClientPool({ deadlineMs: 1_000, logger: log });
		try {
			const address = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
			const items = [{ session_id: "s", frames: [text("x".repeat(100))] }];
			for (let i = 0; i < 5_000; i++) clients.streamDeltas(address, items);
		} finally {
			clients.close();
			silent.close();
		}
		await waitFor(() => log.warn.mock.calls.length > 0);
		expect(String(log.warn.mock.calls[0][0])).toMatch(/Dropped 4000 delta requests/);
	});

	it("should log a throwing onFrames and keep the stream open", async () => {
		const received: string[] = [];
		const { address, log } = await track(
			recordingServer(0, (items) => {
				if (items[0].frames[0].json === "boom") throw new Error("socket exploded");
				received.push(items[0].frames[0].json);
				return 1;
			}),
		);
		const clients = pool();
		for (const frame of ["a", "boom", "b"]) clients.streamDeltas(address, [{ session_id: "s", frames: [text(frame)] }]);
		await waitFor(() => received.length === 2);
		expect(received).toEqual(["a", "b"]);
		expect(log.warn).toHaveBeenCalledWith("Delivering deltas failed", expect.any(Error));
	});
});

describe("malformed requests from raw clients", () => {
	const protoPath = fileURLToPath(new URL("../../proto/delivery.proto", import.meta.url));
	let target: Awaited<ReturnType<typeof recordingServer>>;
	let raw: grpc.Client;

	beforeAll(async () => {
		target = await recordingServer();
		raw = new grpc.Client(target.address, grpc.credentials.createInsecure());
	});

	afterAll(async () => {
		raw.close();
		await target.server.stop();
	});

	function rawDeliver(serialize: (value: unknown) => Buffer, request: unknown): Promise<grpc.ServiceError | null> {
		return new Promise((resolve) => {
			raw.makeUnaryRequest(
				"/cameo.delivery.Delivery/Deliver",
				serialize,
				(b: Buffer) => b,
				request,
				(err) => resolve(err),
			);
		});
	}

	it("should refuse items without a session_id (a sender that lost it to the keepCase pitfall)", async () => {
		// Without keepCase the loader expects `sessionId`, so `session_id` is silently left out of the bytes.
		const camel = protoLoader.loadSync(protoPath, {})["cameo.delivery.Delivery"] as grpc.ServiceDefinition;
		const err = await rawDeliver(camel.Deliver.requestSerialize, { items: [{ session_id: "s", frames: ["x"] }] });
		expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
		expect(target.received).toEqual([]);
	});

	it("should survive bytes that are not a DeliverRequest", async () => {
		const err = await rawDeliver(() => Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), null);
		expect(err?.code).toBe(grpc.status.INTERNAL);
	});

	it("should ignore a malformed request on a delta stream and deliver the next one", async () => {
		const camel = protoLoader.loadSync(protoPath, {})["cameo.delivery.Delivery"] as grpc.ServiceDefinition;
		const stream = raw.makeClientStreamRequest(
			"/cameo.delivery.Delivery/StreamDeltas",
			camel.StreamDeltas.requestSerialize,
			(b: Buffer) => b,
			() => {},
		);
		stream.write({ items: [{ session_id: "lost", frames: ["x"] }] });
		stream.write({ items: [{ sessionId: "kept", frames: ["y"] }] });
		await waitFor(() => target.received.length === 1);
		stream.end();
		expect(target.received).toEqual([{ session_id: "kept", frames: [{ type: "", json: "y" }] }]);
		expect(target.log.warn).toHaveBeenCalledWith(expect.stringMatching(/malformed delta request/));
	});

	const keepCase = () =>
		protoLoader.loadSync(protoPath, { keepCase: true })["cameo.delivery.Delivery"] as grpc.ServiceDefinition;

	it("should read type and id from the frames of a sender older than `keys` (a rolling update)", async () => {
		const json = JSON.stringify({ id: "m1", type: "ai", content: "keys in another order" });
		const request = { items: [{ session_id: "old", frames: [json] }] };
		expect(await rawDeliver(keepCase().Deliver.requestSerialize, request)).toBeNull();
		expect(target.received.at(-1)).toEqual({ session_id: "old", frames: [{ type: "ai", id: "m1", json }] });
	});

	it("should refuse keys that do not match the frames one to one", async () => {
		const request = { items: [{ session_id: "s", frames: ["a", "b"], keys: [{ type: "ai", id: "m1" }] }] };
		expect((await rawDeliver(keepCase().Deliver.requestSerialize, request))?.code).toBe(grpc.status.INVALID_ARGUMENT);
	});

	it("should still serve well-formed requests afterwards", async () => {
		const clients = pool();
		expect(await clients.deliver(target.address, [{ session_id: "ok", frames: [text("z")] }])).toBe(1);
	});
});
