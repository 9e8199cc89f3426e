/**
 * The pieces every chat service shares, built once per service from the config: the hot history cache, the route
 * registry and the delivery path. Cluster: Redis and gRPC. Embedded: an in-process cache shared by the broker's
 * services, in-process delivery.
 */
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import { MemoryHistoryCache, RedisHistoryCache, type HistoryCache } from "./history-cache.js";
import { LocalDelivery, type Delivery } from "./delivery.js";
import { DeliveryClientPool, GrpcDelivery } from "./grpc-delivery.js";
import { LocalRouteRegistry, RedisRouteRegistry, type RouteRegistry } from "./route-registry.js";
import { acquireRedis, releaseRedis } from "./redis.js";

/** A route not refreshed for this long is considered dead (keepRoutes refreshes every third of it). */
const ROUTE_TTL_SECONDS = 60;
const DELIVERY_DEADLINE_MS = 2000;

export interface ChatRuntime {
	history: HistoryCache;
	routes: RouteRegistry;
	delivery: Delivery;
	close(): Promise<void>;
}

interface Logger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
}

/** Embedded: chat-ws, ai-consumer and the dispatcher of one broker append to and read the same cache. */
const memoryHistoryCaches = new WeakMap<ServiceBroker, MemoryHistoryCache>();
/** Embedded: the dispatcher and ai-consumer deliver to the sockets the broker's chat-ws attached. */
const localDeliveries = new WeakMap<ServiceBroker, LocalDelivery>();

function memoryHistoryCache(config: Config, broker: ServiceBroker): MemoryHistoryCache {
	let cache = memoryHistoryCaches.get(broker);
	if (!cache)
		memoryHistoryCaches.set(
			broker,
			(cache = new MemoryHistoryCache(config.chat.historyWindow, config.chat.historyCacheMb * 1024 * 1024)),
		);
	return cache;
}

function localDelivery(broker: ServiceBroker): LocalDelivery {
	let delivery = localDeliveries.get(broker);
	if (!delivery) localDeliveries.set(broker, (delivery = new LocalDelivery()));
	return delivery;
}

export function createChatRuntime(config: Config, broker: ServiceBroker, logger: Logger): ChatRuntime {
	if (config.mode === "cluster" && config.redisUrl) {
		const redis = acquireRedis(config.redisUrl);
		const routes = new RedisRouteRegistry(redis, config.namespace, ROUTE_TTL_SECONDS);
		const clients = new DeliveryClientPool({ deadlineMs: DELIVERY_DEADLINE_MS, logger });
		return {
			history: new RedisHistoryCache(redis, config.namespace, config.chat.historyWindow),
			routes,
			delivery: new GrpcDelivery(routes, clients, logger),
			async close() {
				clients.close();
				await releaseRedis();
			},
		};
	}
	return {
		history: memoryHistoryCache(config, broker),
		routes: new LocalRouteRegistry(),
		delivery: localDelivery(broker),
		async close() {},
	};
}

/**
 * Keeps a chat-ws node findable: its sessions' routes are refreshed every third of their TTL, and at once when Redis
 * is back (maybe empty, restarted), followed by `afterReconnect`; `onDisconnect` hears when it goes. Returns the
 * function that stops all of it.
 */
export function keepRoutes(opts: {
	routes: RouteRegistry;
	address: string;
	sessionIds: () => string[];
	afterReconnect: () => Promise<void>;
	/** Redis is away: deliveries fail until `afterReconnect`. */
	onDisconnect: () => void;
	logger: Logger;
}): () => void {
	const { routes, address, sessionIds, logger } = opts;
	const heartbeat = setInterval(
		() => {
			routes.refresh(sessionIds(), address).catch((err) => logger.warn("Route refresh failed:", err));
		},
		(ROUTE_TTL_SECONDS * 1000) / 3,
	);
	const stopWatching = routes.onReconnect(() => {
		routes
			.refresh(sessionIds(), address)
			.then(() => opts.afterReconnect())
			.catch((err) => logger.warn("Catching up after a Redis reconnection failed:", err));
	});
	const stopWatchingLoss = routes.onDisconnect(opts.onDisconnect);
	return () => {
		clearInterval(heartbeat);
		stopWatching();
		stopWatchingLoss();
	};
}
