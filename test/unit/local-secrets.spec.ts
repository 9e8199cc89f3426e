/**
 * withLocalSecrets: embedded mode generates the secrets it was not given, once, under DATA_DIR; a cluster node never
 * writes there (a role without SECRETS_KEY on a read-only root filesystem would otherwise fail to start).
 */
import { afterEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { withLocalSecrets } from "../../src/broker.js";
import { loadConfig } from "../../src/config.js";

const dirs: string[] = [];
async function dataDir(): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), "cameo-secrets-"));
	dirs.push(dir);
	return path.join(dir, "data");
}
afterEach(async () => {
	await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("withLocalSecrets", () => {
	it("should generate an embedded node's missing secrets once, under DATA_DIR", async () => {
		const DATA_DIR = await dataDir();
		const first = await withLocalSecrets(loadConfig({ DATA_DIR }));
		expect(first.jwtSecret).toMatch(/^[0-9a-f]{64}$/);
		expect(first.secretsKey).toHaveLength(32);
		expect(existsSync(path.join(DATA_DIR, "secrets.json"))).toBe(true);
		const again = await withLocalSecrets(loadConfig({ DATA_DIR }));
		expect(again.jwtSecret).toBe(first.jwtSecret);
	});

	it("should leave a cluster node without SECRETS_KEY as it is, writing nothing", async () => {
		const DATA_DIR = await dataDir();
		const config = loadConfig({
			DATA_DIR,
			TRANSPORTER: "redis://127.0.0.1:6379",
			JWT_SECRET: "j".repeat(32),
			DATABASE_URL: "postgres://cameo@127.0.0.1/cameo",
			SERVICES: "api",
		});
		expect(await withLocalSecrets(config)).toBe(config);
		expect(config.secretsKey).toBeUndefined();
		expect(existsSync(DATA_DIR)).toBe(false);
	});
});
