/**
 * The one place configuration is read. `loadConfig` turns an environment into a validated, typed `Config`
 * or throws a `ConfigError` whose message is a single line an operator can act on.
 *
 * Mode: `cluster` when CAMEO_MODE=cluster or a TRANSPORTER is set; otherwise `embedded` (one process, embedded
 * PostgreSQL unless DATABASE_URL points elsewhere, in-process channels and cache).
 * The seed's variable names (DB_HOST, RABBITMQ_HOST, REDIS_HOST, ...) are accepted so its ConfigMaps keep working.
 */

import { parseSecretsKey } from "./domain/own-provider.js";

export type Mode = "embedded" | "cluster";
export type Registration = "open" | "invite" | "closed";
export type LogFormat = "pretty" | "json";

export const ALL_SERVICES = [
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
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];
/** The services each role of a cluster runs (k8s/ says the same per Deployment; scripts/cluster.ts and the bench). */
export const CLUSTER_ROLES = {
	gateway: "api",
	accounts:
		"auth,characters,sessions,avatars,personas,lorebooks,memory,rooms,chat-transfer,search,admin,moderation,api-keys",
	"chat-ws": "chat-ws",
	// Users' own provider keys are encrypted and decrypted here only: SECRETS_KEY goes to this role alone.
	"ai-consumer": "ai-consumer,own-provider,completions",
	dispatcher: "dispatcher,story",
} as const;
/** The services that hold users' own provider keys in the clear for a moment: they need SECRETS_KEY. */
const KEY_SERVICES = ["ai-consumer", "own-provider"] as const;
/** The services that move chat messages: in a cluster they need RabbitMQ and Redis. */
const CHAT_SERVICES = ["chat-ws", "ai-consumer", "dispatcher", "story", "completions"] as const;

