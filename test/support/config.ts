/** A validated Config for tests: the run's own database, a fixed JWT secret, OS-chosen ports. */
import type { ServiceBroker } from "moleculer";
import { loadConfig, type Config } from "../../src/config.js";

export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-characters-long";
/** Encrypts users' own provider keys in tests (SECRETS_KEY, 32 bytes as hex). */
export const TEST_SECRETS_KEY = "7e57".repeat(16);

export function testConfig(env: Record<string, string> = {}): Config {
	const databaseUrl = process.env.TEST_DATABASE_URL;
	if (!databaseUrl)
		throw new Error("TEST_DATABASE_URL is not set: run the tests with `npm test` (vitest global setup creates it)");
	return loadConfig({
		DATABASE_URL: databaseUrl,
		JWT_SECRET: TEST_JWT_SECRET,
		SECRETS_KEY: TEST_SECRETS_KEY,
		API_PORT: "0",
		WS_PORT: "0",
		GRPC_PORT: "0",
		LOGLEVEL: "warn",
		AUTH_RATE_LIMIT: "1000",
		// Many handshakes from one address and account: the tests of these limits set their own.
		CHAT_HANDSHAKES_PER_MINUTE: "100000",
		CHAT_HANDSHAKES_PER_IP_PER_MINUTE: "100000",
		CHAT_MAX_SOCKETS_PER_USER: "1000",
		// The hostile suite imports many cards with one account: the import limit's own test sets it.
		CHARACTER_IMPORTS_PER_MINUTE: "100000",
		// Embedded mode paces the offline model by default; tests that want it paced say so.
		OFFLINE_MODEL_DELAY_MS: "0",
		...env,
	});
}

/** Unique per call, within the username rules (3-32 of [A-Za-z0-9_.-]). */
export function uniqueName(prefix = "u"): string {
	return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
}

/** Registers an owner and creates a public character with a greeting; returns the character id. */
export async function createTestCharacter(broker: ServiceBroker): Promise<string> {
	const owner = await broker.call<{ id: string; username: string }, object>("auth.register", {
		username: uniqueName("owner"),
		name: "Owner",
		password: "password123",
	});
	const character = await broker.call<{ id: string }, object>(
		"characters.create",
		{
			name: `Test Bard ${uniqueName("c")}`,
			system_prompt: "You are a cheerful travelling bard who answers in short rhymes.",
			greeting: "Well met, traveller! Pull up a stool and tell me your tale.",
			description: "A bard for tests.",
		},
		{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
	);
	return character.id;
}

/** Someone who signed up and logged in, with the `meta.user` actions are called with on their behalf. */
export interface SignedUp {
	id: string;
	username: string;
	token: string;
	meta: { user: { id: string; username: string; role: "user" } };
}

export async function signUp(broker: ServiceBroker, prefix: string, name = "Test Person"): Promise<SignedUp> {
	const username = uniqueName(prefix);
	const user = await broker.call<{ id: string }, object>("auth.register", { username, name, password: "password123" });
	const { access_token: token } = await broker.call<{ access_token: string }, object>("auth.login", {
		username,
		password: "password123",
	});
	return { id: user.id, username, token, meta: { user: { id: user.id, username, role: "user" } } };
}
