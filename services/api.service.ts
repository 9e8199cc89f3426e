/**
 * The REST gateway (moleculer-web) on :8000: the seed's public surface (/register, /login, /characters, ...) and its
 * internal endpoints (/token, /validate, /api/characters) as aliases. Every error leaves as `{"detail", "code"}`.
 * GET /openapi.json describes them all, from these aliases and the actions' params.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import { RateLimited, Unauthorized } from "../src/errors.js";
import { CARD_UPLOAD_BODY } from "../src/domain/card-upload.js";
import { MAX_PNG_BYTES } from "../src/domain/card-png.js";
import { LOREBOOK_BODY_LIMIT } from "../src/domain/lorebook.js";
import { clientAddress } from "../src/domain/client-address.js";
import { gatewayHealth, type GatewayHealth } from "../src/domain/gateway-health.js";
import { acceptedRequestId } from "../src/domain/http-hardening.js";
import { authActionParams, bearerToken } from "../src/domain/auth-params.js";
import { buildOpenApi, gatewayRoutes, type JsonSchema, type OpenApiDocument } from "../src/domain/openapi.js";
import { withOpenAiOperations } from "../src/domain/openai-openapi.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import { answerClientError } from "../src/adapters/ws-upgrade.js";
import {
	logRequestLine,
	logResponseLine,
	refuseHostileParams,
	sendJsonError,
	staticFileHeaders,
	withSecurityHeaders,
	type GatewayRequest,
} from "../src/adapters/gateway-http.js";
import { cardUploadParams } from "../src/adapters/card-upload-params.js";
import { CHAT_UPLOAD_BODY, CHAT_UPLOAD_TYPES, chatUploadParams } from "../src/adapters/chat-upload-params.js";
import { shareGatewayServer } from "../src/adapters/gateway-server.js";
import { AVATAR_ROUTE, AVATAR_UPLOAD_BODY, avatarUploadParams } from "../src/adapters/avatar-route.js";
import { PERSONA_ROUTE } from "../src/adapters/persona-route.js";
import { ACCOUNT_ROUTE } from "../src/adapters/account-route.js";
import { WS_TICKET_ROUTE } from "../src/adapters/ws-ticket-route.js";
import { ADMIN_ROUTE } from "../src/adapters/admin-route.js";
import { openaiRoute } from "../src/adapters/openai-route.js";
import type { AuthMeta, AuthUser } from "../src/domain/accounts.js";

interface ApiThis extends Service {
	/** moleculer-web's HTTP server, made in its own `created`. */
	server?: Server;
	authLimiter: RateLimiter;
	/** Card imports per user (CHARACTER_IMPORTS_PER_MINUTE). */
	importLimiter: RateLimiter;
	redis?: Redis;
	/** Built at the first GET /openapi.json, dropped when services change. */
	openapiDocument?: OpenApiDocument;
	clientIp(req: IncomingMessage): string;
	logResponse(req: GatewayRequest, res: ServerResponse): void;
	/** moleculer-web's error answer, which onError (settings) makes. */
	sendError(req: GatewayRequest, res: ServerResponse, err: unknown): void;
}

