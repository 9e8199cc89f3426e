/**
 * One Sequelize instance per process, shared by every service that uses the db mixin, closed once when the last
 * of them stops. Opening it also starts the embedded PostgreSQL (embedded mode without DATABASE_URL) and runs the
 * migrations.
 */
import { hostname } from "node:os";
import { Sequelize } from "sequelize";
import pRetry from "p-retry";
import type { Config } from "../config.js";
import { initModels, type Models } from "../../models/index.js";
import { migrate } from "../../models/migrate.js";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./embedded-postgres.js";
import { loadOrCreateLocalSecrets } from "./local-secrets.js";

export interface Database {
	sequelize: Sequelize;
	models: Models;
}

interface Logger {
	error?(...args: unknown[]): void;
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	debug(...args: unknown[]): void;
}

let opening: Promise<{ db: Database; embedded?: EmbeddedPostgresHandle }> | undefined;
let users = 0;

export async function acquireDatabase(config: Config, logger: Logger): Promise<Database> {
	users += 1;
	opening ??= open(config, logger);
	try {
		return (await opening).db;
	} catch (err) {
		users -= 1;
		opening = undefined;
		throw err;
	}
}

export async function releaseDatabase(): Promise<void> {
	if (users === 0 || !opening) return;
	users -= 1;
	if (users > 0) return;
	const current = opening;
	opening = undefined;
	const { db, embedded } = await current;
	await db.sequelize.close();
	await embedded?.stop();
}

/**
 * `SELECT 1` for the readiness check; rejects when the database does not answer. Nothing to check (resolves at once)
 * when no service of this process has the database open.
 */
export async function pingDatabase(): Promise<void> {
	if (users === 0 || !opening) return;
	const { db } = await opening;
	await db.sequelize.query("SELECT 1");
}

/** `cameo/<node id>`, or `cameo/<host>-<pid>` when NODE_ID is not set (the broker's own default is alike). */
export function applicationName(nodeId: string | undefined): string {
	return `cameo/${nodeId ?? `${hostname()}-${process.pid}`}`.slice(0, 63);
}

async function open(config: Config, logger: Logger) {
	let embedded: EmbeddedPostgresHandle | undefined;
	let url = config.databaseUrl;
	if (!url) {
		const secrets = await loadOrCreateLocalSecrets(config.dataDir);
		embedded = await startEmbeddedPostgres({
			dataDir: config.dataDir,
			port: config.embeddedPgPort,
			portFixed: config.embeddedPgPortFixed,
			password: secrets.postgresPassword,
			logger: { error: logger.error ?? logger.warn, warn: logger.warn, debug: logger.debug },
		});
		url = embedded.url;
		logger.info(`Embedded PostgreSQL is up on 127.0.0.1:${embedded.port} (data in ${config.dataDir}/postgres)`);
	}
	const sequelize = new Sequelize(url, {
		dialect: "postgres",
		logging: false,
		pool: { max: config.dbPool.max, min: 0, idle: config.dbPool.idleMs },
		// pg_stat_activity shows whose connections they are (the pod's name in Kubernetes); PostgreSQL keeps 63 bytes.
		dialectOptions: { application_name: applicationName(config.nodeId) },
	});
	try {
		// In a cluster the database may come up after us: wait for it, a bounded number of times.
		await pRetry(() => sequelize.authenticate(), {
			retries: 8,
			minTimeout: 250,
			maxTimeout: 4000,
			onFailedAttempt: (e) => logger.warn(`Database not reachable yet (attempt ${e.attemptNumber}): ${e.message}`),
		});
		const applied = await migrate(sequelize);
		if (applied.length > 0) logger.info(`Applied migrations: ${applied.join(", ")}`);
		return { db: { sequelize, models: initModels(sequelize) }, embedded };
	} catch (err) {
		await sequelize.close().catch(() => undefined);
		await embedded?.stop();
		throw err;
	}
}