export interface Config {
	mode: Mode;
	/** Moleculer namespace; also prefixes Redis keys and RabbitMQ exchanges/queues so deployments never mix. */
	namespace: string;
	nodeId: string | undefined;
	/** Which services this process runs; none (SERVICES=none) for a REPL-only node. */
	services: ServiceName[];
	/** PostgreSQL URL; `undefined` in embedded mode means "start the embedded PostgreSQL". */
	databaseUrl: string | undefined;
	/**
	 * The process's PostgreSQL pool, which all its services share (src/adapters/database.ts): at most `max` connections
	 * (DB_POOL_MAX), each closed after `idleMs` unused (DB_POOL_IDLE_MS). k8s/*.yaml size it per role.
	 */
	dbPool: { max: number; idleMs: number };
	/** Moleculer transporter (e.g. redis://host:6379); `undefined` = local, single process. */
	transporter: string | undefined;
	redisUrl: string | undefined;
	amqpUrl: string | undefined;
	/** Undefined only in embedded mode, where a secret is generated once and kept under dataDir. */
	jwtSecret: string | undefined;
	jwtTtlSeconds: number;
	/** How long a WebSocket ticket (POST /ws-ticket) may wait for its handshake (WS_TICKET_TTL_SECONDS). */
	wsTicketTtlSeconds: number;
	/**
	 * AES-256-GCM key for users' own provider keys (SECRETS_KEY, 32 bytes as hex or base64). Undefined only in embedded
	 * mode, where one is generated once and kept under dataDir, and on nodes that never see a user's key.
	 */
	secretsKey: Buffer | undefined;
	/** Users' own providers may be on loopback or private addresses (ALLOW_PRIVATE_PROVIDER_URLS; Ollama next door). */
	allowPrivateProviderUrls: boolean;
	apiPort: number;
	apiHost: string;
	wsPort: number;
	/** Interface the WebSocket server binds to (WS_HOST, else API_HOST). */
	wsHost: string;
	grpcPort: number;
	/** Interface the gRPC delivery server binds to. */
	grpcHost: string;
	/** Host other nodes use to reach this node's gRPC server (the pod IP in Kubernetes). */
	grpcAdvertiseHost: string;
	/** Per-process health server (/livez, /readyz, /metrics), whatever services run; 0 = OS-chosen. */
	healthPort: number;
	/** Interface the health server binds to (HEALTH_HOST, else API_HOST). */
	healthHost: string;
	/** Moleculer metrics, served in Prometheus text format at /metrics on the health port. */
	metricsEnabled: boolean;
	/** After SIGTERM, how long /readyz answers 503 before the services stop, so load balancers stop routing first. */
	shutdownDelayMs: number;
	chat: ChatLimits;
	/** Per-user bounds on characters, and the embedded cache of character reads. */
	characters: {
		/** Bytes one user's characters may take, avatars included (src/domain/characters.ts characterBytes). */
		maxBytesPerUser: number;
		/** Card imports per user per minute. */
		importsPerMinute: number;
		/** Memory for cached reads in embedded mode, in bytes (a cluster caches in Redis, with the same TTLs). */
		cacheBytes: number;
	};
	/** Bounds on one imported chat file (POST /sessions/import). */
	chatImport: {
		/** Largest file, in bytes (CHAT_IMPORT_MAX_MB); a larger body gets 413. */
		maxBytes: number;
		/** Most messages (lines) in one file (CHAT_IMPORT_MAX_MESSAGES); more get 413. */
		maxMessages: number;
	};
	dataDir: string;
	/** 0 = any free port. */
	embeddedPgPort: number;
	/** EMBEDDED_PG_PORT was set: a taken port stops the start instead of another port being picked. */
	embeddedPgPortFixed: boolean;
	llm: LlmConfig;
	/** Login/register attempts per client IP per minute. */
	authRateLimitPerMinute: number;
	/** Who may sign up (REGISTRATION): anyone, holders of an admin's invite, or nobody (but a fresh install's first). */
	registration: Registration;
	/** Users who are admins (ADMIN_USERNAMES, comma-separated): made so at start and when they register. */
	adminUsernames: string[];
	/** Failed logins per (username, client IP) within 15 minutes before that pair gets 429. */
	loginFailuresPerUser: number;
	/** Failed logins per username within 15 minutes, from all clients together, before that username gets 429. */
	loginFailuresPerUserTotal: number;
	/** Password hashes (scrypt) computed at once, per process. */
	hashConcurrency: number;
	/** Password hashes waiting for a slot, per process; beyond it logins and sign-ups get 503 BUSY. */
	hashQueue: number;
	/** Take the client IP from X-Forwarded-For (only behind a proxy/ingress you control). */
	trustProxy: boolean;
	/** Proxies in front of this process that append to X-Forwarded-For (0 unless trustProxy): the client IP is the entry that many from the right. */
	trustedProxyHops: number;
	logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
	logFormat: LogFormat;
}

export interface ChatLimits {
	/** Longest user message, in characters. */
	maxContentChars: number;
	/** Largest WebSocket frame accepted, in bytes; larger ones close the socket with 1009. */
	maxFrameBytes: number;
	/** Messages one socket may send per minute. */
	messagesPerMinute: number;
	/** `rate_limited` answers one socket may get within a minute; one more and it is closed with 1008. */
	maxLimitBreaches: number;
	/** Frames one socket may have received and not yet handled; one more and it is closed with 1008. */
	maxQueuedFrames: number;
	/** Bytes waiting to be sent to one socket (a client that does not read); beyond them it is terminated. */
	maxBufferedBytes: number;
	/** Open sockets one user may have on each chat-ws node; more handshakes get 429. */
	maxSocketsPerUser: number;
	/** People in one room, its owner included (ROOM_MAX_MEMBERS). */
	roomMaxMembers: number;
	/** Characters in one room's cast (ROOM_MAX_CHARACTERS). */
	roomMaxCharacters: number;
	/** `typing` frames one socket may relay per minute; more are dropped silently (they are news, not data). */
	typingPerMinute: number;
	/** Handshakes one user, and one client IP, may make per minute; more get 429. */
	handshakesPerUserPerMinute: number;
	handshakesPerIpPerMinute: number;
	/** Messages (and regenerations) one user may send per minute, over all their sockets and nodes. */
	userMessagesPerMinute: number;
	/** Tokens (prompt + reply) one user's replies may use per 24 hours; 0 = unlimited. */
	userTokensPerDay: number;
	/** Keep-alive ping interval; a socket that misses a pong is closed. */
	pingIntervalMs: number;
	/** How many recent messages the model sees (before token budgeting). */
	historyWindow: number;
	/** Embedded mode: memory for the in-process history cache (the cluster's is Redis). */
	historyCacheMb: number;
	/** Tokens the prompt may use (system, examples, summary, history); the reply's room comes on top. */
	promptTokens: number;
	/** Longest rolling summary of the turns that no longer fit, in tokens. */
	summaryTokens: number;
	/** Recent messages a lorebook's keys are matched against, unless the book sets its own `scan_depth`. */
	lorebookScanDepth: number;
	/** Tokens the lore entries of one prompt may use, unless a book sets its own `token_budget`. */
	lorebookTokens: number;
	/** Replies per session whose exact prompt the inspector keeps (the latest); 0 keeps none. */
	inspectorReplies: number;
	/** Memory for those prompts on each ai-consumer node (the least recently made go first). */
	inspectorCacheMb: number;
	/** A user message without a reply this long after its last publish is published again (the outbox). */
	replyTimeoutSeconds: number;
	/** Publishes per user message before it is given up with an `ai_unavailable` error. */
	replyMaxAttempts: number;
	/** Messages a consumer processes at once, per channel. */
	maxInFlight: number;
	/** Redeliveries of a failing channel message before it goes to the dead-letter queue. */
	maxRetries: number;
}

