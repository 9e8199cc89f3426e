/**
 * Cluster-mode test nodes on this machine's Redis and RabbitMQ, each run in a namespace of its own (Moleculer
 * namespace, Redis key prefix, RabbitMQ exchange/queue prefix), so test files running at once never meet.
 */
import { execFileSync } from "node:child_process";
import amqp from "amqplib";
import { Redis } from "ioredis";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { TEST_JWT_SECRET, TEST_SECRETS_KEY, testConfig, uniqueName } from "./config.js";
import { eventually, freePort, killHard, startCameo, waitForStatus, type RunningProcess } from "./process.js";
import { AMQP_URL, REDIS_URL } from "./services.js";

export { AMQP_URL, REDIS_URL };

/** A namespace usable in queue names and Redis keys. */
export function clusterNamespace(prefix: string): string {
	return uniqueName(prefix).replace(/_/g, "-");
}

/** The environment of a cluster-mode node in `namespace`. */
export function clusterEnv(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
	return {
		CAMEO_MODE: "cluster",
		TRANSPORTER: REDIS_URL,
		REDIS_URL,
		AMQP_URL,
		NAMESPACE: namespace,
		GRPC_HOST: "127.0.0.1",
		...extra,
	};
}

/** A broker running `services` (comma-separated) in `namespace`; not started. */
export function clusterNode(namespace: string, services: string, extra: Record<string, string> = {}): ServiceBroker {
	const nodeId = `${services.replace(/,/g, "+")}-${uniqueName("n")}`;
	return createBroker(testConfig(clusterEnv(namespace, { SERVICES: services, NODE_ID: nodeId, ...extra })), {
		logger: false,
	});
}

/**
 * A cameo process running `services` in `namespace`, on ports fixed at creation: killed and started again, it comes
 * back on the same WebSocket and health ports (as a restarted pod keeps its address), with a new node id.
 */
export class ClusterProcess {
	proc: RunningProcess | undefined;

	private constructor(
		readonly services: string,
		private readonly env: Record<string, string>,
		readonly healthPort: number,
		/** chat-ws only. */
		readonly wsPort: number | undefined,
	) {}

	static async create(
		namespace: string,
		services: string,
		extra: Record<string, string> = {},
	): Promise<ClusterProcess> {
		const healthPort = await freePort();
		const wsPort = services.split(",").includes("chat-ws") ? await freePort() : undefined;
		const env = clusterEnv(namespace, {
			SERVICES: services,
			DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
			JWT_SECRET: TEST_JWT_SECRET,
			SECRETS_KEY: TEST_SECRETS_KEY,
			HEALTH_PORT: String(healthPort),
			GRPC_PORT: "0",
			...(wsPort ? { WS_PORT: String(wsPort) } : {}),
			...extra,
		});
		return new ClusterProcess(services, env, healthPort, wsPort);
	}

	/** Starts the process; resolves with the milliseconds until its /readyz answered 200. */
	async start(timeoutMs = 40_000): Promise<number> {
		const startedAt = Date.now();
		this.proc = startCameo({ ...this.env, NODE_ID: `${this.services.replace(/,/g, "+")}-${uniqueName("p")}` });
		await waitForStatus(`http://127.0.0.1:${this.healthPort}/readyz`, 200, timeoutMs, this.proc);
		return Date.now() - startedAt;
	}

	/** kill -9. */
	async kill(): Promise<void> {
		if (this.proc) await killHard(this.proc);
	}

	/** Its Prometheus metrics (METRICS_ENABLED is on in a cluster). */
	async metrics(): Promise<string> {
		return (await fetch(`http://127.0.0.1:${this.healthPort}/metrics`)).text();
	}
}

/** Deletes everything the namespace left in Redis and RabbitMQ. */
export async function removeNamespace(namespace: string): Promise<void> {
	const redis = new Redis(REDIS_URL);
	const keys = await redis.keys(`${namespace}*`);
	if (keys.length) await redis.del(...keys);
	redis.disconnect();
	const connection = await amqp.connect(AMQP_URL);
	const channel = await connection.createChannel();
	const list = (what: string) =>
		execFileSync("rabbitmqctl", [what, "-q", "--no-table-headers", "name"], { encoding: "utf8" })
			.split("\n")
			.filter((name) => name.includes(namespace));
	for (const queue of list("list_queues")) await channel.deleteQueue(queue);
	for (const exchange of list("list_exchanges")) await channel.deleteExchange(exchange);
	await connection.close();
}

/**
 * Waits until each of `brokers` knows `count` available instances of `service`. Nodes announce their services up to
 * a second after starting (Moleculer debounces INFO): until then, broadcasts and calls to that service miss them.
 */
export async function awaitService(brokers: ServiceBroker[], service: string, count: number): Promise<void> {
	const seen = (b: ServiceBroker) =>
		b.registry.getServiceList({ onlyAvailable: true }).filter((s) => s.name === service).length;
	await eventually(() => brokers.every((b) => seen(b) === count), 10_000, `every node to know ${count} ${service}`);
}
