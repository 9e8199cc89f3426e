/**
 * gRPC delivery of ready-made frames to the chat-ws node holding a session's sockets (proto/delivery.proto).
 * Server: runs on every chat-ws node and hands each request to a synchronous `onFrames` that writes to local sockets.
 * Client: a pool of one channel per peer address; unary `Deliver` for final messages (the caller learns of failure),
 * one long-lived `StreamDeltas` call per peer for token deltas (best effort: dropped rather than queued).
 * `GrpcDelivery`: the cluster's `Delivery`, which asks the route registry which nodes hold a session's sockets.
 * Traffic is cluster-internal (pod to pod), so both sides use insecure credentials; put a mesh or network policy in
 * front if the cluster network is not trusted.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { serializeFrame, type ServerFrame, type SessionFrames } from "../domain/chat-wire.js";
import { coalescedDeltas, type Delivery, type DeltaStream } from "./delivery.js";
import type { RouteRegistry } from "./route-registry.js";

/** SessionFrames as proto/delivery.proto carries them: the JSON texts, and beside them each one's type and id. */
interface WireSessionFrames {
	session_id: string;
	frames: string[];
	keys: { type: string; id: string }[];
}

interface DeliverRequest {
	items: WireSessionFrames[];
}

interface DeliverReply {
	delivered: number;
}

export interface DeliveryLogger {
	warn(...args: unknown[]): void;
	info(...args: unknown[]): void;
}

export interface DeliveryServer {
	/** The bound port (the configured one may be 0). */
	port: number;
	stop(): Promise<void>;
}

// Resolved from this module, so the same relative path works from src/adapters and dist/src/adapters.
const PROTO_PATH = fileURLToPath(new URL("../../proto/delivery.proto", import.meta.url));
const SHUTDOWN_GRACE_MS = 5_000;
// Delta requests queued per peer before new ones are dropped: room for a burst, a bound for a stalled peer.
// (The stream's own high-water mark, 16 objects, would drop any burst of deltas written in one tick.)
const MAX_QUEUED_DELTAS = 1_000;
// After a delta stream fails, deltas to that peer are dropped for this long instead of dialing once per delta.
const STREAM_RETRY_MS = 500;

// Keepalive pings find a dead peer of an idle long-lived stream (a vanished pod sends no RST) within ~30 s.
const KEEPALIVE: grpc.ChannelOptions = {
	"grpc.keepalive_time_ms": 20_000,
	"grpc.keepalive_timeout_ms": 10_000,
	"grpc.keepalive_permit_without_calls": 1,
};

let service: grpc.ServiceDefinition | undefined;

/** Loaded on first use, so importing this module costs nothing in processes that never deliver. */
function deliveryService(): grpc.ServiceDefinition {
	if (!service) {
		// keepCase: otherwise `session_id` becomes `sessionId` and objects carrying `session_id` lose it silently.
		const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, defaults: true });
		service = definition["cameo.delivery.Delivery"] as grpc.ServiceDefinition;
	}
	return service;
}

/**
 * Requests come off the network: anything but `{ items: [{ session_id: non-empty, frames: string[], keys }] }`, with
 * one key per frame or none, is refused.
 */
function parseRequest(request: unknown): SessionFrames[] | undefined {
	const items = (request as { items?: unknown } | null)?.items;
	if (!Array.isArray(items)) return undefined;
	const valid = items.every((item: Partial<WireSessionFrames> | null) => {
		const keys = item?.keys ?? [];
		return (
			typeof item?.session_id === "string" &&
			item.session_id.length > 0 &&
			Array.isArray(item.frames) &&
			item.frames.every((frame) => typeof frame === "string") &&
			Array.isArray(keys) &&
			(keys.length === 0 || keys.length === item.frames.length) &&
			keys.every((key) => typeof key?.type === "string" && typeof key.id === "string")
		);
	});
	return valid ? (items as WireSessionFrames[]).map(fromWire) : undefined;
}

function toWire(items: SessionFrames[]): WireSessionFrames[] {
	return items.map(({ session_id, frames }) => ({
		session_id,
		frames: frames.map((frame) => frame.json),
		keys: frames.map((frame) => ({ type: frame.type, id: frame.id ?? "" })),
	}));
}

function fromWire({ session_id, frames, keys = [] }: WireSessionFrames): SessionFrames {
	return {
		session_id,
		frames: frames.map((json, i) => {
			const { type, id } = keys[i] ?? parsedKey(json);
			return { type, id: id || undefined, json };
		}),
	};
}

