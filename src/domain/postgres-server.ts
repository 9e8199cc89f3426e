/**
 * What cameo reads from a PostgreSQL server it runs itself: the severity of its log lines and the lock file
 * (`postmaster.pid`) it leaves in its data directory.
 */

export type PostgresLogLevel = "error" | "debug";

/**
 * Lines that explain why the server (or initdb) cannot run are errors; the rest is detail: a client's statement
 * errors (a duplicate key the caller handles), and the connections a shutdown ends (Ctrl-C signals PostgreSQL too).
 */
export function postgresLogLevel(line: string): PostgresLogLevel {
	if (
		/FATAL: +(terminating connection due to administrator command|canceling statement due to user request)/.test(line)
	)
		return "debug";
	return /\b(FATAL|PANIC):|^(\[STDERR\] )?initdb: error:|^(\[STDERR\] )?postgres: /.test(line) ? "error" : "debug";
}

export interface PostmasterPid {
	pid: number;
	dataDir: string;
	port: number | undefined;
}

/** `postmaster.pid`: line 1 the postmaster's pid, line 2 its data directory, line 4 its port. */
export function parsePostmasterPid(text: string): PostmasterPid | undefined {
	const lines = text.split("\n");
	const pid = Number(lines[0]);
	if (!Number.isInteger(pid) || pid <= 0) return undefined;
	const port = Number(lines[3]);
	return { pid, dataDir: lines[1] ?? "", port: Number.isInteger(port) && port > 0 ? port : undefined };
}
