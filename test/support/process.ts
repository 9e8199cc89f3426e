/** Helpers for tests that run cameo, or a server it needs, as a real child process. */
import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

export interface RunningProcess {
	child: ChildProcess;
	output: () => string;
	exited: Promise<number | null>;
	/** Leads a process group of its own, killed as a whole (a start script and the server it runs). */
	group: boolean;
}

/** Every process this test file started that is still running, so `killStarted` leaves none behind. */
const running = new Set<RunningProcess>();

/** Starts `command` with the given environment (on top of PATH and HOME only). */
export function startProcess(
	command: string,
	args: string[],
	env: Record<string, string>,
	opts: { group?: boolean } = {},
): RunningProcess {
	const group = opts.group ?? false;
	const child = spawn(command, args, {
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
		stdio: ["ignore", "pipe", "pipe"],
		detached: group,
	});
	let output = "";
	child.stdout?.on("data", (d) => (output += d));
	child.stderr?.on("data", (d) => (output += d));
	const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
	const proc: RunningProcess = { child, output: () => output, exited, group };
	running.add(proc);
	void exited.then(() => running.delete(proc));
	return proc;
}

/** Starts `tsx src/main.ts` with the given environment (on top of PATH and HOME only). */
export function startCameo(env: Record<string, string>, args: string[] = []): RunningProcess {
	return startProcess(process.execPath, ["--import", "tsx", "src/main.ts", ...args], env);
}

/** kill -9 (the whole group of a group leader); resolves once the process has exited. */
export async function killHard(proc: RunningProcess, ms = 10_000): Promise<void> {
	const { child } = proc;
	if (child.pid === undefined) return;
	try {
		process.kill(proc.group ? -child.pid : child.pid, "SIGKILL");
	} catch {
		// Already gone (a group's leader may exit before the rest).
	}
	await within(proc.exited, ms, `process ${child.pid} to exit after SIGKILL`);
}

/** kill -9 every process this test file started that is still running (for afterAll, whatever failed). */
export async function killStarted(): Promise<void> {
	await Promise.all([...running].map((proc) => killHard(proc).catch(() => undefined)));
}

/** Polls `url` until it answers with `status`, or fails after `timeoutMs`. */
export async function waitForStatus(
	url: string,
	status: number,
	timeoutMs: number,
	proc?: RunningProcess,
): Promise<number> {
	const started = Date.now();
	while (Date.now() - started < timeoutMs) {
		try {
			const res = await fetch(url);
			if (res.status === status) return Date.now() - started;
		} catch {
			// not listening yet
		}
		if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms${proc ? `:\n${proc.output()}` : ""}`);
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = connect({ port, host: "127.0.0.1" });
		socket.once("connect", () => {
			socket.destroy();
			resolve(true);
		});
		socket.once("error", () => resolve(false));
	});
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>(
		(_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
	);
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it holds; rejects naming `what` after `timeoutMs`. Resolves with the time it took. */
export async function eventually(
	check: () => boolean | Promise<boolean>,
	timeoutMs: number,
	what: string,
	everyMs = 200,
): Promise<number> {
	const started = Date.now();
	while (Date.now() - started < timeoutMs) {
		if (await check()) return Date.now() - started;
		await new Promise((r) => setTimeout(r, everyMs));
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
