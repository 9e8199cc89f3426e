/**
 * Broker options, derived from the validated Config (src/config.ts) so the same code runs embedded (one process,
 * local transport, in-memory cache) and in a cluster (Redis transporter and cache).
 * Docs: https://moleculer.services/docs/0.14/configuration.html
 */
import type { BrokerOptions, MetricsReporterOptions, Middleware } from "moleculer";
import channels from "@moleculer/channels";
import type { Config } from "./src/config.js";
import { ResilientAmqpAdapter } from "./src/adapters/amqp-channel-adapter.js";
import { HealthPortPrometheusReporter } from "./src/adapters/health-server.js";
import { RedactingConsoleLogger } from "./src/adapters/logger.js";
import { SizedMemoryCacher } from "./src/adapters/sized-memory-cacher.js";
import { configuredSecrets } from "./src/domain/log-redaction.js";
import { operatorCommands } from "./src/repl/operator-commands.js";
import { AdminOnlyMiddleware } from "./middlewares/admin-only.middleware.js";

// completions: the /v1 API's stored-session mode publishes chat.user.msg.
const CHAT_SERVICES = ["chat-ws", "ai-consumer", "dispatcher", "completions"];
/** Longest life of a cached read, in seconds. */
const CACHE_TTL_SECONDS = 300;

/**
 * @moleculer/channels for the two chat queues: RabbitMQ in a cluster (durable exchanges and queues, persistent
 * messages, exchanges asserted on publish so an early publish cannot close the channel), in-process in embedded mode.
 * Only processes that run a chat service get it: the gateway has no business holding an AMQP connection.
 */
function channelsMiddleware(config: Config): Middleware[] {
	if (!config.services.some((s) => CHAT_SERVICES.includes(s))) return [];
	const adapter =
		config.mode === "cluster" && config.amqpUrl
			? new ResilientAmqpAdapter({
					amqp: {
						url: config.amqpUrl,
						// amqplib leaves Nagle on: small publishes then wait for delayed ACKs (~40 ms per hop, measured).
						socketOptions: { noDelay: true },
						exchangeOptions: { durable: true },
						queueOptions: { durable: true },
						messageOptions: { persistent: true },
						publishAssertExchange: { enabled: true, exchangeOptions: { durable: true } },
					},
					// Channel prefetch: bounded in-flight messages per consumer process.
					maxInFlight: config.chat.maxInFlight,
					maxRetries: config.chat.maxRetries,
				})
			: { type: "Fake", options: { maxInFlight: config.chat.maxInFlight, maxRetries: 0 } };
	// The package's typings require every adapter's options at once, and its middleware type predates moleculer's.
	type ChannelsOptions = Parameters<typeof channels.Middleware>[0];
	return [channels.Middleware({ adapter } as unknown as ChannelsOptions) as unknown as Middleware];
}

/**
 * A Redis transporter URL gets `disableClientInfo` (ioredis takes options from the query): ioredis >= 5.8.2 sends
 * CLIENT SETINFO while connecting, so on a reconnection the subscriber's SUBSCRIBEs can go out before its INFO ready
 * check, which Redis then refuses. ioredis rejects the queued SUBSCRIBEs, moleculer never handles those promises, and
 * the node dies of an unhandled rejection when Redis restarts (redis/ioredis#2037).
 */
function transporterUrl(url: string | undefined): string | null {
	if (!url) return null;
	if (!/^rediss?:\/\//i.test(url) || /[?&]disableClientInfo=/.test(url)) return url;
	return `${url}${url.includes("?") ? "&" : "?"}disableClientInfo=true`;
}

function nodeFailure(err: Error): boolean {
	const e = err as { code?: unknown; type?: unknown };
	return typeof e.code === "number" && e.code >= 500 && e.type !== "BUSY";
}

function retriable(err: Error): boolean {
	return Boolean((err as { retryable?: boolean }).retryable) && err.name !== "RequestTimeoutError";
}

export function createBrokerOptions(config: Config): BrokerOptions {
	return {
		namespace: config.namespace,
		nodeID: config.nodeId,
		// Redis pub/sub in a cluster; none (local calls only) in embedded mode.
		transporter: transporterUrl(config.transporter),
		// Character reads are cached; in a cluster the cache is shared so a write clears it everywhere. Every entry has a
		// TTL (the actions' own, else this one) and the in-process cache a size bound.
		cacher:
			config.mode === "cluster" && config.redisUrl
				? {
						type: "Redis",
						options: { redis: config.redisUrl, prefix: `${config.namespace}-cache`, ttl: CACHE_TTL_SECONDS },
					}
				: new SizedMemoryCacher({ maxBytes: config.characters.cacheBytes, ttlSeconds: CACHE_TTL_SECONDS }),
		// JSON lines (cluster) or pretty (embedded), with secrets masked at every level (src/adapters/logger.ts).
		logger: new RedactingConsoleLogger({
			level: config.logLevel,
			format: config.logFormat,
			secrets: configuredSecrets(config),
		}),
		// Max ms to wait for an action's reply.
		requestTimeout: 10_000,
		// How often a service waiting for its dependencies looks again (default 1 s, a second of every start).
		dependencyInterval: 100,
		// Bulkheads are off for actions; the in-process channel adapter turns them on for its events, and their default
		// queue of 100 made embedded mode drop messages under load (QueueIsFullError, found by the benchmark).
		// Unbounded here: every queued message is already stored, and per-user limits bound how many arrive.
		bulkhead: { enabled: false, concurrency: 10, maxQueueSize: 0 },
		// Retries for calls that failed on the way (no endpoint, node gone), never for a timeout: the action may still be
		// running, and calling it again doubles its work under the very load that made it slow (an 82 s login) or repeats
		// a side effect (a sign-up answered 409). auth.login/register and api.rest opt out of retries altogether.
		retryPolicy: { enabled: true, retries: 3, delay: 100, maxDelay: 1000, factor: 2, check: retriable },
		// A node that stops answering is taken out of the balancer until it recovers.
		// A 503 BUSY (password hashing full) is load shed on purpose, not a failing node: counting it would take logins
		// away (ServiceNotAvailable) for halfOpenTime after any flood.
		circuitBreaker: {
			enabled: true,
			threshold: 0.5,
			minRequestCount: 20,
			windowTime: 60,
			halfOpenTime: 10_000,
			check: nodeFailure,
		},
		// Stop waits for in-flight requests before closing.
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		validator: true,
		// Moleculer's metrics (https://moleculer.services/docs/0.14/metrics.html) in Prometheus format at /metrics on the
		// health port. The registry takes a reporter instance at runtime; the typings only list names and option objects.
		// Process and host metrics whatever NODE_ENV says (moleculer skips them under "test"), so tests see what is served.
		metrics: {
			enabled: config.metricsEnabled,
			collectProcessMetrics: true,
			reporter: [new HealthPortPrometheusReporter() as unknown as MetricsReporterOptions],
		},
		tracing: { enabled: false },
		middlewares: [AdminOnlyMiddleware, ...channelsMiddleware(config)],
		// Operator commands (sessions, queues, dlq, user, character, kick, say, stats) for `npm run repl` and `--repl`.
		replCommands: operatorCommands(config),
	};
}
