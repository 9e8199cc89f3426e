import { afterEach, describe, expect, it, vi } from "vitest";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../src/config.js";
import { MASK, configuredSecrets, isSensitiveKey, redactText, redactValue } from "../../src/domain/log-redaction.js";
import { RedactingConsoleLogger } from "../../src/adapters/logger.js";

const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInVpZCI6IjEyMyJ9.c2lnbmF0dXJlLWJ5dGVz";
const HASH = "scrypt$17$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==";

describe("isSensitiveKey", () => {
	it("should flag passwords, hashes, tokens, credentials and keys in any spelling", () => {
		for (const key of [
			"password",
			"hashed_password",
			"passwordHash",
			"token",
			"access_token",
			"Authorization",
			"apiKey",
			"api_key",
			"X-Api-Key",
			"secret",
			"jwtSecret",
			"JWT_SECRET",
			"GOOGLE_API_KEY",
			"cookie",
		]) {
			expect(isSensitiveKey(key), key).toBe(true);
		}
	});

	it("should leave ordinary keys alone", () => {
		for (const key of [
			"username",
			"input_tokens",
			"max_output_tokens",
			"token_type",
			"session_id",
			"password_hint",
			"message_id",
		]) {
			expect(isSensitiveKey(key), key).toBe(false);
		}
	});
});

describe("redactValue", () => {
	it("should mask sensitive keys at any depth and in arrays, without touching the input", () => {
		const input = {
			username: "alice",
			password: "wonderland42",
			nested: { headers: { authorization: `Bearer ${JWT}` } },
			list: [{ api_key: "k" }],
		};
		expect(redactValue(input)).toEqual({
			username: "alice",
			password: MASK,
			nested: { headers: { authorization: MASK } },
			list: [{ api_key: MASK }],
		});
		expect(input.password).toBe("wonderland42");
	});

	it("should redact the text of strings, and pass errors through as they are", () => {
		const err = new Error("boom");
		expect(redactValue({ note: `hash ${HASH}`, err })).toEqual({ note: `hash ${MASK}`, err });
	});

	it("should end at a fixed depth, so a cycle cannot loop", () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		expect(JSON.stringify(redactValue(cyclic))).toContain("[Object]");
	});
});

describe("redactText", () => {
	it("should mask JWTs, scrypt hashes, URL credentials and Bearer credentials", () => {
		expect(redactText(`GET /ws/1?token=${JWT}&x=1`)).toBe(`GET /ws/1?token=${MASK}&x=1`);
		expect(redactText(`header ${JWT.split(".")[0]}`)).toBe(`header ${MASK}`);
		expect(redactText(`row ${HASH} stored`)).toBe(`row ${MASK} stored`);
		expect(redactText("connect postgres://cameo:s3cr%40t@db:5432/cameo failed")).toBe(
			`connect postgres://cameo:${MASK}@db:5432/cameo failed`,
		);
		expect(redactText("Authorization: Bearer abcdefgh12345678")).toBe(`Authorization: Bearer ${MASK}`);
	});

	it("should mask values of sensitive keys as util.inspect, JSON and forms print them", () => {
		expect(redactText("Params: { username: 'alice', password: 'wonderland42' }")).toBe(
			`Params: { username: 'alice', password: '${MASK}' }`,
		);
		expect(redactText('{"username":"alice","hashed_password":"x","apiKey": "k"}')).toBe(
			`{"username":"alice","hashed_password":"${MASK}","apiKey": "${MASK}"}`,
		);
		expect(redactText("username=alice&password=wonderland42&grant_type=password")).toBe(
			`username=alice&password=${MASK}&grant_type=password`,
		);
	});

	it("should mask configured secrets wherever they appear", () => {
		expect(redactText("key AIzaFAKEKEY1234567 in a URL ?key=AIzaFAKEKEY1234567", ["AIzaFAKEKEY1234567"])).toBe(
			`key ${MASK} in a URL ?key=${MASK}`,
		);
	});

	it("should leave ordinary log text as it is", () => {
		for (const line of [
			"Invalid token: jwt expired",
			"Reply published { input_tokens: 12, output_tokens: 40 }",
			'{"access":"ok","token_type":"bearer"}',
			"Publish failed, outbox will retry: Channel closed",
		]) {
			expect(redactText(line)).toBe(line);
		}
	});
});

describe("configuredSecrets", () => {
	it("should collect the JWT secret, model keys and URL passwords, longest first, skipping short ones", () => {
		const config = loadConfig({
			CAMEO_MODE: "cluster",
			TRANSPORTER: "redis://:redispassword1@127.0.0.1:6379",
			REDIS_URL: "redis://:redispassword1@127.0.0.1:6379",
			DATABASE_URL: "postgres://cameo:db%2Fpassword@127.0.0.1/cameo",
			AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
			JWT_SECRET: "j".repeat(40),
			SECRETS_KEY: "5e".repeat(32),
			GOOGLE_API_KEY: "AIzaFAKEKEY1234567",
		});
		const secretsKey = Buffer.from("5e".repeat(32), "hex");
		expect(configuredSecrets(config)).toEqual([
			"5e".repeat(32),
			secretsKey.toString("base64"),
			"j".repeat(40),
			"AIzaFAKEKEY1234567",
			"redispassword1",
			"db/password",
		]);
	});
});

describe("RedactingConsoleLogger", () => {
	afterEach(() => vi.restoreAllMocks());

	/** The lines `log` writes through a chat-ws service's logger. */
	function capture(format: "json" | "pretty", log: (logger: ServiceBroker["logger"]) => void): string[] {
		const broker = new ServiceBroker({
			nodeID: "node-1",
			namespace: "ns",
			skipProcessEventRegistration: true,
			logger: new RedactingConsoleLogger({ level: "debug", format, secrets: ["configured-secret-value"] }),
		});
		const service = broker.createService({ name: "chat-ws" });
		const lines: string[] = [];
		for (const method of ["log", "warn", "error"] as const)
			vi.spyOn(console, method).mockImplementation((...parts: unknown[]) => void lines.push(parts.join(" ")));
		log(service.logger);
		return lines;
	}

	it("should write one JSON object per line with time, level, node, service, message and the call's fields", () => {
		const [line] = capture("json", (logger) =>
			logger.warn({ session_id: "s-1", message_id: "m-1", token: JWT }, "Delivery failed:", { password: "pw" }),
		);
		expect(JSON.parse(line)).toEqual({
			ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			level: "warn",
			nodeID: "node-1",
			ns: "ns",
			mod: "chat-ws",
			svc: "chat-ws",
			msg: `Delivery failed: { password: '${MASK}' }`,
			session_id: "s-1",
			message_id: "m-1",
			token: MASK,
		});
	});

	it("should not let a call's fields overwrite the line's own", () => {
		const [line] = capture("json", (logger) =>
			logger.info({ level: "fatal", msg: "forged", requestID: "r-1" }, "real"),
		);
		expect(JSON.parse(line)).toMatchObject({ level: "info", msg: "real", requestID: "r-1" });
	});

	it("should redact pretty lines too, fields printed after the message", () => {
		const [line] = capture("pretty", (logger) =>
			logger.error(
				{ session_id: "s-1" },
				`Could not connect to postgres://u:configured-secret-value@db`,
				new Error(`jwt ${JWT}`),
			),
		);
		expect(line).toContain(`postgres://u:${MASK}@db`);
		expect(line).toContain(`Error: jwt ${MASK}`);
		expect(line).toContain("session_id=s-1");
		expect(line).not.toContain("configured-secret-value");
		expect(line).not.toContain("eyJ");
	});
});
