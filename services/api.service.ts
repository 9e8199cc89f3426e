/**
 * The REST gateway (moleculer-web) on :8000: the seed's public surface (/register, /login, /characters, ...) and its
 * internal endpoints (/token, /validate, /api/characters) as aliases. Every error leaves as `{"detail", "code"}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import { RateLimited, Unauthorized, UnsupportedMediaType, withCardErrors } from "../src/errors.js";
import { checkCardSize } from "../src/domain/character-card.js";
import { toHttpError } from "../src/domain/http-errors.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import type { AuthUser } from "./auth.service.js";

interface GatewayRequest extends IncomingMessage {
	$params: Record<string, unknown>;
	$alias?: { action?: string };
	body?: unknown;
}

interface ApiThis extends Service {
	authLimiter: RateLimiter;
	redis?: Redis;
	clientIp(req: IncomingMessage): string;
}

const CHARACTER_ALIASES = {
	"GET /characters": "characters.list",
	"POST /characters": "characters.create",
	"GET /characters/id/:id": "characters.get",
	"PATCH /characters/id/:id": "characters.update",
	"DELETE /characters/id/:id": "characters.remove",
	// card.json or card.png
	"GET /characters/id/:id/card.:format": "characters.exportCard",
	// The seed's character-service paths, kept for its existing clients (now behind auth).
	"GET /api/characters": "characters.list",
	"POST /api/characters": "characters.create",
	"GET /api/characters/id/:id": "characters.get",
};

/** The built web client (`npm run build:web`); `npm run build` copies it next to the compiled services. */
const WEB_ROOT = fileURLToPath(new URL("../web/dist", import.meta.url));
const WEB_ASSETS = fileURLToPath(new URL("../web/dist/assets/", import.meta.url));

const JSON_BODY = { json: { limit: "64kb", strict: true }, urlencoded: false };

