/**
 * Embedded mode has no operator to hand out secrets, so the first start generates them and keeps them under the
 * data directory (mode 0600): tokens, the embedded database password and users' stored provider keys then survive a
 * restart. A file from before a secret existed gets it added.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export interface LocalSecrets {
	jwtSecret: string;
	postgresPassword: string;
	/** SECRETS_KEY's stand-in (hex): encrypts users' own provider keys. */
	secretsKey: string;
}

export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
	const file = path.join(dataDir, "secrets.json");
	const existing = await readSecrets(file);
	if (existing?.secretsKey) return existing as LocalSecrets;
	const secrets: LocalSecrets = {
		jwtSecret: existing?.jwtSecret ?? randomBytes(32).toString("hex"),
		postgresPassword: existing?.postgresPassword ?? randomBytes(18).toString("base64url"),
		secretsKey: randomBytes(32).toString("hex"),
	};
	await mkdir(dataDir, { recursive: true });
	// Written whole under another name first, so no process ever reads a half-written file.
	const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
	await writeFile(temporary, JSON.stringify(secrets), { mode: 0o600 });
	try {
		// A file from before SECRETS_KEY gets it added (one process owns a data directory: its PostgreSQL's lock).
		if (existing) await rename(temporary, file);
		// link fails if another process made the file first: then its secrets are the ones.
		else await link(temporary, file);
		return secrets;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
		return (await readSecrets(file)) as LocalSecrets;
	} finally {
		await rm(temporary, { force: true });
	}
}

async function readSecrets(file: string): Promise<Partial<LocalSecrets> | undefined> {
	try {
		return JSON.parse(await readFile(file, "utf8")) as Partial<LocalSecrets>;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		throw err;
	}
}
