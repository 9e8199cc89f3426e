/**
 * The `npm start` path as a user runs it: embedded PostgreSQL in a fresh data directory, migrations, seed
 * characters, gateway; then Ctrl-C stops everything cleanly and a second start reuses the kept data.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { mkdtemp, rm, chmod, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, portOpen, startCameo, waitForStatus, type RunningProcess } from "../support/process.js";

describe("embedded start", () => {
	let dataDir = "";
	let running: RunningProcess | undefined;

	afterAll(async () => {
		running?.child.kill("SIGKILL");
		if (dataDir) await rm(dataDir, { recursive: true, force: true });
	});

	async function boot(apiPort: number, pgPort: number) {
		const started = Date.now();
		running = startCameo({
			DATA_DIR: dataDir,
			API_PORT: String(apiPort),
			EMBEDDED_PG_PORT: String(pgPort),
			HEALTH_PORT: "0",
			LOGLEVEL: "info",
		});
		const ms = await waitForStatus(`http://127.0.0.1:${apiPort}/health`, 200, 60_000, running);
		// Every service is up once the start line is printed.
		const proc = running;
		await vi.waitFor(() => expect(proc.output()).toContain("cameo is up"), { timeout: 30_000, interval: 50 });
		return { ms, ready: Date.now() - started, proc };
	}

	async function stop(proc: RunningProcess) {
		proc.child.kill("SIGINT");
		return proc.exited;
	}

	it("should boot, serve the seeded characters, stop on SIGINT and keep its data", async () => {
		dataDir = await mkdtemp(path.join(tmpdir(), "cameo-embedded-"));
		// The embedded server runs as an unprivileged user when we are root: it must reach its data dir.
		await chmod(dataDir, 0o755);
		const apiPort = await freePort();
		const pgPort = await freePort();

		const first = await boot(apiPort, pgPort);
		const health = await (await fetch(`http://127.0.0.1:${apiPort}/health`)).json();
		expect(health).toMatchObject({ status: "ok", mode: "embedded" });

		const register = await fetch(`http://127.0.0.1:${apiPort}/register`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ username: "embedded_user", name: "Em Bedded", password: "correct horse battery" }),
		});
		expect(register.status).toBe(201);

		expect(await stop(first.proc)).toBe(0);
		expect(first.proc.output()).toContain("cameo is up");
		// PostgreSQL is gone with the process: its port is free again.
		expect(await portOpen(pgPort)).toBe(false);
		expect((await stat(path.join(dataDir, "secrets.json"))).mode & 0o777).toBe(0o600);

		// Second start: same data, the user registered before can log in.
		const second = await boot(apiPort, pgPort);
		const login = await fetch(`http://127.0.0.1:${apiPort}/login`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: "username=embedded_user&password=correct+horse+battery",
		});
		expect(login.status).toBe(200);
		const { access_token } = (await login.json()) as { access_token: string };
		const characters = await fetch(`http://127.0.0.1:${apiPort}/characters`, {
			headers: { Authorization: `Bearer ${access_token}` },
		});
		expect(((await characters.json()) as unknown[]).length).toBeGreaterThanOrEqual(4);
		expect(await stop(second.proc)).toBe(0);
		console.log(
			`embedded cold start: first /health 200 after ${first.ms} ms, all services up after ${first.ready} ms; warm restart: ${second.ms} / ${second.ready} ms`,
		);
	}, 120_000);
});