export default function apiService(config: Config): ServiceSchema<ServiceSettingSchema, ApiThis> {
	return {
		name: "api",
		mixins: [ApiGateway],

		settings: {
			port: config.apiPort,
			ip: config.apiHost,
			logRequest: "debug",
			logResponse: "debug",
			// The web client at `/` (index.html). It routes by hash, so any other path that no alias serves is a JSON 404.
			assets: {
				folder: WEB_ROOT,
				options: {
					// Built assets have content hashes in their names; index.html must always be revalidated.
					setHeaders: (res: ServerResponse, file: string) =>
						res.setHeader("Cache-Control", file.startsWith(WEB_ASSETS) ? "public, max-age=31536000, immutable" : "no-cache"),
				},
			},
			routes: [
				{
					name: "public",
					path: "/",
					mappingPolicy: "restrict",
					bodyParsers: false,
					aliases: { "GET /health": "api.health" },
				},
				{
					name: "auth",
					path: "/",
					mappingPolicy: "restrict",
					// /login accepts the OAuth2 password form as well as JSON.
					bodyParsers: { json: { limit: "16kb", strict: true }, urlencoded: { extended: false, limit: "16kb" } },
					aliases: {
						"POST /register": "auth.register",
						"POST /login": "auth.login",
						"POST /token": "auth.login",
						"POST /validate": "auth.validate",
					},
					async onBeforeCall(this: ApiThis, _ctx: Context, _route: unknown, req: GatewayRequest) {
						const { allowed, retryAfterSeconds } = await this.authLimiter.hit(this.clientIp(req));
						if (!allowed) throw RateLimited(retryAfterSeconds);
						// The OAuth2 form also carries grant_type/scope/client_id: pass on only what login takes.
						if (req.$alias?.action === "auth.login") {
							const { username, password } = req.$params;
							req.$params = { username, password };
						}
						// Seed clients send the token to validate as a Bearer header rather than in the body.
						if (req.$alias?.action === "auth.validate" && req.$params.token === undefined) {
							req.$params = { token: bearerToken(req) ?? "" };
						}
					},
				},
				{
					name: "authenticated",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					bodyParsers: JSON_BODY,
					aliases: {
						"GET /me": "auth.me",
						...CHARACTER_ALIASES,
						"GET /sessions": "sessions.list",
						"GET /sessions/:id/messages": "sessions.messages",
						"DELETE /sessions/:id": "sessions.remove",
					},
				},
				{
					name: "character-import",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					// A PNG body is a Buffer: merging would copy it into the params byte by byte.
					mergeParams: false,
					bodyParsers: { json: { limit: "2mb", strict: true }, urlencoded: false, raw: { type: "image/png", limit: "8mb" } },
					aliases: { "POST /characters/import": [cardUploadParams, "characters.importCard"] },
				},
			],
			onError(this: ApiThis, req: IncomingMessage, res: ServerResponse, err: unknown) {
				const { status, body, headers } = toHttpError(err);
				if (status >= 500) this.logger.error(`${req.method} ${req.url} failed:`, err);
				res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8" });
				res.end(JSON.stringify(body));
			},
		},

		actions: {
			/** Liveness of the gateway plus whether the services behind it are reachable. */
			health: {
				params: {},
				handler(this: ApiThis, ctx: Context<unknown, { $statusCode?: number }>) {
					const required = ["auth", "characters"];
					const available = new Set(this.broker.registry.getServiceList({ onlyAvailable: true }).map((s) => s.name));
					const missing = required.filter((name) => !available.has(name));
					if (missing.length > 0) ctx.meta.$statusCode = 503;
					return {
						status: missing.length === 0 ? "ok" : "degraded",
						mode: config.mode,
						node: this.broker.nodeID,
						uptime_s: Math.round(process.uptime()),
						...(missing.length > 0 ? { missing_services: missing } : {}),
					};
				},
			},
		},

		methods: {
			/** Bearer JWT -> picked user in ctx.meta.user, via auth.validate (which checks the user still exists). */
			async authenticate(ctx: Context, _route: unknown, req: IncomingMessage): Promise<AuthUser> {
				const token = bearerToken(req);
				if (!token) throw Unauthorized("Not authenticated");
				const user = await ctx.call<AuthUser, { token: string }>("auth.validate", { token });
				return { id: user.id, username: user.username, name: user.name, role: user.role };
			},

			clientIp(req: IncomingMessage): string {
				const forwarded = config.trustProxy ? req.headers["x-forwarded-for"] : undefined;
				const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
				return first || req.socket.remoteAddress || "unknown";
			},
		},

		created(this: ApiThis) {
			if (config.mode === "cluster" && config.redisUrl) {
				// rate-limiter-flexible wants no offline queue: a Redis outage falls back to its in-memory limiter.
				this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, lazyConnect: false });
				this.redis.on("error", (err) => this.logger.warn(`Rate-limit Redis: ${err.message}`));
			}
			this.authLimiter = createRateLimiter({
				keyPrefix: "cameo-rl-auth",
				points: config.authRateLimitPerMinute,
				durationSeconds: 60,
				redis: this.redis,
			});
		},

		async stopped(this: ApiThis) {
			await this.redis?.quit().catch(() => undefined);
		},
	};
}

/**
 * The import body as `characters.importCard` params: a JSON card as `card`, a PNG as base64 `png`. An alias
 * middleware rather than onBeforeCall because it runs after authentication: anonymous callers get 401, not 415.
 */
function cardUploadParams(req: GatewayRequest, _res: ServerResponse, next: () => void): void {
	const type = req.headers["content-type"]?.split(";")[0].trim().toLowerCase();
	if (type === "image/png") {
		req.$params = { png: Buffer.isBuffer(req.body) ? req.body.toString("base64") : "" };
	} else if (type === "application/json") {
		// Bounds nesting before anything serializes the card (a transporter would overflow the stack on it).
		withCardErrors(() => checkCardSize(req.body));
		req.$params = { card: req.body };
	} else {
		throw UnsupportedMediaType("Send a character card as application/json, or a card PNG as image/png");
	}
	next();
}

function bearerToken(req: IncomingMessage): string | undefined {
	const header = req.headers.authorization;
	const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
	return match?.[1];
}
