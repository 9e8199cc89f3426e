/**
 * Entry point: `npm start` (embedded, everything in one process) or one role of a cluster (SERVICES=..., TRANSPORTER=...).
 * `--repl` opens the Moleculer REPL on this node.
 */
import { loadConfig, ConfigError, type Config } from "./config.js";
import { createBroker, withLocalSecrets } from "./broker.js";

async function main(): Promise<void> {
	let config: Config;
	try {
		config = await withLocalSecrets(loadConfig(process.env));
	} catch (err) {
		if (err instanceof ConfigError) {
			console.error(`cameo: configuration error: ${err.message}`);
			process.exit(2);
		}
		throw err;
	}

	const broker = createBroker(config);
	const startedAt = Date.now();
	try {
		await broker.start();
	} catch (err) {
		broker.logger.fatal(`cameo could not start: ${(err as Error).message}`);
		await broker.stop().catch(() => undefined);
		process.exit(1);
	}

	if (config.services.includes("api")) {
		const base = `http://localhost:${config.apiPort}`;
		broker.logger.info(
			`cameo is up (${config.mode}, ${Date.now() - startedAt} ms). REST API: ${base}  health: ${base}/health  — see README.md for the next steps.`,
		);
	}
	if (process.argv.includes("--repl")) broker.repl();
}

main().catch((err) => {
	console.error("cameo: fatal:", err);
	process.exit(1);
});
