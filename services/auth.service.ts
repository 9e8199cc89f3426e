/**
 * Accounts and access tokens: register, login, token validation (for the gateway's `authenticate`) and `me`; and, for
 * operators only (`visibility: "public"`: other nodes may call them, the gateway never exposes them), list,
 * setDisabled and setRole.
 * Passwords are hashed in src/domain/passwords.ts, tokens made and checked in src/domain/access-tokens.ts. Logged-out
 * tokens are kept until they expire, then swept (at start and hourly).
 * HTTP routes are the gateway's explicit aliases (services/api.service.ts), so the actions carry no `rest` keys.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { col, fn, Op, UniqueConstraintError, where as sqlWhere, type WhereOptions } from "sequelize";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import AccountMixin from "../mixins/account.mixin.js";
import WsTicketMixin from "../mixins/ws-ticket.mixin.js";
import type { User } from "../models/index.js";
import type { UserRole } from "../models/user.model.js";
import { containsPattern } from "../src/domain/characters.js";
import {
	dummyVerify,
	hashPassword,
	HashingBusyError,
	setHashingLimits,
	verifyPassword,
} from "../src/domain/passwords.js";
import { InvalidTokenError, signAccessToken, verifyAccessToken } from "../src/domain/access-tokens.js";
import { isUuid } from "../src/domain/uuid.js";
import {
	Busy,
	DisabledUserToken,
	InvalidCredentials,
	RateLimited,
	RegistrationClosed,
	RevokedToken,
	SignupInviteRefused,
	Unauthorized,
	UserDisabled,
	UserExists,
	UserNotFound,
} from "../src/errors.js";
import { createLoginThrottle, type LoginThrottle } from "../src/adapters/quotas.js";
import { AccountStore, tokenRevoked } from "../src/adapters/account-store.js";
import { ApiKeyStore, apiKeyUser } from "../src/adapters/api-key-store.js";
import { isApiKeyToken } from "../src/domain/api-keys.js";
import { PersonaStore } from "../src/adapters/persona-store.js";
import { AdminStore } from "../src/adapters/admin-store.js";
import { namedAdmin } from "../src/domain/admin.js";
import {
	toAuthUser,
	toUserView,
	UserEvent,
	type AuthMeta,
	type ListUsersParams,
	type LoginParams,
	type RegisterParams,
	type UserDisabledPayload,
	type UserView,
	type ValidateParams,
} from "../src/domain/accounts.js";

interface AuthMethods {
	/** Runs password hashing, turning a full hashing queue into 503 BUSY. */
	hashing<T>(work: () => Promise<T>): Promise<T>;
	updateUser(username: string, changes: Partial<Pick<User, "is_disabled" | "role">>): Promise<UserView>;
	/** Drops logged-out tokens past their expiry; a failure is logged, the next sweep tries again. */
	sweepRevokedTokens(): Promise<void>;
}
type AuthThis = Service & DbThis & AuthMethods;

const MAX_TOKEN_LENGTH = 4096;
/** A timed-out register or login may still be running: a retry would hash twice and answer a fresh sign-up 409. */
const NO_RETRIES = { enabled: false };
/** What BUSY tells the client to wait: a full queue drains in a few seconds. */
const BUSY_RETRY_AFTER_SECONDS = 2;
const USER_ATTRIBUTES = ["id", "username", "name", "role", "show_nsfw", "is_disabled", "created_at"];
/** How often logged-out tokens past their expiry are dropped (and once at start); every auth node does it. */
const REVOKED_TOKEN_SWEEP_MS = 60 * 60 * 1000;