export type LlmProvider = "gemini" | "openai" | "offline";

export interface LlmConfig {
	/** GOOGLE_API_KEY picks Gemini, else OPENAI_BASE_URL/OPENAI_API_KEY an OpenAI-compatible server, else offline. */
	provider: LlmProvider;
	googleApiKey: string | undefined;
	geminiModel: string;
	/** Generative Language API origin (without `/v1beta`); `undefined` = Google's. Tests point it at a fake. */
	geminiBaseUrl: string | undefined;
	openaiBaseUrl: string | undefined;
	openaiApiKey: string | undefined;
	/** Required when the provider is openai. */
	openaiModel: string | undefined;
	temperature: number;
	maxOutputTokens: number;
	/** Operator bounds on a character's own settings: its output tokens and temperature are clamped to these. */
	maxOutputTokensLimit: number;
	maxTemperature: number;
	/**
	 * Models a character or chat preset may name besides the configured one (LLM_ALLOWED_MODELS, comma-separated, each
	 * `model` or `provider:model`): others are refused when saved, and fall back to the configured model at reply
	 * time, so model names (and metric labels) come from a bounded set. As written: llm/models.ts reads them.
	 */
	allowedModels: string[];
	/** Longest wait for the model's first or next chunk. */
	timeoutMs: number;
	/** Retries of a failed request before any text arrived (429, 5xx, network). */
	maxRetries: number;
	/** First retry delay; it doubles with each retry, with jitter. */
	retryDelayMs: number;
	/** Pause before each chunk of the offline model (demos, browser tests). */
	offlineDelayMs: number;
}

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ConfigError";
	}
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/** Reads and validates the environment. Throws ConfigError with a one-line reason. */
export function loadConfig(env: Env = process.env): Config {
	const transporter = str(env.TRANSPORTER);
	const mode = oneOf(
		"CAMEO_MODE",
		env.CAMEO_MODE,
		["embedded", "cluster"] as const,
		transporter ? "cluster" : "embedded",
	);
	const databaseUrl = str(env.DATABASE_URL) ?? databaseUrlFromParts(env);
	const jwtSecret = str(env.JWT_SECRET);

	const services = parseServices(env.SERVICES);
	const promptTokens = int("CHAT_PROMPT_TOKENS", env.CHAT_PROMPT_TOKENS, 3000, 200, 2_000_000);
	if (mode === "cluster") {
		if (!transporter) throw new ConfigError("cluster mode needs TRANSPORTER (e.g. redis://redis:6379)");
		// A node without services (the operators' REPL) holds neither the secret nor the database.
		if (!jwtSecret && services.length > 0)
			throw new ConfigError("cluster mode needs JWT_SECRET (at least 32 characters; e.g. `openssl rand -hex 32`)");
		if (!databaseUrl && services.length > 0)
			throw new ConfigError(
				"cluster mode needs a database: set DATABASE_URL (or DB_HOST, DB_NAME, DB_USER, DB_PASSWORD)",
			);
	}
	const secretsKey = secretsKeyOf(env.SECRETS_KEY);
	if (mode === "cluster" && !secretsKey && services.some((s) => (KEY_SERVICES as readonly string[]).includes(s)))
		throw new ConfigError(
			"cluster mode needs SECRETS_KEY on nodes running ai-consumer or own-provider (e.g. `openssl rand -hex 32`)",
		);
	if (jwtSecret !== undefined && jwtSecret.length < 32) {
		throw new ConfigError("JWT_SECRET must be at least 32 characters long");
	}

	const loginFailuresPerUser = int("AUTH_LOGIN_FAILURES_PER_USER", env.AUTH_LOGIN_FAILURES_PER_USER, 10, 1, 1_000_000);
	const trustedProxyHops = proxyHops(env);

	const redisUrl =
		str(env.REDIS_URL) ?? (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT ?? "6379"}` : undefined);
	const amqpUrl = str(env.AMQP_URL) ?? amqpUrlFromParts(env);
	if (mode === "cluster" && services.some((s) => (CHAT_SERVICES as readonly string[]).includes(s))) {
		if (!amqpUrl) throw new ConfigError("cluster chat services need RabbitMQ: set AMQP_URL (or RABBITMQ_HOST)");
		if (!redisUrl) throw new ConfigError("cluster chat services need Redis: set REDIS_URL (or REDIS_HOST)");
	}

	return {
		mode,
		namespace: namespace(env.NAMESPACE),
		nodeId: str(env.NODE_ID),
		services,
		databaseUrl,
		dbPool: {
			max: int("DB_POOL_MAX", env.DB_POOL_MAX, 10, 1, 1000),
			idleMs: int("DB_POOL_IDLE_MS", env.DB_POOL_IDLE_MS, 10_000, 1000, 3_600_000),
		},
		transporter,
		redisUrl,
		amqpUrl,
		jwtSecret,
		jwtTtlSeconds: parseDuration("JWT_TTL", env.JWT_TTL, 30 * 60),
		wsTicketTtlSeconds: int("WS_TICKET_TTL_SECONDS", env.WS_TICKET_TTL_SECONDS, 30, 1, 300),
		secretsKey,
		allowPrivateProviderUrls: bool("ALLOW_PRIVATE_PROVIDER_URLS", env.ALLOW_PRIVATE_PROVIDER_URLS, false),
		apiPort: port("API_PORT", env.API_PORT ?? env.PORT, 8000),
		apiHost: str(env.API_HOST) ?? "0.0.0.0",
		wsPort: port("WS_PORT", env.WS_PORT, 8004),
		wsHost: str(env.WS_HOST) ?? str(env.API_HOST) ?? "0.0.0.0",
		grpcPort: port("GRPC_PORT", env.GRPC_PORT, 50051),
		grpcHost: str(env.GRPC_HOST) ?? "0.0.0.0",
		grpcAdvertiseHost: str(env.GRPC_ADVERTISE_HOST) ?? str(env.POD_IP) ?? "127.0.0.1",
		healthPort: port("HEALTH_PORT", env.HEALTH_PORT, 9090),
		healthHost: str(env.HEALTH_HOST) ?? str(env.API_HOST) ?? "0.0.0.0",
		// Off by default on a laptop, where nobody scrapes it; per-call metrics cost a little throughput.
		metricsEnabled: bool("METRICS_ENABLED", env.METRICS_ENABLED, mode === "cluster"),
		shutdownDelayMs: int("SHUTDOWN_DELAY_MS", env.SHUTDOWN_DELAY_MS, 0, 0, 120_000),
		chat: {
			maxContentChars: int("CHAT_MAX_CONTENT_CHARS", env.CHAT_MAX_CONTENT_CHARS, 4000, 1, 100_000),
			maxFrameBytes: int("CHAT_MAX_FRAME_BYTES", env.CHAT_MAX_FRAME_BYTES, 64 * 1024, 1024, 16 * 1024 * 1024),
			messagesPerMinute: int("CHAT_MESSAGES_PER_MINUTE", env.CHAT_MESSAGES_PER_MINUTE, 30, 1, 1_000_000),
			maxLimitBreaches: int("CHAT_MAX_LIMIT_BREACHES", env.CHAT_MAX_LIMIT_BREACHES, 10, 1, 1_000_000),
			maxQueuedFrames: int("CHAT_MAX_QUEUED_FRAMES", env.CHAT_MAX_QUEUED_FRAMES, 32, 1, 100_000),
			maxBufferedBytes: int(
				"CHAT_MAX_BUFFERED_BYTES",
				env.CHAT_MAX_BUFFERED_BYTES,
				4 * 1024 * 1024,
				64 * 1024,
				1024 * 1024 * 1024,
			),
			maxSocketsPerUser: int("CHAT_MAX_SOCKETS_PER_USER", env.CHAT_MAX_SOCKETS_PER_USER, 10, 1, 100_000),
			roomMaxMembers: int("ROOM_MAX_MEMBERS", env.ROOM_MAX_MEMBERS, 20, 1, 1000),
			roomMaxCharacters: int("ROOM_MAX_CHARACTERS", env.ROOM_MAX_CHARACTERS, 8, 1, 100),
			typingPerMinute: int("CHAT_TYPING_PER_MINUTE", env.CHAT_TYPING_PER_MINUTE, 30, 1, 10_000),
			handshakesPerUserPerMinute: int("CHAT_HANDSHAKES_PER_MINUTE", env.CHAT_HANDSHAKES_PER_MINUTE, 30, 1, 1_000_000),
			handshakesPerIpPerMinute: int(
				"CHAT_HANDSHAKES_PER_IP_PER_MINUTE",
				env.CHAT_HANDSHAKES_PER_IP_PER_MINUTE,
				120,
				1,
				1_000_000,
			),
			userMessagesPerMinute: int("CHAT_USER_MESSAGES_PER_MINUTE", env.CHAT_USER_MESSAGES_PER_MINUTE, 20, 1, 1_000_000),
			userTokensPerDay: int("CHAT_USER_TOKENS_PER_DAY", env.CHAT_USER_TOKENS_PER_DAY, 200_000, 0, 1_000_000_000),
			pingIntervalMs: int("CHAT_PING_INTERVAL_MS", env.CHAT_PING_INTERVAL_MS, 30_000, 100, 3_600_000),
			historyWindow: int("CHAT_HISTORY_WINDOW", env.CHAT_HISTORY_WINDOW, 40, 2, 1000),
			historyCacheMb: int("CHAT_HISTORY_CACHE_MB", env.CHAT_HISTORY_CACHE_MB, 64, 1, 65_536),
			promptTokens,
			summaryTokens: int("CHAT_SUMMARY_TOKENS", env.CHAT_SUMMARY_TOKENS, 300, 20, 100_000),
			lorebookScanDepth: int("CHAT_LOREBOOK_SCAN_DEPTH", env.CHAT_LOREBOOK_SCAN_DEPTH, 4, 1, 1000),
			// A quarter of the prompt budget by default: lore informs the reply, the conversation drives it.
			lorebookTokens: int("CHAT_LOREBOOK_TOKENS", env.CHAT_LOREBOOK_TOKENS, Math.floor(promptTokens / 4), 0, 2_000_000),
			inspectorReplies: int("CHAT_PROMPT_INSPECTOR_REPLIES", env.CHAT_PROMPT_INSPECTOR_REPLIES, 20, 0, 1000),
			inspectorCacheMb: int("CHAT_PROMPT_INSPECTOR_MB", env.CHAT_PROMPT_INSPECTOR_MB, 32, 1, 65_536),
			// Longer than a slow model's reply (LLM_TIMEOUT_MS plus retries), so the outbox re-sends lost messages only.
			replyTimeoutSeconds: int("CHAT_REPLY_TIMEOUT", env.CHAT_REPLY_TIMEOUT, 90, 1, 86_400),
			replyMaxAttempts: int("CHAT_REPLY_MAX_ATTEMPTS", env.CHAT_REPLY_MAX_ATTEMPTS, 3, 1, 100),
			maxInFlight: int("CHANNEL_MAX_IN_FLIGHT", env.CHANNEL_MAX_IN_FLIGHT, 256, 1, 10_000),
			maxRetries: int("CHANNEL_MAX_RETRIES", env.CHANNEL_MAX_RETRIES, 3, 0, 100),
		},
		characters: {
			maxBytesPerUser:
				int("CHARACTERS_MAX_MB_PER_USER", env.CHARACTERS_MAX_MB_PER_USER, 64, 1, 1_000_000) * 1024 * 1024,
			importsPerMinute: int("CHARACTER_IMPORTS_PER_MINUTE", env.CHARACTER_IMPORTS_PER_MINUTE, 10, 1, 1_000_000),
			cacheBytes: int("CHARACTERS_CACHE_MB", env.CHARACTERS_CACHE_MB, 64, 1, 65_536) * 1024 * 1024,
		},
		chatImport: {
			maxBytes: int("CHAT_IMPORT_MAX_MB", env.CHAT_IMPORT_MAX_MB, 8, 1, 1024) * 1024 * 1024,
			maxMessages: int("CHAT_IMPORT_MAX_MESSAGES", env.CHAT_IMPORT_MAX_MESSAGES, 10_000, 1, 1_000_000),
		},
		dataDir: str(env.DATA_DIR) ?? ".data",
		embeddedPgPort: port("EMBEDDED_PG_PORT", env.EMBEDDED_PG_PORT, 54329),
		embeddedPgPortFixed: str(env.EMBEDDED_PG_PORT) !== undefined && Number(env.EMBEDDED_PG_PORT) !== 0,
		llm: loadLlmConfig(env, mode),
		authRateLimitPerMinute: int("AUTH_RATE_LIMIT", env.AUTH_RATE_LIMIT, 20, 1, 1_000_000),
		registration: oneOf("REGISTRATION", env.REGISTRATION, ["open", "invite", "closed"] as const, "open"),
		adminUsernames: usernames("ADMIN_USERNAMES", env.ADMIN_USERNAMES),
		loginFailuresPerUser,
		loginFailuresPerUserTotal: int(
			"AUTH_LOGIN_FAILURES_PER_USER_TOTAL",
			env.AUTH_LOGIN_FAILURES_PER_USER_TOTAL,
			10 * loginFailuresPerUser,
			1,
			100_000_000,
		),
		hashConcurrency: int("AUTH_HASH_CONCURRENCY", env.AUTH_HASH_CONCURRENCY, 2, 1, 64),
		hashQueue: int("AUTH_HASH_QUEUE", env.AUTH_HASH_QUEUE, 8, 0, 100_000),
		trustProxy: trustedProxyHops > 0,
		trustedProxyHops,
		logLevel: oneOf("LOGLEVEL", env.LOGLEVEL ?? env.LOG_LEVEL, LOG_LEVELS, "info"),
		logFormat: oneOf("LOG_FORMAT", env.LOG_FORMAT, ["pretty", "json"] as const, mode === "cluster" ? "json" : "pretty"),
	};
}

function loadLlmConfig(env: Env, mode: Mode): LlmConfig {
	const googleApiKey = str(env.GOOGLE_API_KEY);
	const openaiBaseUrl = httpUrl("OPENAI_BASE_URL", env.OPENAI_BASE_URL);
	const openaiApiKey = str(env.OPENAI_API_KEY);
	const openaiModel = str(env.OPENAI_MODEL);
	const derived: LlmProvider = googleApiKey ? "gemini" : openaiBaseUrl || openaiApiKey ? "openai" : "offline";
	const provider = oneOf("LLM_PROVIDER", env.LLM_PROVIDER, ["gemini", "openai", "offline"] as const, derived);
	if (provider === "gemini" && !googleApiKey) throw new ConfigError("LLM_PROVIDER=gemini needs GOOGLE_API_KEY");
	if (provider === "openai" && !openaiModel)
		throw new ConfigError("the openai provider needs OPENAI_MODEL (e.g. gpt-4o-mini, llama3)");
	if (provider === "openai" && !openaiBaseUrl && !openaiApiKey) {
		throw new ConfigError(
			"LLM_PROVIDER=openai needs OPENAI_API_KEY (api.openai.com) or OPENAI_BASE_URL (a compatible server)",
		);
	}
	const maxOutputTokensLimit = int("LLM_MAX_OUTPUT_TOKENS_LIMIT", env.LLM_MAX_OUTPUT_TOKENS_LIMIT, 2048, 1, 1_000_000);
	const maxOutputTokens = int(
		"LLM_MAX_OUTPUT_TOKENS",
		env.LLM_MAX_OUTPUT_TOKENS,
		Math.min(512, maxOutputTokensLimit),
		1,
		maxOutputTokensLimit,
	);
	const maxTemperature = num("LLM_MAX_TEMPERATURE", env.LLM_MAX_TEMPERATURE, 1.5, 0, 2);
	const temperature = num("LLM_TEMPERATURE", env.LLM_TEMPERATURE, Math.min(0.8, maxTemperature), 0, maxTemperature);
	return {
		provider,
		googleApiKey,
		// GA, no shutdown date announced (README, "Models"): gemini-2.5-flash was shut down on 2026-12-01.
		geminiModel: str(env.GEMINI_MODEL) ?? "gemini-3.8-flash",
		geminiBaseUrl: httpUrl("GEMINI_BASE_URL", env.GEMINI_BASE_URL),
		openaiBaseUrl,
		openaiApiKey,
		openaiModel,
		temperature,
		maxOutputTokens,
		maxOutputTokensLimit,
		maxTemperature,
		allowedModels: modelList("LLM_ALLOWED_MODELS", env.LLM_ALLOWED_MODELS),
		timeoutMs: int("LLM_TIMEOUT_MS", env.LLM_TIMEOUT_MS, 60_000, 10, 3_600_000),
		maxRetries: int("LLM_MAX_RETRIES", env.LLM_MAX_RETRIES, 3, 0, 10),
		retryDelayMs: int("LLM_RETRY_DELAY_MS", env.LLM_RETRY_DELAY_MS, 500, 1, 60_000),
		// Paced in embedded mode (`npm start`), so a reply can be watched and stopped; tests and the bench set 0.
		offlineDelayMs: int("OFFLINE_MODEL_DELAY_MS", env.OFFLINE_MODEL_DELAY_MS, mode === "embedded" ? 40 : 0, 0, 60_000),
	};
}

function secretsKeyOf(value: string | undefined): Buffer | undefined {
	const text = str(value);
	if (text === undefined) return undefined;
	const key = parseSecretsKey(text);
	if (!key) throw new ConfigError("SECRETS_KEY must be 32 bytes: 64 hex characters (`openssl rand -hex 32`) or base64");
	return key;
}

/** Comma-separated model names, each as a character's `llm_model` may be spelt (character-params.ts). */
function modelList(name: string, value: string | undefined): string[] {
	const models = (str(value) ?? "")
		.split(",")
		.map((m) => m.trim())
		.filter(Boolean);
	const bad = models.find((m) => !/^[A-Za-z0-9._:/-]{1,100}$/.test(m));
	if (bad !== undefined) throw new ConfigError(`${name} holds "${bad}", which is not a model name`);
	return models;
}

function str(value: string | undefined): string | undefined {
	const trimmed = value?.trim();
	return trimmed ? trimmed : undefined;
}

/** A comma-separated list of usernames, each within the sign-up rules (else nobody could be that user). */
function usernames(name: string, value: string | undefined): string[] {
	const names = (value ?? "")
		.split(",")
		.map((n) => n.trim())
		.filter(Boolean);
	const bad = names.find((n) => !/^[A-Za-z0-9_.-]{3,32}$/.test(n));
	if (bad !== undefined) throw new ConfigError(`${name}: "${bad}" is not a username (3-32 of A-Z a-z 0-9 _ . -)`);
	return names;
}

function namespace(value: string | undefined): string {
	const v = str(value) ?? "cameo";
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(v))
		throw new ConfigError(`NAMESPACE must be 1-64 of [A-Za-z0-9_-], got "${value}"`);
	return v;
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
	if (str(value) === undefined) return fallback;
	const parsed = Number(value);
	if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
		throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${value}"`);
	}
	return parsed;
}