/** A frame from a sender older than `keys` (during a rolling update): its type and id are read from the JSON. */
function parsedKey(json: string): { type: string; id: string } {
	try {
		const { type, id } = JSON.parse(json) as { type?: unknown; id?: unknown };
		return { type: typeof type === "string" ? type : "", id: typeof id === "string" ? id : "" };
	} catch {
		return { type: "", id: "" };
	}
}

function hostPort(host: string, port: number): string {
	return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startDeliveryServer(opts: {
	host: string;
	port: number;
	onFrames(items: SessionFrames[]): number;
	logger: DeliveryLogger;
}): Promise<DeliveryServer> {
	const { onFrames, logger } = opts;
	const server = new grpc.Server(KEEPALIVE);
	// Open delta streams, each with a function that answers it: stop() ends them so shutdown need not wait for clients.
	const streams = new Set<() => void>();

	server.addService(deliveryService(), {
		Deliver(call: grpc.ServerUnaryCall<unknown, DeliverReply>, callback: grpc.sendUnaryData<DeliverReply>) {
			const items = parseRequest(call.request);
			if (!items) {
				callback({ code: grpc.status.INVALID_ARGUMENT, details: "expected items of { session_id, frames[] }" });
				return;
			}
			try {
				callback(null, { delivered: onFrames(items) });
			} catch (err) {
				logger.warn("Delivering frames failed", err);
				callback({ code: grpc.status.INTERNAL, details: "delivery failed" });
			}
		},

		StreamDeltas(call: grpc.ServerReadableStream<unknown, DeliverReply>, callback: grpc.sendUnaryData<DeliverReply>) {
			let delivered = 0;
			let answered = false;
			const answer = () => {
				if (answered) return;
				answered = true;
				streams.delete(answer);
				callback(null, { delivered });
			};
			streams.add(answer);
			call.on("data", (request: unknown) => {
				const items = parseRequest(request);
				if (!items) {
					logger.warn(`Ignoring a malformed delta request from ${call.getPeer()}`);
					return;
				}
				try {
					delivered += onFrames(items);
				} catch (err) {
					logger.warn("Delivering deltas failed", err);
				}
			});
			call.on("end", answer);
			// The client went away (cancelled, connection lost): nobody is left to answer.
			call.on("error", () => streams.delete(answer));
			call.on("cancelled", () => streams.delete(answer));
		},
	});

	const port = await new Promise<number>((resolve, reject) => {
		// Insecure: cluster-internal traffic (see the header).
		server.bindAsync(hostPort(opts.host, opts.port), grpc.ServerCredentials.createInsecure(), (err, bound) =>
			err ? reject(err) : resolve(bound),
		);
	});
	logger.info(`gRPC delivery server listening on ${hostPort(opts.host, port)}`);

	let stopping: Promise<void> | undefined;
	return {
		port,
		stop() {
			stopping ??= new Promise<void>((resolve) => {
				for (const answer of [...streams]) answer();
				const timer = setTimeout(() => {
					logger.warn("gRPC delivery server did not drain in time; forcing shutdown");
					server.forceShutdown();
					resolve();
				}, SHUTDOWN_GRACE_MS);
				server.tryShutdown(() => {
					clearTimeout(timer);
					resolve();
				});
			});
			return stopping;
		},
	};
}

interface Peer {
	client: grpc.Client;
	stream?: grpc.ClientWritableStream<DeliverRequest>;
	/** Deltas are dropped until then after the stream failed. */
	streamRetryAt: number;
	/** Deltas dropped under backpressure since the stream last drained. */
	dropped: number;
}

export class DeliveryClientPool {
	private readonly peers = new Map<string, Peer>();
	private readonly deadlineMs: number;
	private readonly logger: DeliveryLogger;

	constructor(opts: { deadlineMs: number; logger: DeliveryLogger }) {
		this.deadlineMs = opts.deadlineMs;
		this.logger = opts.logger;
	}

	/** Unary Deliver; resolves to the number of socket sends, rejects with the gRPC error (its `code` is the status). */
	deliver(address: string, items: SessionFrames[]): Promise<number> {
		const peer = this.peer(address);
		const client = peer.client;
		const method = deliveryService().Deliver;
		return new Promise<number>((resolve, reject) => {
			client.makeUnaryRequest<DeliverRequest, DeliverReply>(
				method.path,
				method.requestSerialize,
				method.responseDeserialize,
				{ items: toWire(items) },
				{ deadline: Date.now() + this.deadlineMs },
				(err, reply) => {
					if (err) {
						if (err.code === grpc.status.UNAVAILABLE) this.replaceClient(address, peer, client);
						reject(err);
					} else {
						resolve(reply?.delivered ?? 0);
					}
				},
			);
		});
	}

	/** Best effort: writes to the peer's long-lived delta stream, opening it if needed. Never throws. */
	streamDeltas(address: string, items: SessionFrames[]): void {
		const peer = this.peer(address);
		if (!peer.stream) {
			if (Date.now() < peer.streamRetryAt) return;
			peer.stream = this.openStream(address, peer);
		}
		// A slow or unreachable peer: drop instead of queueing without bound.
		if (peer.stream.writableLength >= MAX_QUEUED_DELTAS) {
			peer.dropped += 1;
			return;
		}
		peer.stream.write({ items: toWire(items) });
	}

	close(): void {
		for (const peer of this.peers.values()) {
			peer.stream?.cancel();
			peer.client.close();
		}
		this.peers.clear();
	}

	private peer(address: string): Peer {
		let peer = this.peers.get(address);
		if (!peer) {
			peer = { client: this.newClient(address), streamRetryAt: 0, dropped: 0 };
			this.peers.set(address, peer);
		}
		return peer;
	}

	private newClient(address: string): grpc.Client {
		// Insecure: cluster-internal traffic (see the header).
		return new grpc.Client(address, grpc.credentials.createInsecure(), KEEPALIVE);
	}

	/**
	 * UNAVAILABLE leaves the channel in reconnect backoff, failing calls without dialing; a fresh channel dials at once.
	 * The open delta stream goes with the old channel. A no-op if that channel was already replaced (or the pool closed).
	 */
	private replaceClient(address: string, peer: Peer, failed: grpc.Client): void {
		if (this.peers.get(address) !== peer || peer.client !== failed) return;
		peer.stream?.cancel();
		peer.stream = undefined;
		peer.client.close();
		peer.client = this.newClient(address);
	}

	private openStream(address: string, peer: Peer): grpc.ClientWritableStream<DeliverRequest> {
		const client = peer.client;
		const method = deliveryService().StreamDeltas;
		const stream = client.makeClientStreamRequest<DeliverRequest, DeliverReply>(
			method.path,
			method.requestSerialize,
			method.responseDeserialize,
			(err) => {
				if (peer.stream === stream) peer.stream = undefined;
				this.reportDropped(address, peer);
				// The server ending the stream (it is stopping) is not a failure: the next delta reopens at once.
				if (!err || err.code === grpc.status.CANCELLED) return;
				this.logger.info(`Delta stream to ${address} failed: ${err.message}`);
				peer.streamRetryAt = Date.now() + STREAM_RETRY_MS;
				if (err.code === grpc.status.UNAVAILABLE) this.replaceClient(address, peer, client);
			},
		);
		stream.on("drain", () => this.reportDropped(address, peer));
		return stream;
	}

	private reportDropped(address: string, peer: Peer): void {
		if (peer.dropped === 0) return;
		this.logger.warn(`Dropped ${peer.dropped} delta requests to ${address} under backpressure`);
		peer.dropped = 0;
	}
}

/** Delivery in a cluster: a gRPC call to each chat-ws node the route registry names for the session. */
export class GrpcDelivery implements Delivery {
	constructor(
		private readonly routes: RouteRegistry,
		private readonly clients: DeliveryClientPool,
		private readonly logger: { warn(...args: unknown[]): void },
	) {}

	async send(sessionId: string, frames: ServerFrame[]): Promise<number> {
		const addresses = await this.routes.lookup(sessionId);
		if (addresses.length === 0) return 0;
		const items = [{ session_id: sessionId, frames: frames.map(serializeFrame) }];
		const results = await Promise.all(
			addresses.map(async (address) => {
				try {
					return await this.clients.deliver(address, items);
				} catch (err) {
					this.logger.warn(`Delivery to ${address} failed: ${(err as Error).message}`);
					// A node that cannot be reached holds no live socket we can serve: forget it for this session.
					// (A live node re-adds its routes at its next heartbeat anyway.)
					if ((err as { code?: number }).code === grpc.status.UNAVAILABLE) {
						await this.routes.remove(sessionId, address).catch(() => undefined);
					}
					return 0;
				}
			}),
		);
		return results.reduce((a, b) => a + b, 0);
	}

	async openDeltaStream(sessionId: string): Promise<DeltaStream> {
		const addresses = await this.routes.lookup(sessionId);
		return coalescedDeltas((frame) => {
			for (const address of addresses) this.clients.streamDeltas(address, [{ session_id: sessionId, frames: [frame] }]);
		});
	}

	/** This node's own sockets are reached through its gRPC server (chat-ws starts it), as every other node's are. */
	attachLocal(): () => void {
		return () => undefined;
	}
}
