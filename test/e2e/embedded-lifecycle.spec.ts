/**
 * The embedded PostgreSQL's life beside others and after accidents: two checkouts on one machine (same default port),
 * a port held by another program, a server left behind by kill -9, SIGHUP and the signals `npm start` gets, a data
 * directory the `postgres` system user cannot reach (as root), and the database password never readable by others.
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import {
	eventually,
	freePort,
	killStarted,
	portOpen,
	startCameo,
	startProcess,
	waitForStatus,
	within,
	type RunningProcess,
} from "../support/process.js";
// An orphan's new parent may not reap it at once: a zombie has exited.
import { isRunning as running } from "../../src/adapters/processes.js";

const DEFAULT_PG_PORT = 54329;
const dirs: string[] = [];

async function newDataDir(): Promise<string> {
	const base = await mkdtemp(path.join(tmpdir(), "cameo-lifecycle-"));
	// As root the server runs as the `postgres` user, which must be able to enter it (mkdtemp makes it 0700).
	await chmod(base, 0o755);
	dirs.push(base);
	return path.join(base, "data");
}

async function envFor(dataDir: string, extra: Record<string, string> = {}) {
	return {
		DATA_DIR: dataDir,
		API_PORT: String(await freePort()),
		WS_PORT: String(await freePort()),
		HEALTH_PORT: "0",
		LOGLEVEL: "info",
		...extra,
	};
}

async function healthy(proc: RunningProcess, env: Record<string, string>): Promise<void> {
	await waitForStatus(`http://127.0.0.1:${env.API_PORT}/health`, 200, 90_000, proc);
	await eventually(() => proc.output().includes("cameo is up"), 30_000, "the start line");
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
	try {
		return Number((await readFile(path.join(dataDir, "postgres", "postmaster.pid"), "utf8")).split("\n")[0]);
	} catch {
		return undefined;
	}
}

/** /tmp/pg-password-* files: their names, modes and whether they hold `secret`. */
async function passwordFiles(secret: string) {
	const names = (await readdir(tmpdir())).filter((name) => name.startsWith("pg-password-"));
	const files = await Promise.all(
		names.map(async (name) => {
			const file = path.join(tmpdir(), name);
			try {
				const [info, text] = await Promise.all([stat(file), readFile(file, "utf8")]);
				return { name, mode: info.mode & 0o777, holdsSecret: secret !== "" && text.includes(secret) };
			} catch {
				return undefined; // gone meanwhile
			}
		}),
	);
	return files.filter((f) => f !== undefined);
}

function listen(port: number): Promise<Server> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(port, "127.0.0.1", () => resolve(server));
	});
}

