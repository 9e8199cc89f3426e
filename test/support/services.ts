/**
 * Where the tests find the servers and programs they use besides their own code, and which suites need what beyond
 * PostgreSQL (global-setup.ts always provides one, embedded when none answers). A suite whose needs are missing does
 * not run on a contributor's machine (skipping-runner.ts); under CI, which must run every suite, it fails.
 */
import { constants, existsSync } from "node:fs";
import { access } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const AMQP_URL = process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Debian's rabbitmq-server without the /usr/sbin wrapper, which would switch to the rabbitmq user (and its files). */
export const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/** Something a suite needs; `missing` says why it is not there, or undefined. */
interface Need {
	missing(): Promise<string | undefined>;
}

const PROBE_TIMEOUT_MS = 2000;
const DEFAULT_PORTS: Record<string, number> = { "postgres:": 5432, "postgresql:": 5432, "redis:": 6379, "amqp:": 5672 };

/** Why nothing accepts a TCP connection at the URL's host and port, or undefined when something does. */
export function unreachable(url: string): Promise<string | undefined> {
	const { hostname, port, protocol } = new URL(url);
	return new Promise((resolve) => {
		const target = { host: hostname, port: Number(port || DEFAULT_PORTS[protocol]) };
		const socket = net.connect({ ...target, timeout: PROBE_TIMEOUT_MS });
		const done = (why?: string) => {
			socket.destroy();
			resolve(why);
		};
		socket.once("connect", () => done());
		socket.once("timeout", () => done(`no answer within ${PROBE_TIMEOUT_MS} ms`));
		socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
	});
}

/** A server the suite connects to; named by host and port only (URLs may carry a password). */
function server(name: string, url: string): Need {
	const { host } = new URL(url);
	return {
		missing: async () => {
			const why = await unreachable(url);
			return why && `${name} on ${host} (${why})`;
		},
	};
}

/** A program the suite starts: an absolute path, or a name on PATH. */
function program(file: string): Need {
	const dirs = (process.env.PATH ?? "").split(path.delimiter);
	const candidates = path.isAbsolute(file) ? [file] : dirs.map((dir) => path.join(dir, file));
	const executable = (candidate: string) =>
		access(candidate, constants.X_OK).then(
			() => true,
			() => false,
		);
	return {
		missing: async () => {
			for (const candidate of candidates) if (await executable(candidate)) return undefined;
			return `the program ${file}`;
		},
	};
}

const redis = server("Redis", REDIS_URL);
const rabbitMq = server("RabbitMQ", AMQP_URL);
/** cluster.ts's nodes, and its removeNamespace, which lists RabbitMQ's queues with rabbitmqctl. */
const cluster = [redis, rabbitMq, program("rabbitmqctl")];

/** By path from the repository root; a suite not listed needs only PostgreSQL. */
const SUITE_NEEDS: Record<string, Need[]> = {
	"test/integration/amqp-channel-adapter.spec.ts": [program(RABBITMQ_SERVER)],
	"test/integration/api.spec.ts": [program(CHROMIUM_PATH)],
	"test/integration/chat-cluster.spec.ts": cluster,
	"test/integration/account-cluster.spec.ts": cluster,
	"test/integration/api-keys-cluster.spec.ts": cluster,
	"test/integration/ws-tickets-cluster.spec.ts": cluster,
	"test/integration/continue-impersonate.spec.ts": cluster,
	"test/integration/story-edits.spec.ts": cluster,
	"test/integration/health.spec.ts": [redis, rabbitMq],
	"test/integration/history-cache.spec.ts": [redis],
	"test/integration/metrics.spec.ts": cluster,
	"test/integration/openapi.spec.ts": [program(CHROMIUM_PATH)],
	"test/integration/operator-commands.spec.ts": cluster,
	"test/integration/quotas.spec.ts": cluster,
	"test/integration/repl-no-cluster.spec.ts": [redis],
	"test/integration/route-registry.spec.ts": [redis],
	"test/e2e/graceful-shutdown.spec.ts": cluster,
	"test/e2e/web.spec.ts": [program(CHROMIUM_PATH)],
	"test/e2e/web-characters.spec.ts": [program(CHROMIUM_PATH)],
	"test/integration/avatars-cluster.spec.ts": cluster,
	"test/e2e/web-story.spec.ts": [program(CHROMIUM_PATH)],
	"test/chaos/chaos.spec.ts": [program("redis-server"), program(RABBITMQ_SERVER)],
};

/** Suites the table names that do not exist (renamed, removed): what they need would be forgotten. */
export function unknownSuites(root: string): string[] {
	return Object.keys(SUITE_NEEDS).filter((file) => !existsSync(path.join(root, file)));
}

/** What the suite at `file` (relative to the repository root) needs and this machine lacks. */
export async function missingFor(file: string): Promise<string[]> {
	const missing = await Promise.all((SUITE_NEEDS[file] ?? []).map((need) => need.missing()));
	return missing.filter((why) => why !== undefined);
}

/** CI runs every suite: a missing service there is a failure, not a skip. */
export function underCi(): boolean {
	const ci = process.env.CI;
	return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0";
}
