/**
 * Local cluster runner (`npm run start:cluster`): the same code as `npm start`, split into separate processes that
 * find each other over the Redis transporter, against the PostgreSQL, Redis and RabbitMQ running on this machine.
 * Override any URL through the environment (DATABASE_URL, TRANSPORTER, REDIS_URL, AMQP_URL).
 * Ctrl-C stops every process gracefully.
 */
import { spawn, type ChildProcess } from "node:child_process";
import pg from "pg";
import { CLUSTER_ROLES } from "../src/config.js";
import { loadOrCreateLocalSecrets } from "../src/adapters/local-secrets.js";

interface Role {
	name: string;
	env: Record<string, string>;
}

const ROLES: Role[] = [
	{ name: "gateway", env: { SERVICES: CLUSTER_ROLES.gateway, API_PORT: "8000" } },
	{ name: "accounts", env: { SERVICES: CLUSTER_ROLES.accounts } },
	{ name: "chat-ws-1", env: { SERVICES: CLUSTER_ROLES["chat-ws"], WS_PORT: "8004", GRPC_PORT: "50051" } },
	{ name: "chat-ws-2", env: { SERVICES: CLUSTER_ROLES["chat-ws"], WS_PORT: "8005", GRPC_PORT: "50052" } },
	{ name: "ai-consumer", env: { SERVICES: CLUSTER_ROLES["ai-consumer"] } },
	{ name: "dispatcher", env: { SERVICES: CLUSTER_ROLES.dispatcher } },
];

const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/cameo";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

async function ensureDatabase(url: string): Promise<void> {
	const target = new URL(url);
	const admin = new URL(url);
	admin.pathname = "/postgres";
	const client = new pg.Client({ connectionString: admin.toString() });
	await client.connect();
	try {
		const name = decodeURIComponent(target.pathname.slice(1));
		const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
		if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
	} finally {
		await client.end();
	}
}

async function main(): Promise<void> {
	await ensureDatabase(databaseUrl);
	const secrets = await loadOrCreateLocalSecrets(process.env.DATA_DIR ?? ".data");
	const shared: Record<string, string> = {
		CAMEO_MODE: "cluster",
		TRANSPORTER: process.env.TRANSPORTER ?? redisUrl,
		REDIS_URL: redisUrl,
		AMQP_URL: process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672",
		DATABASE_URL: databaseUrl,
		JWT_SECRET: process.env.JWT_SECRET ?? secrets.jwtSecret,
		SECRETS_KEY: process.env.SECRETS_KEY ?? secrets.secretsKey,
		LOG_FORMAT: process.env.LOG_FORMAT ?? "pretty",
	};

	const children: ChildProcess[] = ROLES.map((role, i) => {
		const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
			// One machine, six processes: each its own health port (9090, 9091, ...).
			env: {
				...process.env,
				...shared,
				NODE_ID: `${role.name}-${process.pid}`,
				HEALTH_PORT: String(9090 + i),
				...role.env,
			},
			stdio: ["ignore", "pipe", "pipe"],
		});
		const prefix = `[${role.name}] `;
		for (const stream of [child.stdout, child.stderr]) {
			stream?.on("data", (chunk: Buffer) => {
				for (const line of chunk.toString().split("\n")) if (line) process.stdout.write(prefix + line + "\n");
			});
		}
		child.on("exit", (code, signal) => console.log(`${prefix}exited (${signal ?? code})`));
		return child;
	});

	let stopping = false;
	const stopAll = (signal: NodeJS.Signals) => {
		if (stopping) return;
		stopping = true;
		for (const child of children) if (child.exitCode === null) child.kill(signal);
	};
	process.on("SIGINT", () => stopAll("SIGTERM"));
	process.on("SIGTERM", () => stopAll("SIGTERM"));
	// One role dying takes the others down: a half-running local cluster only confuses.
	await Promise.race(children.map((c) => new Promise((resolve) => c.on("exit", resolve))));
	stopAll("SIGTERM");
	await Promise.all(
		children.map((c) => (c.exitCode === null ? new Promise((resolve) => c.on("exit", resolve)) : undefined)),
	);
	process.exitCode = children.some((c) => c.exitCode !== 0 && c.signalCode === null) ? 1 : 0;
}

main().catch((err) => {
	console.error("cluster runner:", err);
	process.exit(1);
});
