/** Helpers for tests that run cameo as a real child process. */
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
}

/** Starts `tsx src/main.ts` with the given environment (on top of PATH and HOME only). */
export function startCameo(env: Record<string, string>, args: string[] = []): RunningProcess {
	const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let output = "";
	child.stdout?.on("data", (d) => (output += d));
	child.stderr?.on("data", (d) => (output += d));
	const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
	return { child, output: () => output, exited };
}

/** Polls `url` until it answers with `status`, or fails after `timeoutMs`. */
export async function waitForStatus(url: string, status: number, timeoutMs: number, proc?: RunningProcess): Promise<number> {
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
