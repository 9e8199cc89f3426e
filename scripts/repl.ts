/**
 * `npm run repl`: joins a running cluster as a node without services and opens the Moleculer REPL with the operator
 * commands (`help` lists them). It needs the cluster's TRANSPORTER and NAMESPACE, and AMQP_URL for `queues` and `dlq`;
 * the defaults are those of `npm run start:cluster`. It needs no JWT_SECRET and no database: it only calls actions.
 * An embedded `npm start` has no cluster to join: open its REPL with `npm start -- --repl`.
 */
import { hostname } from "node:os";
import type { ServiceBroker } from "moleculer";
import { ConfigError, loadConfig, type Config } from "../src/config.js";
import { createBroker } from "../src/broker.js";
import { failureMessage } from "../src/domain/failure-message.js";

/** How long the transporter may take to connect, and the cluster's nodes to answer our discovery, before we give up. */
const CONNECT_TIMEOUT_MS = 5000;
const DISCOVERY_TIMEOUT_MS = 5000;

/** The transporter's address without its credentials, for a message. */
function transporterAddress(transporter: string | undefined): string {
	try {
		const url = new URL(transporter ?? "");
		url.username = "";
		url.password = "";
		return url.toString();
	} catch {
		return String(transporter);
	}
}

/** The transporter keeps reconnecting forever: give up after a while, and when no node of the cluster answers. */
async function joinCluster(broker: ServiceBroker, config: Config): Promise<string | undefined> {
	const at = `on ${transporterAddress(config.transporter)} (TRANSPORTER)`;
	const sleep = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
	// Unref'd: once connected, the REPL must not wait for it to quit.
	const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS).unref());
	const started = await Promise.race([broker.start().then(() => true), timeout]);
	if (!started) return `no transporter answers ${at} within ${CONNECT_TIMEOUT_MS / 1000} s`;
	const deadline = Date.now() + DISCOVERY_TIMEOUT_MS;
	while (Date.now() < deadline) {
		const nodes = broker.registry.nodes.list({ onlyAvailable: true, withServices: false }) as { local: boolean }[];
		if (nodes.some((node) => !node.local)) return undefined;
		await sleep(100);
	}
	return `no cameo node answered in namespace "${config.namespace}" ${at} within ${DISCOVERY_TIMEOUT_MS / 1000} s`;
}

async function main(): Promise<void> {
	let config: Config;
	try {
		const { AMQP_URL, RABBITMQ_HOST } = process.env;
		config = loadConfig({
			TRANSPORTER: "redis://127.0.0.1:6379",
			// A pod's RABBITMQ_* settings say where RabbitMQ is: the local default only when nothing does.
			...(AMQP_URL || RABBITMQ_HOST ? {} : { AMQP_URL: "amqp://guest:guest@127.0.0.1:5672" }),
			// Log lines would land in the middle of the prompt: warnings and errors only, readable.
			LOGLEVEL: "warn",
			LOG_FORMAT: "pretty",
			...process.env,
			// Never the NODE_ID of the pod it is opened in: two nodes with one id make the other stop.
			NODE_ID: `repl-${hostname()}-${process.pid}`,
			CAMEO_MODE: "cluster",
			SERVICES: "none",
		});
	} catch (err) {
		if (err instanceof ConfigError) {
			console.error(`cameo repl: configuration error: ${err.message}`);
			process.exit(2);
		}
		throw err;
	}

	const broker = createBroker(config);
	const noCluster = await joinCluster(broker, config);
	if (noCluster) {
		console.error(
			`cameo repl: no cluster to join: ${noCluster}. An embedded \`npm start\` has none: open its REPL with \`npm start -- --repl\`.`,
		);
		process.exit(1);
	}
	console.log(
		`Joined namespace "${config.namespace}" as ${broker.nodeID}. Type \`help\` for the commands, \`quit\` to leave.`,
	);
	broker.repl();
}

main().catch((err: unknown) => {
	console.error(`cameo repl: fatal: ${failureMessage(err)}`);
	process.exit(1);
});
