/** Where a test broker's gateway (the `api` service, listening on a port the OS picked) answers. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";

export function gatewayPort(broker: ServiceBroker): number {
	const { server } = broker.getLocalService("api") as unknown as { server: Server };
	return (server.address() as AddressInfo).port;
}

/** `http://127.0.0.1:{port}`, without a trailing slash. */
export function gatewayOrigin(broker: ServiceBroker): string {
	return `http://127.0.0.1:${gatewayPort(broker)}`;
}
