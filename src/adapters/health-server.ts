/**
 * The per-process health server on HEALTH_PORT (default 9090), started by src/main.ts whatever SERVICES run:
 * - `GET /livez`: 200 while the event loop turns and the broker is not stopping (a wedged loop cannot answer at all).
 * - `GET /readyz`: 200 once the broker and every local service have started, the transporter (cluster) and the
 *   channels adapter (chat services) are connected and the database answers; else 503 naming what is not ready.
 *   Where ai-consumer runs, `llm` says whether the model's key and name are accepted (reported, not a 503).
 *   `markStopping()` turns it to 503 at SIGTERM, before the broker stops, so Kubernetes stops routing here first.
 * - `GET /metrics`: Moleculer's metrics in Prometheus text format, when METRICS_ENABLED.
 * Plain node:http, no Moleculer in the path: probes must keep working while the broker is busy or half started.
 */
import http from "node:http";
import { MetricReporters, type MetricRegistry, type ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import { pingDatabase } from "./database.js";

/** Kubernetes probes time out after a few seconds; a slower database counts as unreachable. */
const DATABASE_TIMEOUT_MS = 2000;

// The typings declare the reporter without the members this file relies on.
type PrometheusReporterClass = new (opts?: object) => InstanceType<typeof MetricReporters.Prometheus> & {
	opts: { defaultLabels?: unknown };
	defaultLabels: unknown;
	handler(req: http.IncomingMessage, res: http.ServerResponse): void;
};

/**
 * Moleculer's info series that describe the machine rather than the service: the command line, the user and their
 * home directory, network addresses and MACs, host and CPU names, versions. Whoever can scrape needs none of them.
 */
export const PRIVATE_METRICS = [
	"process.arguments",
	"process.pid",
	"process.ppid",
	"process.versions.*",
	"os.type",
	"os.release",
	"os.hostname",
	"os.arch",
	"os.platform",
	"os.user.*",
	"os.network.*",
	"os.datetime.*",
	"os.cpu.info.model",
	"os.cpu.info.speed",
];

/**
 * Moleculer's Prometheus reporter without the HTTP server it would open on :3030 and without PRIVATE_METRICS: the
 * health server answers `/metrics` with it, so a pod has one port for probes and scraping. Pass an instance as
 * `metrics.reporter`.
 */
export class HealthPortPrometheusReporter extends (MetricReporters.Prometheus as unknown as PrometheusReporterClass) {
	constructor(opts: { excludes?: string[] } = {}) {
		super({ ...opts, excludes: [...PRIVATE_METRICS, ...(opts.excludes ?? [])] });
	}

	init(registry: MetricRegistry): void {
		// What PrometheusReporter.init does, minus http.createServer().listen().
		MetricReporters.Base.prototype.init.call(this, registry);
		const labels = this.opts.defaultLabels;
		this.defaultLabels = typeof labels === "function" ? labels.call(this, registry) : labels;
	}

	stop(): Promise<void> {
		return Promise.resolve();
	}
}

export interface HealthServer {
	port: number;
	/** /readyz answers 503 from now on. */
	markStopping(): void;
	close(): Promise<void>;
}

/** Listens on `config.healthHost`:`config.healthPort`; rejects if the port cannot be bound. */
export async function startHealthServer(broker: ServiceBroker, config: Config): Promise<HealthServer> {
	let stopping = false;
	const metrics = broker.metrics.reporter?.find((r) => r instanceof HealthPortPrometheusReporter) as
		HealthPortPrometheusReporter | undefined;

	const server = http.createServer((req, res) => {
		const path = new URL(req.url ?? "/", "http://health").pathname;
		if (req.method !== "GET") return send(res, 405, { detail: "Method not allowed", code: "METHOD_NOT_ALLOWED" });
		if (path === "/livez") {
			return isStopping(broker) ? send(res, 503, { status: "stopping" }) : send(res, 200, { status: "ok" });
		}
		if (path === "/readyz") {
			const llm = modelStatus(broker);
			return void notReady(broker, config, stopping)
				.then((problems) =>
					Object.keys(problems).length === 0
						? send(res, 200, { status: "ready", ...llm })
						: send(res, 503, { status: "not_ready", not_ready: problems, ...llm }),
				)
				.catch((err: Error) => send(res, 503, { status: "not_ready", not_ready: { health: err.message }, ...llm }));
		}
		if (path === "/metrics" && metrics) return metrics.handler(req, res);
		send(res, 404, { detail: "Not found", code: "NOT_FOUND" });
	});

	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(config.healthPort, config.healthHost, () => {
			server.off("error", reject);
			resolve();
		});
	});

	return {
		port: (server.address() as { port: number }).port,
		markStopping: () => void (stopping = true),
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				// Idle keep-alive sockets from probes would otherwise hold close() up for seconds.
				server.closeAllConnections();
			}),
	};
}

/** What keeps this process from taking traffic, by check; empty when ready. */
async function notReady(broker: ServiceBroker, config: Config, stopping: boolean): Promise<Record<string, string>> {
	const problems: Record<string, string> = {};
	if (stopping || isStopping(broker)) problems.broker = "stopping";
	else if (!broker.started) problems.broker = "starting";

	// A local service is registered once its `started` handler (and its dependencies' wait) is done.
	const registered = new Set(
		broker.registry.getServiceList({ onlyLocal: true, skipInternal: true }).map((s) => s.name),
	);
	const missing = config.services.filter((name) => !registered.has(name));
	if (missing.length > 0) problems.services = `not started: ${missing.join(", ")}`;

	// transit.connected stays true through a Redis outage; the transporter's own flag follows the connection.
	const transit = broker.transit as (ServiceBroker["transit"] & { tx: { connected: boolean } }) | undefined;
	if (transit && !(transit.connected && transit.tx.connected)) problems.transporter = "disconnected";

	// @moleculer/channels puts its adapter on the broker; moleculer.config.ts installs it only for chat services.
	const channels = (broker as ServiceBroker & { channelAdapter?: { connected: boolean } }).channelAdapter;
	if (channels && !channels.connected) problems.channels = "disconnected";

	try {
		await withTimeout(pingDatabase(), DATABASE_TIMEOUT_MS);
	} catch (err) {
		problems.database = `unreachable: ${(err as Error).message}`;
	}
	return problems;
}

/**
 * The model's configuration as this process's ai-consumer last saw it (`LlmStatus`), e.g. `"misconfigured: API key
 * not valid…"`. Reported, not made a readiness failure: restarting or rerouting cannot fix a refused key, and in
 * embedded mode a 503 would take the whole API out with it.
 */
function modelStatus(broker: ServiceBroker): { llm?: string } {
	const consumer = broker.getLocalService("ai-consumer") as { llmStatus?: { summary: string } } | undefined;
	return consumer?.llmStatus ? { llm: consumer.llmStatus.summary } : {};
}

function isStopping(broker: ServiceBroker): boolean {
	// Set by broker.stop() and never cleared; missing from the typings.
	return (broker as ServiceBroker & { stopping: boolean }).stopping;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function send(res: http.ServerResponse, status: number, body: object): void {
	res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
	res.end(JSON.stringify(body));
}
