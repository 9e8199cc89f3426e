/**
 * `npm run repl`: joins a running cluster as a node without services and opens the Moleculer REPL with the operator
 * commands (`help` lists them). It needs the cluster's TRANSPORTER and NAMESPACE, and AMQP_URL for `queues` and `dlq`;
 * the defaults are those of `npm run start:cluster`. It needs no JWT_SECRET and no database: it only calls actions.
 * An embedded `npm start` has no cluster to join: open its REPL with `npm start -- --repl`.
 */
import { hostname } from "node:os";
import { ConfigError, loadConfig, type Config } from "../src/config.js";
import { createBroker } from "../src/broker.js";

async function main(): Promise<void> {
	let config: Config;
	try {
		config = loadConfig({
			TRANSPORTER: "redis://127.0.0.1:6379",
			AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
			NODE_ID: `repl-${hostname()}-${process.pid}`,
			// Log lines would land in the middle of the prompt: warnings and errors only, readable.
			LOGLEVEL: "warn",
			LOG_FORMAT: "pretty",
			...process.env,
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
	await broker.start();
	console.log(`Joined namespace "${config.namespace}" as ${broker.nodeID}. Type \`help\` for the commands, \`quit\` to leave.`);
	broker.repl();
}

main().catch((err) => {
	console.error("cameo repl: fatal:", err);
	process.exit(1);
});
