/**
 * The gateway's HTTP server, shared within one process: when chat-ws runs beside the gateway it serves /ws on the
 * gateway's port too (a browser page then needs one origin), without reaching into the api service for it.
 */
import type { Server } from "node:http";
import type { ServiceBroker } from "moleculer";

const servers = new WeakMap<ServiceBroker, Server>();

/** Called by the api service once moleculer-web has made its server (in `created`, before any service starts). */
export function shareGatewayServer(broker: ServiceBroker, server: Server): void {
	servers.set(broker, server);
}

/** The HTTP server of this broker's gateway; undefined when the gateway runs in another process. */
export function gatewayServer(broker: ServiceBroker): Server | undefined {
	return servers.get(broker);
}
