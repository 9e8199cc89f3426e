/**
 * Embedded mode has no operator to hand out secrets, so the first start generates them and keeps them under the
 * data directory (mode 0600): tokens and the embedded database password then survive a restart.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface LocalSecrets {
	jwtSecret: string;
	postgresPassword: string;
}

export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
	const file = path.join(dataDir, "secrets.json");
	try {
		return JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
	}
	const secrets: LocalSecrets = {
		jwtSecret: randomBytes(32).toString("hex"),
		postgresPassword: randomBytes(18).toString("base64url"),
	};
	await mkdir(dataDir, { recursive: true });
	// "wx": if another process won the race, read its secrets instead of overwriting them.
	try {
		await writeFile(file, JSON.stringify(secrets), { mode: 0o600, flag: "wx" });
		return secrets;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
		return JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
	}
}