const CHARACTER_ALIASES = {
	"GET /characters": "characters.list",
	"POST /characters": "characters.create",
	"GET /characters/id/:id": "characters.get",
	"PATCH /characters/id/:id": "characters.update",
	"DELETE /characters/id/:id": "characters.remove",
	// card.json or card.png
	"GET /characters/id/:id/card.:format": "characters.exportCard",
	"POST /characters/id/:id/report": "moderation.report",
	"GET /admin/reports": "moderation.reports",
	"PATCH /admin/reports/:id": "moderation.resolveReport",
	"PATCH /admin/characters/:id": "moderation.moderateCharacter",
	"DELETE /admin/characters/:id": "moderation.removeCharacter",
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
			// moleculer-web's own request lines carry no request id, and its params line would log request bodies
			// (passwords, cards): logRequest/logResponse below replace them.
			logRequest: null,
			logResponse: null,
			logRequestParams: null,
			// A client's X-Request-ID reaches every log line of the request: only a short plain token is kept, else
			// the gateway makes one.
			rootCallOptions(options: { requestID?: string }, req: IncomingMessage) {
				options.requestID = acceptedRequestId(req.headers["x-correlation-id"] ?? req.headers["x-request-id"]);
			},
			// Security headers on every routed answer; assets (below) and errors (onError) add them too.
			use: [withSecurityHeaders],
			// The web client at `/` (index.html). It routes by hash, so any other path that no alias serves is a JSON 404.
			assets: {
				folder: WEB_ROOT,
				options: { setHeaders: staticFileHeaders(WEB_ASSETS) },
			},
			routes: [
				{
					name: "public",
					path: "/",
					mappingPolicy: "restrict",
					bodyParsers: false,
					aliases: { "GET /health": "api.health", "GET /openapi.json": "api.openapi", "GET /config": "admin.config" },
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
						"POST /password-reset": "admin.resetPassword",
					},
					async onBeforeCall(this: ApiThis, ctx: Context<unknown, AuthMeta>, _route: unknown, req: GatewayRequest) {
						const clientIp = this.clientIp(req);
						const { allowed, retryAfterSeconds } = await this.authLimiter.hit(clientIp);
						if (!allowed) throw RateLimited(retryAfterSeconds);
						// auth.login counts failures per username and client.
						ctx.meta.clientIp = clientIp;
						refuseHostileParams(req.$params);
						req.$params = authActionParams(req.$alias?.action, req.$params, req.headers.authorization);
					},
				},
				PERSONA_ROUTE,
				ACCOUNT_ROUTE,
				WS_TICKET_ROUTE,
				ADMIN_ROUTE,
				openaiRoute(config),
				{
					name: "authenticated",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					bodyParsers: JSON_BODY,
					onBeforeCall(this: ApiThis, _ctx: Context, _route: unknown, req: GatewayRequest) {
						refuseHostileParams(req.$params);
					},
					aliases: {
						"GET /me": "auth.me",
						...CHARACTER_ALIASES,
						"GET /sessions": "sessions.list",
						"GET /sessions/:id/messages": "sessions.messages",
						"PATCH /sessions/:id/messages/:message_id": "story.edit",
						"DELETE /sessions/:id/messages/:message_id": "story.rewind",
						"POST /sessions/:id/messages/:message_id/select": "story.select",
						"DELETE /sessions/:id": "sessions.remove",
						"GET /sessions/:id": "sessions.get",
						"PATCH /sessions/:id": "sessions.rename",
						"POST /sessions/:id/branch": "sessions.branch",
						// export.jsonl (SillyTavern) or export.json (cameo's own)
						"GET /sessions/:id/export.:format": "chat-transfer.export",
						// Rooms (issue 15); `members/me` before `members/:username`: aliases match in this order.
						"POST /sessions": "rooms.create",
						"POST /sessions/:id/members": "rooms.addMember",
						"DELETE /sessions/:id/members/me": "rooms.leave",
						"DELETE /sessions/:id/members/:username": "rooms.removeMember",
						"POST /sessions/:id/invites": "rooms.createInvite",
						"GET /sessions/:id/invites": "rooms.invites",
						"DELETE /sessions/:id/invites/:code": "rooms.revokeInvite",
						"POST /invites/:code/accept": "rooms.acceptInvite",
						"GET /sessions/:id/memory": "memory.get",
						"PATCH /sessions/:id/memory": "memory.update",
						"GET /sessions/:id/messages/:message_id/prompt": "memory.prompt",
						"GET /search": "search.messages",
						"GET /personas": "personas.list",
						"GET /personas/:id": "personas.get",
						"DELETE /personas/:id": "personas.remove",
						"GET /lorebooks": "lorebooks.list",
						"GET /lorebooks/:id": "lorebooks.get",
						"DELETE /lorebooks/:id": "lorebooks.remove",
						"GET /lorebooks/:id/export": "lorebooks.export",
					},
				},
				{
					name: "lorebook-bodies",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					// A world-info file of a few hundred entries is well over the 64 kB other JSON bodies may have.
					bodyParsers: { json: { limit: LOREBOOK_BODY_LIMIT, strict: true }, urlencoded: false },
					onBeforeCall(this: ApiThis, _ctx: Context, _route: unknown, req: GatewayRequest) {
						refuseHostileParams(req.$params);
					},
					aliases: {
						"POST /lorebooks": "lorebooks.create",
						"PATCH /lorebooks/:id": "lorebooks.update",
						"POST /lorebooks/import": "lorebooks.import",
					},
				},
				{
					name: "character-import",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					// A PNG body is a Buffer: merging would copy it into the params byte by byte.
					mergeParams: false,
					// A form carries the PNG plus its part headers.
					bodyParsers: {
						json: { limit: "2mb", strict: true },
						urlencoded: false,
						raw: { type: ["image/png", "multipart/form-data"], limit: MAX_PNG_BYTES + 64 * 1024 },
					},
					aliases: { "POST /characters/import": [cardUploadParams, "characters.importCard"] },
				},
				{
					name: "chat-import",
					path: "/",
					mappingPolicy: "restrict",
					authentication: true,
					// The file is read as bytes whatever its type (a cameo JSON export too): the domain parses it line by line.
					mergeParams: false,
					bodyParsers: {
						json: false,
						urlencoded: false,
						raw: { type: [...CHAT_UPLOAD_TYPES], limit: config.chatImport.maxBytes + 64 * 1024 },
					},
					aliases: { "POST /sessions/import": [chatUploadParams, "chat-transfer.importChat"] },
				},
				AVATAR_ROUTE,
			],
			onError(this: ApiThis, req: GatewayRequest, res: ServerResponse, err: unknown) {
				sendJsonError(this.logger, req, res, err);
				this.logResponse(req, res);
			},
		},

		actions: {
			/**
			 * moleculer-web's request handler: a retry would run the whole request again (a second sign-up, a second
			 * message). The actions it calls have retry policies of their own.
			 */
			rest: { retryPolicy: { enabled: false } },

			/** Liveness of the gateway plus whether the services behind it are reachable. */
			health: {
				description: "Whether the gateway and the services behind it are up",
				params: {},
				handler(this: ApiThis, ctx: Context<unknown, { $statusCode?: number }>): GatewayHealth {
					const available = this.broker.registry.getServiceList({ onlyAvailable: true }).map((s) => s.name);
					const self = { mode: config.mode, node: this.broker.nodeID, uptimeSeconds: process.uptime() };
					const health = gatewayHealth(available, self);
					if (health.status !== "ok") ctx.meta.$statusCode = 503;
					return health;
				},
			},

			/**
			 * The aliases above with their actions' params, as OpenAPI 3.1. The registry holds every node's action
			 * schemas, so this works on a gateway that runs none of them.
			 */
			openapi: {
				description: "This API as an OpenAPI 3.1 document (browsable at /api-docs.html)",
				params: {},
				handler(this: ApiThis): OpenApiDocument {
					this.openapiDocument ??= buildOpenApi(
						gatewayRoutes(this.settings.routes, this.broker.registry.getActionList({ skipInternal: true }), {
							// authLimiter in the auth route's onBeforeCall, importLimiter in the card, avatar and chat uploads.
							rateLimitedRoutes: ["auth", "character-import", "chat-import", AVATAR_ROUTE.name, ACCOUNT_ROUTE.name],
							// Reports per user per hour (services/moderation.service.ts); WebSocket tickets per user per minute.
							rateLimitedActions: ["moderation.report", "auth.issueWsTicket"],
							// Password hashing with a bounded queue (AUTH_HASH_QUEUE).
							busyActions: [
								"auth.login",
								"auth.register",
								"auth.updateAccount",
								"auth.deleteAccount",
								"admin.resetPassword",
							],
							bodies: new Map<unknown, Record<string, JsonSchema>>([
								[cardUploadParams, CARD_UPLOAD_BODY],
								[avatarUploadParams, AVATAR_UPLOAD_BODY],
								[chatUploadParams, CHAT_UPLOAD_BODY],
							]),
						}),
						{
							info: {
								title: "cameo REST API",
								version: "1",
								description:
									"Chat with AI characters: accounts, characters, chat history. Errors are `{detail, code}` " +
									"(under /v1, the OpenAI-compatible API, OpenAI's `{error: {message, type, param, code}}`).",
							},
							docsUrl: "/api-docs.html",
						},
					);
					return withOpenAiOperations(this.openapiDocument);
				},
			},
		},

		events: {
			/** A service joined, left or changed: the params behind /openapi.json may have too. */
			"$services.changed"(this: ApiThis) {
				this.openapiDocument = undefined;
			},
		},

		methods: {
			/** Bearer JWT or API key -> picked user in ctx.meta.user, via auth.validate (which checks the user still exists). */
			async authenticate(ctx: Context, _route: unknown, req: IncomingMessage): Promise<AuthUser> {
				const token = bearerToken(req.headers.authorization);
				if (!token) throw Unauthorized("Not authenticated");
				const user = await ctx.call<AuthUser, { token: string }>("auth.validate", { token });
				// token_id: what POST /logout takes back; api_key_id: the request came with an API key.
				const { id, username, name, role, show_nsfw, token_id, api_key_id } = user;
				return { id, username, name, role, show_nsfw, token_id, ...(api_key_id ? { api_key_id } : {}) };
			},

			/** moleculer-web's, without its logging (with stacks, of client errors too): onError logs server errors once. */
			errorHandler(this: ApiThis, req: GatewayRequest, res: ServerResponse, err: unknown) {
				this.sendError(req, res, err);
			},

			clientIp(req: IncomingMessage): string {
				return clientAddress(req.headers["x-forwarded-for"], req.socket.remoteAddress, config.trustedProxyHops);
			},

			/**
			 * moleculer-web's request and response lines (overridden), with the request id: the client's X-Request-ID,
			 * or the one the gateway made and sent back in that header.
			 */
			logRequest(this: ApiThis, req: GatewayRequest) {
				logRequestLine(this.logger, req);
			},

			logResponse(this: ApiThis, req: GatewayRequest, res: ServerResponse) {
				logResponseLine(this.logger, req, res);
			},
		},

		created(this: ApiThis) {
			// moleculer-web made the server in its own `created`, which runs first. Malformed requests get JSON too.
			this.server?.on("clientError", answerClientError);
			if (this.server) shareGatewayServer(this.broker, this.server);
			if (config.mode === "cluster" && config.redisUrl) {
				// rate-limiter-flexible wants no offline queue: a Redis outage falls back to its in-memory limiter.
				this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, lazyConnect: false });
				this.redis.on("error", (err) => this.logger.warn(`Rate-limit Redis: ${err.message}`));
			}
			const perMinute = (keyPrefix: string, points: number) =>
				createRateLimiter({ keyPrefix, points, durationSeconds: 60, redis: this.redis });
			this.authLimiter = perMinute("cameo-rl-auth", config.authRateLimitPerMinute);
			this.importLimiter = perMinute("cameo-rl-import", config.characters.importsPerMinute);
		},

		async stopped(this: ApiThis) {
			await this.redis?.quit().catch(() => undefined);
		},
	};
}
