/**
 * Entry point: `npm start` (embedded, everything in one process) or one role of a cluster (SERVICES=..., TRANSPORTER=...).
 * `--repl` opens the Moleculer REPL on this node.
 */
import { loadConfig, ConfigError, type Config } from "./config.js";
import { createBroker, withLocalSecrets } from "./broker.js";
import { startHealthServer } from "./adapters/health-server.js";
import { portTaken } from "./adapters/ports.js";
import { watchLaunchers } from "./adapters/processes.js";
import { failureMessage } from "./domain/failure-message.js";

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

	// A second checkout on the same ports: the gateway would wait forever for its port and chat-ws would crash (leaving
	// the embedded PostgreSQL behind). Say so before starting anything.
	const listeners = [
		{ name: "API_PORT", port: config.apiPort, host: config.apiHost, service: "api" },
		{ name: "WS_PORT", port: config.wsPort, host: config.wsHost, service: "chat-ws" },
	].filter((l) => (config.services as string[]).includes(l.service));
	const taken: typeof listeners = [];
	for (const l of listeners) if (await portTaken(l.port, l.host)) taken.push(l);
	if (taken.length > 0) {
		const which = taken.map((l) => `${l.name}=${l.port}`).join(" and ");
		const names = taken.map((l) => l.name).join(" and ");
		console.error(
			`cameo: ${which} ${taken.length > 1 ? "are" : "is"} taken by another program (another cameo?): set ${names} to a free port`,
		);
		process.exit(1);
	}

	// Signals are handled below, so readiness can turn 503 before the broker stops.
	const broker = createBroker(config, { skipProcessEventRegistration: true });
	// Up before the broker starts: Kubernetes sees a live process that is not ready yet.
	const health = await startHealthServer(broker, config).catch((err: unknown) => {
		// Kubernetes' probes then fail and restart the pod; a laptop with something else on the port keeps working.
		broker.logger.warn(
			`Health server not started on :${config.healthPort} (${failureMessage(err)}); set HEALTH_PORT to another port`,
		);
		return undefined;
	});
	let shuttingDown = false;
	const shutdown = async (signal: string) => {
		if (shuttingDown) return;
		shuttingDown = true;
		// After SIGHUP the terminal may be gone: a failed log line must not cut the shutdown short.
		for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
		health?.markStopping();
		if (config.shutdownDelayMs > 0) {
			broker.logger.info(`${signal}: not ready any more; stopping in ${config.shutdownDelayMs} ms`);
			await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
		}
		// In-flight requests and queue messages finish, sockets close with 1012 (README, Operations).
		broker.logger.info(`${signal}: stopping`);
		try {
			await broker.stop();
		} catch (err) {
			broker.logger.fatal("Could not stop cleanly:", err);
			process.exit(1);
		}
		await health?.close();
		process.exit(0);
	};
	// SIGHUP: the terminal was closed. Without a handler node dies at once and leaves PostgreSQL running.
	for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void shutdown(signal));
	watchLaunchers((pid) => void shutdown(`npm start's process ${pid} exited`));

	const startedAt = Date.now();
	try {
		await broker.start();
	} catch (err) {
		broker.logger.fatal(`cameo could not start: ${failureMessage(err)}`);
		await broker.stop().catch(() => undefined);
		process.exit(1);
	}

	if (config.services.includes("api")) {
		const base = `http://localhost:${config.apiPort}`;
		broker.logger.info(
			`cameo is up (${config.mode}, ${Date.now() - startedAt} ms). REST API: ${base}  health: ${base}/health  — see README.md for the next steps.`,
		);
	}
	if (health)
		broker.logger.info(`Health on :${health.port}: /livez /readyz${config.metricsEnabled ? " /metrics" : ""}`);
	if (process.argv.includes("--repl")) broker.repl();
}

main().catch((err: unknown) => {
	console.error(`cameo: fatal: ${err instanceof Error ? (err.stack ?? err.message) : failureMessage(err)}`);
	process.exit(1);
});
