/** Where a test broker's gateway (the `api` service, listening on a port the OS picked) answers. */
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { gatewayServer } from "../../src/adapters/gateway-server.js";

export function gatewayPort(broker: ServiceBroker): number {
	const server = gatewayServer(broker);
	if (!server) throw new Error("This broker runs no gateway (the api service)");
	return (server.address() as AddressInfo).port;
}

/** `http://127.0.0.1:{port}`, without a trailing slash. */
export function gatewayOrigin(broker: ServiceBroker): string {
	return `http://127.0.0.1:${gatewayPort(broker)}`;
}