function num(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
	if (str(value) === undefined) return fallback;
	const parsed = Number(value);
	if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
		throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${value}"`);
	}
	return parsed;
}

/** An http(s) URL without a trailing slash (clients append their own paths). */
function httpUrl(name: string, value: string | undefined): string | undefined {
	const v = str(value);
	if (v === undefined) return undefined;
	if (!/^https?:\/\/[^\s/]+/i.test(v) || !URL.canParse(v))
		throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
	return v.replace(/\/+$/, "");
}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
	const v = str(value)?.toLowerCase();
	if (v === undefined) return fallback;
	if (["1", "true", "yes", "on"].includes(v)) return true;
	if (["0", "false", "no", "off"].includes(v)) return false;
	throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

/** TRUST_PROXY=true trusts one proxy (an ingress); TRUST_PROXY_HOPS=n trusts a chain of n. */
function proxyHops(env: Env): number {
	const trust = bool("TRUST_PROXY", env.TRUST_PROXY, str(env.TRUST_PROXY_HOPS) !== undefined);
	const hops = int("TRUST_PROXY_HOPS", env.TRUST_PROXY_HOPS, trust ? 1 : 0, trust ? 1 : 0, 16);
	if (!trust && hops > 0) throw new ConfigError("TRUST_PROXY_HOPS needs TRUST_PROXY=true (or no TRUST_PROXY)");
	return hops;
}

