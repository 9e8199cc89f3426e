/**
 * The one place configuration is read. `loadConfig` turns an environment into a validated, typed `Config`
 * or throws a `ConfigError` whose message is a single line an operator can act on.
 *
 * Mode: `cluster` when CAMEO_MODE=cluster or a TRANSPORTER is set; otherwise `embedded` (one process, embedded
 * PostgreSQL unless DATABASE_URL points elsewhere, in-process channels and cache).
 * The seed's variable names (DB_HOST, RABBITMQ_HOST, REDIS_HOST, ...) are accepted so its ConfigMaps keep working.
 */

export type Mode = "embedded" | "cluster";
export type LogFormat = "pretty" | "json";

export const ALL_SERVICES = ["api", "auth", "characters"] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

export interface Config {
	mode: Mode;
	nodeId: string | undefined;
	/** Which services this process runs. */
	services: ServiceName[];
	/** PostgreSQL URL; `undefined` in embedded mode means "start the embedded PostgreSQL". */
	databaseUrl: string | undefined;
	/** Moleculer transporter (e.g. redis://host:6379); `undefined` = local, single process. */
	transporter: string | undefined;
	redisUrl: string | undefined;
	amqpUrl: string | undefined;
	/** Undefined only in embedded mode, where a secret is generated once and kept under dataDir. */
	jwtSecret: string | undefined;
	jwtTtlSeconds: number;
	apiPort: number;
	apiHost: string;
	wsPort: number;
	grpcPort: number;
	dataDir: string;
	embeddedPgPort: number;
	googleApiKey: string | undefined;
	openaiBaseUrl: string | undefined;
	openaiApiKey: string | undefined;
	openaiModel: string | undefined;
	/** Login/register attempts per client IP per minute. */
	authRateLimitPerMinute: number;
	/** Take the client IP from X-Forwarded-For (only behind a proxy/ingress you control). */
	trustProxy: boolean;
	logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
	logFormat: LogFormat;
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
	const mode = oneOf("CAMEO_MODE", env.CAMEO_MODE, ["embedded", "cluster"] as const, transporter ? "cluster" : "embedded");
	const databaseUrl = str(env.DATABASE_URL) ?? databaseUrlFromParts(env);
	const jwtSecret = str(env.JWT_SECRET);

	if (mode === "cluster") {
		if (!transporter) throw new ConfigError("cluster mode needs TRANSPORTER (e.g. redis://redis:6379)");
		if (!jwtSecret) throw new ConfigError("cluster mode needs JWT_SECRET (at least 32 characters; e.g. `openssl rand -hex 32`)");
		if (!databaseUrl) throw new ConfigError("cluster mode needs a database: set DATABASE_URL (or DB_HOST, DB_NAME, DB_USER, DB_PASSWORD)");
	}
	if (jwtSecret !== undefined && jwtSecret.length < 32) {
		throw new ConfigError("JWT_SECRET must be at least 32 characters long");
	}

	return {
		mode,
		nodeId: str(env.NODE_ID),
		services: parseServices(env.SERVICES),
		databaseUrl,
		transporter,
		redisUrl: str(env.REDIS_URL) ?? (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT ?? "6379"}` : undefined),
		amqpUrl: str(env.AMQP_URL) ?? amqpUrlFromParts(env),
		jwtSecret,
		jwtTtlSeconds: parseDuration("JWT_TTL", env.JWT_TTL, 30 * 60),
		apiPort: port("API_PORT", env.API_PORT ?? env.PORT, 8000),
		apiHost: str(env.API_HOST) ?? "0.0.0.0",
		wsPort: port("WS_PORT", env.WS_PORT, 8004),
		grpcPort: port("GRPC_PORT", env.GRPC_PORT, 50051),
		dataDir: str(env.DATA_DIR) ?? ".data",
		embeddedPgPort: port("EMBEDDED_PG_PORT", env.EMBEDDED_PG_PORT, 54329),
		googleApiKey: str(env.GOOGLE_API_KEY),
		openaiBaseUrl: str(env.OPENAI_BASE_URL),
		openaiApiKey: str(env.OPENAI_API_KEY),
		openaiModel: str(env.OPENAI_MODEL),
		authRateLimitPerMinute: int("AUTH_RATE_LIMIT", env.AUTH_RATE_LIMIT, 20, 1, 1_000_000),
		trustProxy: bool("TRUST_PROXY", env.TRUST_PROXY, false),
		logLevel: oneOf("LOGLEVEL", env.LOGLEVEL ?? env.LOG_LEVEL, LOG_LEVELS, "info"),
		logFormat: oneOf("LOG_FORMAT", env.LOG_FORMAT, ["pretty", "json"] as const, mode === "cluster" ? "json" : "pretty"),
	};
}

function str(value: string | undefined): string | undefined {
	const trimmed = value?.trim();
	return trimmed ? trimmed : undefined;
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
	if (str(value) === undefined) return fallback;
	const parsed = Number(value);
	if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
		throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${value}"`);
	}
	return parsed;
}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
	const v = str(value)?.toLowerCase();
	if (v === undefined) return fallback;
	if (["1", "true", "yes", "on"].includes(v)) return true;
	if (["0", "false", "no", "off"].includes(v)) return false;
	throw new ConfigError(`${name} must be true or false, got "${value}"`);
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
	const names = v.split(",").map((s) => s.trim()).filter(Boolean);
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
