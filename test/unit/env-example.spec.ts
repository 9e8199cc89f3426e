/**
 * .env.example against what reads it: every name is one src/config.ts reads (or one of compose.yaml's own), and
 * compose.yaml passes it on; the secrets a cluster cannot start without are there, empty, and compose.yaml refuses to
 * start without them; and each role of compose.yaml, given a filled-in .env, has a configuration src/config.ts accepts
 * with the services of CLUSTER_ROLES.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CLUSTER_ROLES, loadConfig } from "../../src/config.js";

const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), "utf8");

/** Variables compose.yaml itself reads: not the app's settings. */
const COMPOSE_VARIABLES = ["CAMEO_IMAGE", "CAMEO_PORT"];
/** Without these a cluster does not start: src/config.ts refuses it, or PostgreSQL and RabbitMQ get no password. */
const CLUSTER_SECRETS = ["JWT_SECRET", "SECRETS_KEY", "DB_PASSWORD", "RABBITMQ_PASSWORD"];

const example = new Map(
	read(".env.example")
		.split("\n")
		.filter((line) => line.trim() !== "" && !line.startsWith("#"))
		.map((line) => {
			const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
			if (!match) throw new Error(`.env.example: not NAME=value: ${line}`);
			return [match[1], match[2]] as const;
		}),
);
const configReads = new Set([...read("src/config.ts").matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]));
const composeText = read("compose.yaml");
const composeReads = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
const composeRequires = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]));

/** Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME:?error} (empty counts as unset, as with the colon). */
function interpolate(value: string, env: Map<string, string>): string {
	return value.replace(/\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
		const set = env.get(name);
		if (set) return set;
		if (op === "?") throw new Error(`compose.yaml: ${arg}`);
		return op === "-" ? (arg ?? "") : "";
	});
}

interface ComposeService {
	profiles?: string[];
	environment?: Record<string, string | number | boolean | null>;
}
const services = (parse(composeText, { merge: true }) as { services: Record<string, ComposeService> }).services;
const roles = Object.entries(services).filter(([, s]) => s.environment?.SERVICES !== undefined);

/** .env.example as an operator fills it in: the secrets given. */
function filledIn(): Map<string, string> {
	const env = new Map(example);
	env.set("JWT_SECRET", "a".repeat(64));
	env.set("SECRETS_KEY", "b".repeat(64));
	env.set("DB_PASSWORD", "db-password");
	env.set("RABBITMQ_PASSWORD", "mq-password");
	return env;
}

function roleEnvironment(service: ComposeService, env: Map<string, string>): Record<string, string> {
	return Object.fromEntries(
		Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ""), env)]),
	);
}

describe(".env.example", () => {
	it("should name only variables src/config.ts reads, or compose.yaml's own", () => {
		expect(configReads.size).toBeGreaterThan(50);
		const unknown = [...example.keys()].filter((name) => !configReads.has(name) && !COMPOSE_VARIABLES.includes(name));
		expect(unknown).toEqual([]);
	});

	it("should name only variables compose.yaml passes on", () => {
		expect([...example.keys()].filter((name) => !composeReads.has(name))).toEqual([]);
	});

	it("should list every secret a cluster needs, empty (no credential is committed)", () => {
		for (const name of CLUSTER_SECRETS) expect(example.get(name), name).toBe("");
		expect([...composeRequires].sort()).toEqual([...CLUSTER_SECRETS].sort());
	});

	it("should list every variable compose.yaml reads", () => {
		expect([...composeReads].filter((name) => !example.has(name))).toEqual([]);
	});
});

describe("compose.yaml", () => {
	it("should run the five roles of CLUSTER_ROLES, in the cluster profile", () => {
		const bySet = Object.fromEntries(roles.map(([name, s]) => [name, s.environment?.SERVICES]));
		expect(bySet).toEqual(CLUSTER_ROLES);
		for (const [, s] of roles) expect(s.profiles).toEqual(["cluster"]);
	});

	it("should set only variables src/config.ts reads in cameo's containers", () => {
		for (const [name, service] of [...roles, ["embedded", services.embedded] as const]) {
			const unknown = Object.keys(service.environment ?? {}).filter((key) => !configReads.has(key));
			expect(unknown, name).toEqual([]);
		}
	});

	it("should give each role a configuration src/config.ts accepts", () => {
		for (const [name, service] of roles) {
			const config = loadConfig(roleEnvironment(service, filledIn()));
			expect(config.mode, name).toBe("cluster");
			expect(config.services.join(","), name).toBe(CLUSTER_ROLES[name as keyof typeof CLUSTER_ROLES]);
		}
	});

	it("should give SECRETS_KEY to the ai-consumer role alone", () => {
		const holders = roles.filter(([, s]) => s.environment?.SECRETS_KEY !== undefined).map(([name]) => name);
		expect(holders).toEqual(["ai-consumer"]);
	});

	it("should refuse to start a cluster without each secret", () => {
		for (const secret of CLUSTER_SECRETS) {
			const env = filledIn();
			env.set(secret, "");
			expect(() => roles.forEach(([, s]) => roleEnvironment(s, env)), secret).toThrow(`set ${secret} in .env`);
		}
	});

	it("should start the embedded profile with nothing set", () => {
		const config = loadConfig(roleEnvironment(services.embedded, new Map()));
		expect(config.mode).toBe("embedded");
		expect(config.jwtSecret).toBeUndefined();
	});
});
