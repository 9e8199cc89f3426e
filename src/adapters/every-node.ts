/**
 * Asking every node that runs a service, where a state is kept per node (a chat-ws node's sockets, an ai-consumer's
 * prompt records): the operators' commands and the prompt inspector.
 */
import type { ServiceBroker } from "moleculer";

/** A node that did not answer; the others' answers still count. */
export interface NodeFailure {
	node_id: string;
	error: string;
}

export interface PerNode<T> {
	/** Every available node that runs the service, asked or not answering. */
	nodes: string[];
	results: { node_id: string; value: T }[];
	failures: NodeFailure[];
}

/** Calls `service.action` on every available node that runs `service`, in parallel. */
export async function callEveryNode<T>(
	broker: ServiceBroker,
	service: string,
	action: string,
	params: object,
): Promise<PerNode<T>> {
	const list = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as unknown as {
		name: string;
		nodeID: string;
	}[];
	const nodes = [...new Set(list.filter((s) => s.name === service).map((s) => s.nodeID))].sort();
	const settled = await Promise.allSettled(
		nodes.map((nodeID) => broker.call<T, object>(`${service}.${action}`, params, { nodeID })),
	);
	const outcome: PerNode<T> = { nodes, results: [], failures: [] };
	settled.forEach((s, i) => {
		if (s.status === "fulfilled") outcome.results.push({ node_id: nodes[i], value: s.value });
		else outcome.failures.push({ node_id: nodes[i], error: (s.reason as Error).message });
	});
	return outcome;
}
