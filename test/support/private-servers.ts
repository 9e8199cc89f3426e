/**
 * A Redis and a RabbitMQ of a test's own, on free loopback ports, for tests that kill and restart them: the shared
 * ones on 6379 and 5672 serve every other test file running at the same time.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { eventually, freePort, killHard, portOpen, startProcess, type RunningProcess } from "./process.js";
import { uniqueName } from "./config.js";
import { RABBITMQ_SERVER } from "./services.js";

/** A server process that can be killed and started again on the same port, with what it keeps on disk. */
export abstract class PrivateServer {
	proc: RunningProcess | undefined;

	protected constructor(readonly port: number) {}

	abstract readonly url: string;
	protected abstract spawn(): RunningProcess;
	protected abstract ready(): Promise<boolean>;

	/** Starts the server; resolves with the milliseconds until it took connections. */
	async start(timeoutMs = 30_000): Promise<number> {
		const proc = (this.proc = this.spawn());
		return eventually(
			async () => {
				if (proc.child.exitCode !== null)
					throw new Error(`${this.constructor.name} exited early:\n${proc.output().slice(-3000)}`);
				return this.ready();
			},
			timeoutMs,
			`${this.constructor.name} on :${this.port}`,
			100,
		);
	}

	/** kill -9. */
	async kill(): Promise<void> {
		if (this.proc) await killHard(this.proc);
	}
}

/** redis-server without persistence: a restart loses every key, as an in-memory Redis pod's restart does. */
export class PrivateRedis extends PrivateServer {
	static async create(): Promise<PrivateRedis> {
		return new PrivateRedis(await freePort());
	}

	get url(): string {
		return `redis://127.0.0.1:${this.port}`;
	}

	protected spawn(): RunningProcess {
		return startProcess(
			"redis-server",
			["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
			{},
		);
	}

	protected ready(): Promise<boolean> {
		return portOpen(this.port);
	}
}

/**
 * A RabbitMQ node of its own (node name, AMQP and distribution ports, data and logs in a temporary directory) that
 * shares only epmd with the machine's broker. Durable queues and persistent messages survive its restarts.
 */
export class PrivateRabbitMq extends PrivateServer {
	private constructor(
		port: number,
		private readonly distPort: number,
		private readonly dir: string,
		private readonly nodeName: string,
	) {
		super(port);
	}

	static async create(): Promise<PrivateRabbitMq> {
		const [port, distPort] = [await freePort(), await freePort()];
		const dir = await mkdtemp(join(tmpdir(), "cameo-rabbitmq-"));
		await writeFile(join(dir, "rabbitmq.conf"), `listeners.tcp.local = 127.0.0.1:${port}\n`);
		await writeFile(join(dir, "enabled_plugins"), "[].\n");
		// Instead of /etc/rabbitmq/rabbitmq-env.conf, which names the machine's node.
		await writeFile(join(dir, "rabbitmq-env.conf"), "");
		return new PrivateRabbitMq(port, distPort, dir, `${uniqueName("chaos").replace(/_/g, "-")}@localhost`);
	}

	get url(): string {
		return `amqp://guest:guest@127.0.0.1:${this.port}`;
	}

	protected spawn(): RunningProcess {
		return startProcess(
			RABBITMQ_SERVER,
			[],
			{
				// The Erlang cookie goes to $HOME.
				HOME: this.dir,
				RABBITMQ_NODENAME: this.nodeName,
				RABBITMQ_DIST_PORT: String(this.distPort),
				RABBITMQ_CONF_ENV_FILE: join(this.dir, "rabbitmq-env.conf"),
				RABBITMQ_CONFIG_FILE: join(this.dir, "rabbitmq.conf"),
				RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, "enabled_plugins"),
				RABBITMQ_MNESIA_BASE: join(this.dir, "mnesia"),
				RABBITMQ_LOG_BASE: join(this.dir, "log"),
				ERL_EPMD_ADDRESS: "127.0.0.1",
				ERL_FLAGS: "-kernel inet_dist_use_interface {127,0,0,1}",
			},
			// The script runs the Erlang VM as its child: kill -9 must reach both.
			{ group: true },
		);
	}

	/** Ready once an AMQP connection opens, not when the port does. */
	protected async ready(): Promise<boolean> {
		if (!(await portOpen(this.port))) return false;
		try {
			await (await amqp.connect(this.url)).close();
			return true;
		} catch {
			return false;
		}
	}

	/** kill -9 and delete its data. */
	async remove(): Promise<void> {
		await this.kill();
		await rm(this.dir, { recursive: true, force: true });
	}
}
