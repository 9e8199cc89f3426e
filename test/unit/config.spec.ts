import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseDuration } from "../../src/config.js";

const SECRET = "x".repeat(32);

describe("loadConfig", () => {
	it("should default to embedded mode with every service and the seed's ports", () => {
		const config = loadConfig({});
		expect(config).toMatchObject({
			mode: "embedded",
			apiPort: 8000,
			wsPort: 8004,
			jwtTtlSeconds: 1800,
			logFormat: "pretty",
		});
		expect(config.services).toEqual([
			"api",
			"auth",
			"characters",
			"sessions",
			"chat-ws",
			"ai-consumer",
			"completions",
			"dispatcher",
			"avatars",
			"story",
			"personas",
			"lorebooks",
			"memory",
			"rooms",
			"chat-transfer",
			"search",
			"admin",
			"moderation",
			"api-keys",
			"own-provider",
		]);
		expect(config.databaseUrl).toBeUndefined();
	});

	it("should switch to cluster mode when a transporter is set and demand its secrets", () => {
		expect(() => loadConfig({ TRANSPORTER: "redis://localhost:6379" })).toThrow(/JWT_SECRET/);
		expect(() => loadConfig({ TRANSPORTER: "redis://localhost:6379", JWT_SECRET: SECRET })).toThrow(/DATABASE_URL/);
		expect(() => loadConfig({ CAMEO_MODE: "cluster", JWT_SECRET: SECRET, DATABASE_URL: "postgres://x/y" })).toThrow(
			/TRANSPORTER/,
		);
		const withoutKey = {
			TRANSPORTER: "redis://localhost:6379",
			JWT_SECRET: SECRET,
			DATABASE_URL: "postgres://db/cameo",
		};
		expect(() => loadConfig(withoutKey)).toThrow(/SECRETS_KEY/);
		const base = { ...withoutKey, SECRETS_KEY: "ab".repeat(32) };
		expect(() => loadConfig(base)).toThrow(/AMQP_URL/);
		expect(() => loadConfig({ ...base, SERVICES: "dispatcher", AMQP_URL: "amqp://mq" })).toThrow(/REDIS_URL/);
		expect(loadConfig({ ...base, SERVICES: "api,auth" }).mode).toBe("cluster");
		const config = loadConfig({ ...base, AMQP_URL: "amqp://mq", REDIS_URL: "redis://r:6379" });
		expect(config).toMatchObject({ mode: "cluster", logFormat: "json", databaseUrl: "postgres://db/cameo" });
	});

	it("should give a one-line reason for every bad value", () => {
		const cases: Record<string, string>[] = [
			{ JWT_SECRET: "short" },
			{ API_PORT: "99999" },
			{ API_PORT: "eighty" },
			{ JWT_TTL: "soon" },
			{ SERVICES: "api,teleporter" },
			{ CAMEO_MODE: "hybrid" },
			{ LOGLEVEL: "loud" },
			{ TRUST_PROXY: "maybe" },
			{ TRUST_PROXY: "false", TRUST_PROXY_HOPS: "2" },
			{ TRUST_PROXY_HOPS: "0" },
			{ AUTH_HASH_QUEUE: "-1" },
			{ NAMESPACE: "has spaces" },
			{ CHAT_MAX_CONTENT_CHARS: "0" },
			{ LLM_PROVIDER: "gemini" },
			{ LLM_PROVIDER: "claude" },
			{ OPENAI_BASE_URL: "http://localhost:11434/v1" },
			{ OPENAI_BASE_URL: "localhost:11434", OPENAI_MODEL: "llama3" },
			{ LLM_PROVIDER: "openai", OPENAI_MODEL: "llama3" },
			{ LLM_TEMPERATURE: "hot" },
			{ LLM_TEMPERATURE: "2.5" },
			{ LLM_MAX_RETRIES: "-1" },
		];
		for (const env of cases) {
			let error: unknown;
			try {
				loadConfig(env);
			} catch (err) {
				error = err;
			}
			expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
			expect((error as Error).message).not.toContain("\n");
		}
	});

	it("should trust one proxy hop for TRUST_PROXY=true, and as many as TRUST_PROXY_HOPS says", () => {
		expect(loadConfig({})).toMatchObject({ trustProxy: false, trustedProxyHops: 0 });
		expect(loadConfig({ TRUST_PROXY: "true" })).toMatchObject({ trustProxy: true, trustedProxyHops: 1 });
		expect(loadConfig({ TRUST_PROXY_HOPS: "2" })).toMatchObject({ trustProxy: true, trustedProxyHops: 2 });
	});

	it("should bind the health server where the API binds unless HEALTH_HOST says otherwise", () => {
		expect(loadConfig({}).healthHost).toBe("0.0.0.0");
		expect(loadConfig({ API_HOST: "127.0.0.1" }).healthHost).toBe("127.0.0.1");
		expect(loadConfig({ API_HOST: "127.0.0.1", HEALTH_HOST: "0.0.0.0" }).healthHost).toBe("0.0.0.0");
	});

	it("should build URLs from the seed's ConfigMap variable names", () => {
		const config = loadConfig({
			DB_HOST: "postgres",
			DB_PORT: "5433",
			DB_NAME: "ai_companion_chat",
			DB_USER: "app",
			DB_PASSWORD: "p@ss/word",
			RABBITMQ_HOST: "rabbitmq",
			REDIS_HOST: "redis",
			REDIS_PORT: "6380",
		});
		expect(config.databaseUrl).toBe("postgres://app:p%40ss%2Fword@postgres:5433/ai_companion_chat");
		expect(config.amqpUrl).toBe("amqp://guest:guest@rabbitmq:5672");
		expect(config.redisUrl).toBe("redis://redis:6380");
	});

	it("should prefer the explicit URLs over the seed's parts", () => {
		const config = loadConfig({
			DATABASE_URL: "postgres://a/b",
			DB_HOST: "ignored",
			REDIS_URL: "redis://r:1",
			REDIS_HOST: "ignored",
		});
		expect(config.databaseUrl).toBe("postgres://a/b");
		expect(config.redisUrl).toBe("redis://r:1");
	});

	it("should pick the LLM provider from the keys that are set, unless LLM_PROVIDER forces one", () => {
		expect(loadConfig({}).llm).toMatchObject({
			provider: "offline",
			geminiModel: "gemini-3.8-flash",
			temperature: 0.8,
			maxOutputTokens: 512,
			timeoutMs: 60_000,
			maxRetries: 3,
		});
		const both = { GOOGLE_API_KEY: "g-key", OPENAI_BASE_URL: "http://localhost:11434/v1/", OPENAI_MODEL: "llama3" };
		expect(loadConfig(both).llm.provider).toBe("gemini");
		expect(loadConfig({ ...both, LLM_PROVIDER: "openai" }).llm).toMatchObject({
			provider: "openai",
			openaiBaseUrl: "http://localhost:11434/v1",
		});
		expect(loadConfig({ ...both, LLM_PROVIDER: "offline" }).llm.provider).toBe("offline");
		expect(loadConfig({ OPENAI_API_KEY: "sk-x", OPENAI_MODEL: "gpt-4o-mini" }).llm.provider).toBe("openai");
		const tuned = loadConfig({
			GOOGLE_API_KEY: "g",
			GEMINI_MODEL: "gemini-2.5-pro",
			LLM_TEMPERATURE: "0.2",
			OFFLINE_MODEL_DELAY_MS: "40",
		}).llm;
		expect(tuned).toMatchObject({ geminiModel: "gemini-2.5-pro", temperature: 0.2, offlineDelayMs: 40 });
	});

	it("should pace the offline model in embedded mode only, and bound what characters may ask of the model", () => {
		expect(loadConfig({}).llm.offlineDelayMs).toBe(40);
		expect(
			loadConfig({
				TRANSPORTER: "redis://localhost:6379",
				JWT_SECRET: SECRET,
				DATABASE_URL: "postgres://db/cameo",
				SERVICES: "auth",
			}).llm.offlineDelayMs,
		).toBe(0);
		expect(loadConfig({}).llm).toMatchObject({ maxOutputTokensLimit: 2048, maxTemperature: 1.5, allowedModels: [] });
		expect(loadConfig({ LLM_ALLOWED_MODELS: " gemini-2.5-pro, ,gpt-4o " }).llm.allowedModels).toEqual([
			"gemini-2.5-pro",
			"gpt-4o",
		]);
		expect(() => loadConfig({ LLM_MAX_OUTPUT_TOKENS: "4096" })).toThrow(
			/LLM_MAX_OUTPUT_TOKENS must be an integer between 1 and 2048/,
		);
		expect(() => loadConfig({ LLM_MAX_TEMPERATURE: "0.5", LLM_TEMPERATURE: "0.8" })).toThrow(/LLM_TEMPERATURE/);
		expect(loadConfig({ LLM_ALLOWED_MODELS: "openai:gpt-4o-mini,llama3:8b" }).llm.allowedModels).toEqual([
			"openai:gpt-4o-mini",
			"llama3:8b",
		]);
		expect(() => loadConfig({ LLM_ALLOWED_MODELS: "gpt-4o, gpt 4o" })).toThrow(
			/LLM_ALLOWED_MODELS holds "gpt 4o", which is not a model name/,
		);
	});

	it("should pick the services named in SERVICES, once each", () => {
		expect(loadConfig({ SERVICES: "auth, api,auth" }).services).toEqual(["auth", "api"]);
	});
});

describe("parseDuration", () => {
	it("should read seconds and unit suffixes", () => {
		expect(parseDuration("T", "90", 1)).toBe(90);
		expect(parseDuration("T", "30m", 1)).toBe(1800);
		expect(parseDuration("T", "12h", 1)).toBe(43200);
		expect(parseDuration("T", "7d", 1)).toBe(604800);
		expect(parseDuration("T", undefined, 42)).toBe(42);
		expect(() => parseDuration("T", "0", 1)).toThrow(ConfigError);
		expect(() => parseDuration("T", "-5m", 1)).toThrow(ConfigError);
	});
});
