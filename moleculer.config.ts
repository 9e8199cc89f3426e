/**
 * Broker options, derived from the validated Config (src/config.ts) so the same code runs embedded (one process,
 * local transport, in-memory cache) and in a cluster (Redis transporter and cache).
 * Docs: https://moleculer.services/docs/0.14/configuration.html
 */
import type { BrokerOptions } from "moleculer";
import type { Config } from "./src/config.js";

export function createBrokerOptions(config: Config): BrokerOptions {
	return {
		namespace: "cameo",
		nodeID: config.nodeId,
		// Redis pub/sub in a cluster; none (local calls only) in embedded mode.
		transporter: config.transporter ?? null,
		// Character reads are cached; in a cluster the cache is shared so a write clears it everywhere.
		cacher: config.mode === "cluster" && config.redisUrl ? { type: "Redis", options: { redis: config.redisUrl, prefix: "cameo-cache" } } : "Memory",
		logger: {
			type: "Console",
			options: {
				level: config.logLevel,
				formatter: config.logFormat === "json" ? "json" : "short",
				colors: config.logFormat === "pretty",
				moduleColors: false,
			},
		},
		// Max ms to wait for an action's reply.
		requestTimeout: 10_000,
		retryPolicy: { enabled: true, retries: 3, delay: 100, maxDelay: 1000, factor: 2, check: (err) => Boolean((err as { retryable?: boolean }).retryable) },
		// A node that stops answering is taken out of the balancer until it recovers.
		circuitBreaker: { enabled: true, threshold: 0.5, minRequestCount: 20, windowTime: 60, halfOpenTime: 10_000 },
		// Stop waits for in-flight requests before closing.
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		validator: true,
		metrics: { enabled: false },
		tracing: { enabled: false },
	};
}