function port(name: string, value: string | undefined, fallback: number): number {
	// 0 lets the OS pick a free port (tests).
	return int(name, value, fallback, 0, 65535);
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
	const v = str(value)?.toLowerCase();
	if (v === undefined) return fallback;
	if (!(allowed as readonly string[]).includes(v)) {
		throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
	}
	return v as T;
}

/** "1800", "30m", "12h", "7d" -> seconds. */
export function parseDuration(name: string, value: string | undefined, fallbackSeconds: number): number {
	const v = str(value);
	if (v === undefined) return fallbackSeconds;
	const match = /^(\d+)\s*(s|m|h|d)?$/i.exec(v);
	if (!match) throw new ConfigError(`${name} must be seconds or a duration like 30m, 12h, 7d; got "${value}"`);
	const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? "s").toLowerCase() as "s" | "m" | "h" | "d"];
	const seconds = Number(match[1]) * unit;
	if (seconds < 1) throw new ConfigError(`${name} must be at least one second`);
	return seconds;
}

function parseServices(value: string | undefined): ServiceName[] {
	const v = str(value);
	if (v === undefined || v === "*" || v.toLowerCase() === "all") return [...ALL_SERVICES];
	if (v.toLowerCase() === "none") return [];
	const names = v
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean);
	const unknown = names.filter((n) => !(ALL_SERVICES as readonly string[]).includes(n));
	if (unknown.length > 0) {
		throw new ConfigError(`SERVICES has unknown service(s) ${unknown.join(", ")}; known: ${ALL_SERVICES.join(", ")}`);
	}
	return [...new Set(names)] as ServiceName[];
}

function databaseUrlFromParts(env: Env): string | undefined {
	const host = str(env.DB_HOST);
	if (!host) return undefined;
	const user = encodeURIComponent(str(env.DB_USER) ?? "postgres");
	const password = str(env.DB_PASSWORD);
	const auth = password ? `${user}:${encodeURIComponent(password)}` : user;
	return `postgres://${auth}@${host}:${str(env.DB_PORT) ?? "5432"}/${encodeURIComponent(str(env.DB_NAME) ?? "cameo")}`;
}

function amqpUrlFromParts(env: Env): string | undefined {
	const host = str(env.RABBITMQ_HOST);
	if (!host) return undefined;
	const user = encodeURIComponent(str(env.RABBITMQ_USER) ?? "guest");
	const password = encodeURIComponent(str(env.RABBITMQ_PASSWORD) ?? "guest");
	return `amqp://${user}:${password}@${host}:${str(env.RABBITMQ_PORT) ?? "5672"}`;
}