describe("embedded PostgreSQL lifecycle", () => {
	afterAll(async () => {
		await killStarted();
		// kill -9 leaves PostgreSQL running: stop what any test left.
		for (const dir of dirs) {
			const pid = await postmasterPid(path.join(dir, "data"));
			if (pid && running(pid)) process.kill(pid, "SIGINT");
		}
		await new Promise((r) => setTimeout(r, 1000));
		await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
	});

	it("should start two checkouts side by side on the same default port, the second on another port it names", async () => {
		const [a, b] = [await newDataDir(), await newDataDir()];
		const [envA, envB] = [await envFor(a), await envFor(b)];
		const first = startCameo(envA);
		await healthy(first, envA);
		const second = startCameo(envB);
		await healthy(second, envB);
		// Whichever got 54329, the other says where it went.
		expect(`${first.output()}${second.output()}`).toMatch(
			new RegExp(
				`Port ${DEFAULT_PG_PORT} is taken by another program: the embedded PostgreSQL listens on 127\\.0\\.0\\.1:\\d+ instead`,
			),
		);
		// No Unix socket (its lock in /tmp is what stopped the second checkout, even in another network namespace):
		// the lock file's socket directory line is empty.
		expect((await readFile(path.join(b, "postgres", "postmaster.pid"), "utf8")).split("\n")[4]).toBe("");
		// Started with no LANG or LC_* (startCameo passes PATH and HOME only), the database is still UTF-8, and
		// search's text configuration sees words in any script.
		const port = Number(/Embedded PostgreSQL is up on 127\.0\.0\.1:(\d+)/.exec(first.output())?.[1]);
		const { postgresPassword } = JSON.parse(await readFile(path.join(a, "secrets.json"), "utf8"));
		const db = new pg.Client({ host: "127.0.0.1", port, user: "cameo", password: postgresPassword, database: "cameo" });
		await db.connect();
		try {
			const { rows } = await db.query(
				`SELECT pg_encoding_to_char(encoding) AS encoding, to_tsvector('simple', 'Привет Grüße 你好')::text AS words
				 FROM pg_database WHERE datname = 'cameo'`,
			);
			expect(rows).toEqual([{ encoding: "UTF8", words: "'grüße':2 'привет':1 '你好':3" }]);
		} finally {
			await db.end();
		}
		first.child.kill("SIGINT");
		second.child.kill("SIGINT");
		expect(await within(Promise.all([first.exited, second.exited]), 30_000, "both to stop")).toEqual([0, 0]);
	}, 180_000);

	it("should pick another port when a program holds the default one, and refuse a taken EMBEDDED_PG_PORT or API_PORT in one line", async () => {
		const dataDir = await newDataDir();
		const holder = (await portOpen(DEFAULT_PG_PORT)) ? undefined : await listen(DEFAULT_PG_PORT);
		const taken = await listen(0);
		const takenPort = (taken.address() as { port: number }).port;
		try {
			const env = await envFor(dataDir);
			const proc = startCameo(env);
			await healthy(proc, env);
			expect(proc.output()).toMatch(
				/WARN .*Port 54329 is taken by another program: the embedded PostgreSQL listens on 127\.0\.0\.1:(\d+) instead/,
			);
			const picked = Number(/listens on 127\.0\.0\.1:(\d+) instead/.exec(proc.output())?.[1]);
			expect(proc.output()).toContain(`Embedded PostgreSQL is up on 127.0.0.1:${picked}`);
			proc.child.kill("SIGINT");
			expect(await proc.exited).toBe(0);

			const fixed = startCameo(await envFor(dataDir, { EMBEDDED_PG_PORT: String(takenPort) }));
			expect(await within(fixed.exited, 60_000, "a refused start")).toBe(1);
			expect(fixed.output()).toContain(
				`cameo could not start: EMBEDDED_PG_PORT=${takenPort} is taken by another program`,
			);
			expect(fixed.output()).not.toContain("TypeError");

			// The gateway's and chat-ws' ports too (the gateway waited forever, chat-ws crashed and left PostgreSQL).
			const busy = startCameo(await envFor(dataDir, { API_PORT: String(takenPort), EMBEDDED_PG_PORT: "0" }));
			expect(await within(busy.exited, 30_000, "a refused start")).toBe(1);
			expect(busy.output()).toContain(
				`cameo: API_PORT=${takenPort} is taken by another program (another cameo?): set API_PORT to a free port`,
			);
			expect(await postmasterPid(dataDir)).toBeUndefined();
		} finally {
			holder?.close();
			taken.close();
		}
	}, 180_000);

	it("should stop the PostgreSQL a killed start left behind, stop cleanly on SIGHUP, and name PostgreSQL's own failure", async () => {
		const dataDir = await newDataDir();
		const env = await envFor(dataDir, { EMBEDDED_PG_PORT: "0" });
		const first = startCameo(env);
		await healthy(first, env);
		const leftover = await postmasterPid(dataDir);
		first.child.kill("SIGKILL");
		await first.exited;
		expect(leftover && running(leftover)).toBe(true);

		const second = startCameo(env);
		await healthy(second, env);
		expect(second.output()).toMatch(
			new RegExp(
				`WARN .*A PostgreSQL server \\(pid ${leftover}\\) is still running from DATA_DIR=.*left behind by an earlier start: stopping it`,
			),
		);
		expect(running(leftover as number)).toBe(false);

		// A second start from a data directory a running cameo uses is refused, and leaves that one alone.
		const server = await postmasterPid(dataDir);
		const intruder = startCameo(await envFor(dataDir, { EMBEDDED_PG_PORT: "0" }));
		expect(await within(intruder.exited, 60_000, "a refused start")).toBe(1);
		expect(intruder.output()).toContain(
			`cameo could not start: A PostgreSQL server (pid ${server}) is still running from DATA_DIR=${dataDir}, started by another cameo (pid ${second.child.pid})`,
		);
		expect((await fetch(`http://127.0.0.1:${env.API_PORT}/health`)).status).toBe(200);

		// A closed terminal: SIGHUP stops everything, PostgreSQL included.
		second.child.kill("SIGHUP");
		expect(await within(second.exited, 30_000, "SIGHUP to stop cameo")).toBe(0);
		expect(second.output()).toContain("SIGHUP: stopping");
		expect(running(server as number)).toBe(false);

		// PostgreSQL refuses its configuration: its own FATAL line, at error level, and no TypeError.
		await writeFile(path.join(dataDir, "postgres", "postgresql.auto.conf"), "no_such_setting = 1\n");
		const third = startCameo(env);
		expect(await within(third.exited, 60_000, "a failed start")).toBe(1);
		expect(third.output()).toMatch(
			/ERROR .*\[postgres\] .*FATAL: +configuration file .*postgresql\.auto\.conf.* contains errors/,
		);
		expect(third.output()).toMatch(
			/cameo could not start: Embedded PostgreSQL did not start: FATAL: configuration file .*postgresql\.auto\.conf.* contains errors/,
		);
		expect(third.output()).not.toContain("TypeError");
	}, 180_000);

	it("should stop PostgreSQL when the npm process of `npm start` gets SIGTERM or SIGHUP", async () => {
		for (const signal of ["SIGTERM", "SIGHUP"] as const) {
			const dataDir = await newDataDir();
			const env = await envFor(dataDir, { EMBEDDED_PG_PORT: "0" });
			// --ignore-scripts: no web build (prestart); the start script runs as usual: npm → sh → tsx → node.
			const npm = startProcess("npm", ["start", "--ignore-scripts"], env, { group: true });
			await healthy(npm, env);
			const server = await postmasterPid(dataDir);
			process.kill(npm.child.pid as number, signal);
			// The broker logs that it stopped just after PostgreSQL is gone, so the log line is waited for too.
			await eventually(
				async () =>
					!(await portOpen(Number(env.API_PORT))) &&
					!running(server as number) &&
					npm.output().includes("ServiceBroker is stopped"),
				30_000,
				`cameo and PostgreSQL to stop after ${signal} to npm`,
			);
			expect(npm.output()).toMatch(/(SIGTERM|npm start's process \d+ exited): stopping/);
		}
	}, 180_000);

	it("should never leave the database password in a file others can read", async () => {
		const before = new Set((await passwordFiles("")).map((f) => f.name));
		const dataDir = await newDataDir();
		const env = await envFor(dataDir, { EMBEDDED_PG_PORT: "0" });
		// The password exists before the first start: secrets.json, as an earlier start leaves it.
		const secret = "not-a-real-password-but-unique-" + Math.random().toString(36).slice(2);
		await mkdir(dataDir, { recursive: true });
		await writeFile(
			path.join(dataDir, "secrets.json"),
			JSON.stringify({ jwtSecret: "x".repeat(64), postgresPassword: secret }),
			{ mode: 0o600 },
		);

		// While initdb runs, look at every password file in /tmp.
		const seen: Awaited<ReturnType<typeof passwordFiles>> = [];
		const proc = startCameo(env);
		const watch = setInterval(() => void passwordFiles(secret).then((files) => seen.push(...files)), 20);
		try {
			await healthy(proc, env);
		} finally {
			clearInterval(watch);
		}
		expect(seen.filter((f) => f.holdsSecret || (f.mode & 0o077) !== 0)).toEqual([]);
		proc.child.kill("SIGINT");
		expect(await proc.exited).toBe(0);

		// A start whose initdb fails (a non-empty directory where the cluster goes).
		const broken = await newDataDir();
		await mkdir(path.join(broken, "postgres"), { recursive: true });
		await writeFile(path.join(broken, "postgres", "stray-file"), "x");
		await writeFile(
			path.join(broken, "secrets.json"),
			JSON.stringify({ jwtSecret: "x".repeat(64), postgresPassword: secret }),
			{ mode: 0o600 },
		);
		const failed = startCameo(await envFor(broken, { EMBEDDED_PG_PORT: "0" }));
		expect(await within(failed.exited, 60_000, "a failed initdb")).toBe(1);
		// initdb's own words, in its logged line or in the start error that quotes them (a CI run under load had only the
		// latter: the process exited before the logged line reached its output).
		expect(failed.output()).toMatch(/(ERROR .*\[postgres\] |FATAL .*ERROR OUTPUT: )initdb: error:/);

		// None holds the password, and none of those made meanwhile is readable by others (another run's start may be
		// making one right now: it is not counted as left behind).
		expect(
			(await passwordFiles(secret)).filter((f) => f.holdsSecret || (!before.has(f.name) && (f.mode & 0o077) !== 0)),
		).toEqual([]);
		expect((await readdir(broken)).filter((name) => name.includes("password"))).toEqual([]);
		expect((await readdir(dataDir)).filter((name) => name.includes("password"))).toEqual([]);
	}, 180_000);

	it.runIf(process.getuid?.() === 0)(
		"should refuse, in one line naming DATA_DIR, a data directory the postgres user cannot enter (root)",
		async () => {
			const closed = await mkdtemp(path.join(tmpdir(), "cameo-0700-"));
			dirs.push(closed);
			expect((await stat(closed)).mode & 0o777).toBe(0o700);
			const dataDir = path.join(closed, "data");
			const proc = startCameo(await envFor(dataDir, { EMBEDDED_PG_PORT: "0" }));
			expect(await within(proc.exited, 60_000, "a refused start")).toBe(1);
			expect(proc.output()).toContain(
				`cameo could not start: DATA_DIR=${dataDir}: the "postgres" system user, which runs the embedded PostgreSQL when cameo runs as root, cannot enter ${closed} (mode 0700)`,
			);
			expect(proc.output()).not.toContain("TypeError");
		},
		90_000,
	);
});
