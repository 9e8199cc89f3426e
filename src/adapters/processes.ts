/**
 * Other processes as Linux shows them in /proc: is one running, who is its parent, what was it started as.
 * Elsewhere (no /proc) `processInfo` answers `undefined` and callers fall back to saying what to do.
 */
import { readFileSync } from "node:fs";

export interface ProcessInfo {
	/** One letter: R running, S sleeping, Z zombie (exited, not reaped yet), ... */
	state: string;
	ppid: number;
	argv: string[];
}

export function processInfo(pid: number): ProcessInfo | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses, the fields after its last ")" cannot.
		const [state = "", ppid = ""] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
		return { state, ppid: Number(ppid), argv };
	} catch {
		return undefined;
	}
}

/** True while `pid` exists and has not exited (a zombie has). */
export function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch (err) {
		// EPERM: it exists, it belongs to someone else.
		if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
	}
	return processInfo(pid)?.state !== "Z";
}

/** Waits until `pid` has exited; false when it still runs after `ms`. */
export async function waitForExit(pid: number, ms: number): Promise<boolean> {
	const deadline = Date.now() + ms;
	while (isRunning(pid)) {
		if (Date.now() > deadline) return false;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return true;
}

function isNpm(argv: string[]): boolean {
	// npm renames itself ("npm start"); older ones show as `node .../npm-cli.js`.
	return /^npm( |$)/.test(argv[0] ?? "") || argv.some((arg) => arg.endsWith("npm-cli.js"));
}

/**
 * `npm start` runs npm → sh → tsx → node. npm forwards SIGTERM only to sh, which dies without passing it on, and a
 * SIGHUP sent to npm alone reaches none of them: we would keep serving (and PostgreSQL with us) after npm is gone.
 * Calls `onGone` once any process between this one and npm (npm included) has exited. Does nothing when npm did not
 * start us, or without /proc.
 */
export function watchLaunchers(onGone: (pid: number) => void, everyMs = 1000): void {
	if (!process.env.npm_lifecycle_event) return;
	const launchers: number[] = [];
	let npmFound = false;
	for (let pid = process.ppid; pid > 1 && launchers.length < 6 && !npmFound;) {
		const info = processInfo(pid);
		if (!info) return;
		launchers.push(pid);
		npmFound = isNpm(info.argv);
		pid = info.ppid;
	}
	if (!npmFound) return;
	const timer = setInterval(() => {
		const gone = launchers.find((pid) => !isRunning(pid));
		if (gone === undefined) return;
		clearInterval(timer);
		onGone(gone);
	}, everyMs);
	timer.unref();
}