export default function authService(config: Config): ServiceSchema {
	// Checked here, not at first login: a node that cannot sign or verify tokens must not start at all.
	const secret = config.jwtSecret;
	if (!secret) throw new Error("auth service: no JWT secret (set JWT_SECRET, at least 32 characters)");
	// Made in `started` (it may hold the shared Redis connection), released in `stopped`.
	let loginThrottle: LoginThrottle;
	let revokedTokenSweep: NodeJS.Timeout | undefined;

	return {
		name: "auth",

		/** `this.db` (Sequelize models); the account's own actions (PATCH/DELETE /me, logout, export); WS tickets. */
		mixins: [DbMixin(config), AccountMixin(config), WsTicketMixin(config)],

		/** Not secret. The JWT secret stays in this closure: settings are broadcast to every node's registry. */
		settings: { jwtTtlSeconds: config.jwtTtlSeconds },

		actions: {
			/**
			 * Creates an account, and its default persona named after it. 201 `{ id, username, name }`; 409 USER_EXISTS,
			 * also for a name that differs from a taken one only in case (no lookalike accounts; a unique index on
			 * lower(username) settles races). REGISTRATION=invite needs `invite` (403 INVITE_*), =closed refuses (403
			 * REGISTRATION_CLOSED), except for a fresh install's first account, which becomes an admin (as do ADMIN_USERNAMES).
			 */
			register: {
				description: "Create an account",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					// A string, not a RegExp: it reaches other nodes' registries (and /openapi.json) as JSON.
					username: { type: "string", min: 3, max: 32, pattern: "^[A-Za-z0-9_.-]+$" },
					name: { type: "string", trim: true, min: 1, max: 100 },
					password: { type: "string", min: 8, max: 256 },
					// REGISTRATION=invite: an admin's code (POST /admin/invites).
					invite: { type: "string", optional: true, min: 1, max: 64 },
				},
				async handler(this: AuthThis, ctx: Context<RegisterParams & { invite?: string }, AuthMeta>) {
					const { username, name, password, invite } = ctx.params;
					const { User } = this.db.models;
					// Cheap check first so a taken name does not cost a scrypt hash; the unique index settles races.
					const taken = await User.findOne({
						where: sqlWhere(fn("lower", col("username")), username.toLowerCase()),
						attributes: ["id"],
					});
					if (taken) throw UserExists(username);
					const hashed_password = await this.hashing(() => hashPassword(password));
					let user: User;
					try {
						// The first account of a fresh install is an admin, and gets in whatever REGISTRATION says.
						user = await this.db.sequelize.transaction(async (transaction) => {
							const verdict = await new AdminStore(this.db.sequelize).admit(transaction, config.registration, invite);
							if (!verdict.admitted)
								throw verdict.refusal === "closed" ? RegistrationClosed() : SignupInviteRefused(verdict.refusal);
							const role = verdict.first || namedAdmin(config.adminUsernames, username) ? "admin" : "user";
							return User.create({ username, name, hashed_password, role }, { transaction });
						});
					} catch (err) {
						if (err instanceof UniqueConstraintError) throw UserExists(username);
						throw err;
					}
					// Who they play in their chats until they make more personas (one missed here is made when first needed).
					await new PersonaStore(this.db.sequelize).defaultFor(user);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = "/me";
					return { id: user.id, username: user.username, name: user.name };
				},
			},

			/**
			 * `{ access_token, token_type: "bearer" }`. Unknown user or wrong password: 401 INVALID_CREDENTIALS, in the
			 * same time. A disabled account gets 403 USER_DISABLED, but only after the right password, so it tells an
			 * attacker nothing. After AUTH_LOGIN_FAILURES_PER_USER failures for a username from one client IP, that client
			 * gets 429 RATE_LIMITED for the username until the window ends, whether or not the user exists and even with
			 * the right password; others still log in until AUTH_LOGIN_FAILURES_PER_USER_TOTAL failures from all clients.
			 * 503 BUSY when too many password checks wait already (AUTH_HASH_QUEUE).
			 */
			login: {
				description: "Log in: a Bearer access token (401 INVALID_CREDENTIALS for a wrong password)",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					username: { type: "string", min: 1, max: 64 },
					password: { type: "string", min: 1, max: 256 },
				},
				async handler(this: AuthThis, ctx: Context<LoginParams, AuthMeta>) {
					const { username, password } = ctx.params;
					const client = ctx.meta.clientIp ?? "internal";
					const { allowed, retryAfterSeconds } = await loginThrottle.attempt(username, client);
					if (!allowed) throw RateLimited(retryAfterSeconds);
					const user = await this.db.models.User.findOne({ where: { username } });
					const ok = await this.hashing(() =>
						user ? verifyPassword(password, user.hashed_password) : dummyVerify(password),
					);
					if (!user || !ok) throw InvalidCredentials();
					await loginThrottle.succeeded(username, client);
					if (user.is_disabled) throw UserDisabled();
					await new AdminStore(this.db.sequelize).recordLogin(user.id);
					const access_token = signAccessToken(
						{ userId: user.id, username: user.username, generation: user.token_generation },
						secret,
						config.jwtTtlSeconds,
					);
					return { access_token, token_type: "bearer" };
				},
			},

			/**
			 * Token -> `{ id, username, name, role }` for the gateway's `authenticate` (and the seed's POST /validate).
			 * Any failure is 401 UNAUTHORIZED, "Token expired" or "Invalid token". A personal API key works as a token.
			 */
			validate: {
				description: "The user a token belongs to (the token in the body or as a Bearer header)",
				// Length is checked in the handler so an oversized token is a 401 like any other bad token, not a 422.
				params: { token: "string" },
				async handler(this: AuthThis, ctx: Context<ValidateParams>) {
					const { token } = ctx.params;
					if (token.length > MAX_TOKEN_LENGTH) throw Unauthorized("Invalid token");
					if (isApiKeyToken(token))
						return apiKeyUser(new ApiKeyStore(this.db.sequelize), token, (err) =>
							this.logger.warn("Recording an API key's use failed:", err),
						);
					let claims;
					try {
						claims = verifyAccessToken(token, secret);
					} catch (err) {
						if (err instanceof InvalidTokenError) throw Unauthorized(err.message);
						throw err;
					}
					// Primary-key lookup (and the revoked token's, by its id): this runs on every authenticated request.
					const user = await this.db.models.User.findByPk(claims.uid, {
						attributes: [...USER_ATTRIBUTES, "token_generation", tokenRevoked(this.db.sequelize, claims.jti)],
					});
					if (!user || user.username !== claims.sub) throw Unauthorized("Invalid token");
					if (user.is_disabled) throw DisabledUserToken();
					if (user.token_generation !== claims.gen || user.get("token_revoked")) throw RevokedToken();
					return { ...toAuthUser(user), token_id: claims.jti };
				},
			},

			/** The caller's profile, `{ id, username, name, role, created_at }`; needs `ctx.meta.user` from the gateway. */
			me: {
				description: "The current user",
				params: {},
				async handler(this: AuthThis, ctx: Context<unknown, AuthMeta>) {
					const id = ctx.meta.user?.id;
					// A malformed id would be a PostgreSQL error (500), not a 401.
					if (!isUuid(id)) throw Unauthorized();
					const user = await this.db.models.User.findByPk(id, { attributes: USER_ATTRIBUTES });
					if (!user) throw Unauthorized();
					if (user.is_disabled) throw DisabledUserToken();
					return { ...toAuthUser(user), created_at: user.created_at.toISOString() };
				},
			},

			/** Operators (REPL): users by username, or those whose username or name contains `q`; never the hashes. */
			list: {
				visibility: "public",
				params: {
					q: { type: "string", optional: true, trim: true, max: 100 },
					username: { type: "string", optional: true, max: 64 },
					limit: { type: "number", integer: true, min: 1, max: 1000, default: 50, convert: true },
				},
				async handler(this: AuthThis, ctx: Context<ListUsersParams>): Promise<UserView[]> {
					const { q, username, limit } = ctx.params;
					const where: WhereOptions<User>[] = [];
					if (username) where.push({ username });
					if (q)
						where.push({
							[Op.or]: [{ username: { [Op.iLike]: containsPattern(q) } }, { name: { [Op.iLike]: containsPattern(q) } }],
						});
					const users = await this.db.models.User.findAll({
						where: { [Op.and]: where },
						attributes: USER_ATTRIBUTES,
						order: [["username", "ASC"]],
						limit,
					});
					return users.map(toUserView);
				},
			},

			/** Operators: a disabled user can no longer log in, and their tokens stop working at the next check. */
			setDisabled: {
				visibility: "public",
				params: { username: "string|max:64", disabled: "boolean" },
				async handler(this: AuthThis, ctx: Context<{ username: string; disabled: boolean }>): Promise<UserView> {
					const user = await this.updateUser(ctx.params.username, { is_disabled: ctx.params.disabled });
					if (user.is_disabled)
						this.broker.broadcast(UserEvent.Disabled, { username: user.username } satisfies UserDisabledPayload);
					return user;
				},
			},

			/** Operators: makes a user an admin (or a user again). */
			setRole: {
				visibility: "public",
				params: { username: "string|max:64", role: { type: "enum", values: ["user", "admin"] } },
				async handler(this: AuthThis, ctx: Context<{ username: string; role: UserRole }>): Promise<UserView> {
					return this.updateUser(ctx.params.username, { role: ctx.params.role });
				},
			},
		},

		methods: {
			async hashing<T>(work: () => Promise<T>): Promise<T> {
				try {
					return await work();
				} catch (err) {
					if (err instanceof HashingBusyError) throw Busy(BUSY_RETRY_AFTER_SECONDS);
					throw err;
				}
			},

			async updateUser(
				this: AuthThis,
				username: string,
				changes: Partial<Pick<User, "is_disabled" | "role">>,
			): Promise<UserView> {
				const user = await this.db.models.User.findOne({ where: { username }, attributes: USER_ATTRIBUTES });
				if (!user) throw UserNotFound(username);
				await user.update(changes);
				return toUserView(user);
			},

			async sweepRevokedTokens(this: AuthThis) {
				try {
					await new AccountStore(this.db.sequelize).dropExpiredRevocations();
				} catch (err) {
					this.logger.warn("Sweeping expired logged-out tokens failed:", err);
				}
			},
		},

		created() {
			setHashingLimits({ concurrency: config.hashConcurrency, maxWaiting: config.hashQueue });
		},

		/** After the mixins' `started`: the database is open. */
		async started(this: Service) {
			const self = this as AuthThis;
			loginThrottle = createLoginThrottle(config);
			await self.sweepRevokedTokens();
			revokedTokenSweep = setInterval(() => void self.sweepRevokedTokens(), REVOKED_TOKEN_SWEEP_MS);
		},

		async stopped() {
			clearInterval(revokedTokenSweep);
			await loginThrottle?.close();
		},
	};
}
