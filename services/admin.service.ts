/**
 * Running cameo for others (issue 17): the admins' REST actions under /admin (every one `admin: true`, so
 * middlewares/admin-only.middleware.ts refuses others with 403 before it runs) and the user's side of a password reset.
 * - users and their usage and limits; disabling one (their sockets close on every node, as the REPL's `disable` does),
 *   their role, their own limits (broadcast, so every chat node holds them to the new ones at once);
 * - sign-up invites for REGISTRATION=invite; one-time password-reset codes;
 * - live figures: the REPL's `sockets`, `queues` and `stats`, from the same functions (src/repl/operations.ts).
 * The rows are src/adapters/admin-store.ts's; ADMIN_USERNAMES are made admins here at start.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config, Registration } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { AdminStore } from "../src/adapters/admin-store.js";
import { AccountStore } from "../src/adapters/account-store.js";
import {
	createLoginThrottle,
	defaultLimits,
	MAX_MESSAGES_PER_MINUTE,
	MAX_TOKENS_PER_DAY,
} from "../src/adapters/quotas.js";
import type { LoginThrottle } from "../src/adapters/quotas.js";
import { chatStats, listSockets, queueStatus } from "../src/repl/operations.js";
import { hashPassword, HashingBusyError } from "../src/domain/passwords.js";
import {
	AdminEvent,
	changesLimits,
	signupMode,
	type AdminUserUpdate,
	type AdminUserView,
	type CreateInviteParams,
	type InviteView,
	type LimitsChangedPayload,
	type ListUsersQuery,
	type PasswordResetParams,
} from "../src/domain/admin.js";
import {
	UserEvent,
	type AuthMeta,
	type TokensRevokedPayload,
	type UserDisabledPayload,
} from "../src/domain/accounts.js";
import {
	Busy,
	InviteNotFound,
	LastAdmin,
	RateLimited,
	ResetCodeInvalid,
	UserNotFound,
	ValidationFailed,
} from "../src/errors.js";

type AdminMeta = AuthMeta & { user?: { id: string; username: string } };
type AdminThis = Service & DbThis & { store: AdminStore; throttle: LoginThrottle };

const USERNAME = { type: "string", min: 1, max: 64 } as const;
const NO_RETRIES = { enabled: false };
/** What BUSY tells the client to wait (as auth's). */
const BUSY_RETRY_AFTER_SECONDS = 2;
const YEAR_SECONDS = 365 * 24 * 3600;

export default function adminService(config: Config): ServiceSchema<ServiceSettingSchema, AdminThis> {
	const defaults = defaultLimits(config);

	return {
		name: "admin",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** GET /admin/users */
			users: {
				admin: true,
				description:
					"Users (those whose username or name contains `q`), by username, with their usage (tokens since 00:00 " +
					"UTC and since the 1st of the month, messages since 00:00 UTC), when they were last seen (login or " +
					"message), and their limits: those that hold and the admin's own overrides (null: the default)",
				params: {
					q: { type: "string", optional: true, trim: true, max: 100 },
					limit: { type: "number", integer: true, min: 1, max: 200, default: 50, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 1_000_000, default: 0, convert: true },
				},
				handler(this: AdminThis, ctx: Context<ListUsersQuery>): Promise<AdminUserView[]> {
					return this.store.listUsers(ctx.params, defaults);
				},
			},

			/** PATCH /admin/users/{username} */
			updateUser: {
				admin: true,
				description:
					"Change a user: `disabled` (their logins and tokens stop, their chat sockets close at once), `role` " +
					"(user or admin), their own `tokens_per_day` (0: unlimited) and `messages_per_minute` (null: back to " +
					"the server's default). 409 LAST_ADMIN when it would leave no admin who can act",
				params: {
					$$strict: "remove",
					username: USERNAME,
					disabled: { type: "boolean", optional: true },
					role: { type: "enum", values: ["user", "admin"], optional: true },
					tokens_per_day: {
						type: "number",
						integer: true,
						min: 0,
						max: MAX_TOKENS_PER_DAY,
						optional: true,
						nullable: true,
					},
					messages_per_minute: {
						type: "number",
						integer: true,
						min: 1,
						max: MAX_MESSAGES_PER_MINUTE,
						optional: true,
						nullable: true,
					},
				},
				async handler(this: AdminThis, ctx: Context<AdminUserUpdate, AdminMeta>): Promise<AdminUserView> {
					const { username, ...changes } = ctx.params;
					for (const field of ["disabled", "role"] as const) {
						if (changes[field] !== null) continue;
						const message = `${field} may be left out, not null`;
						throw ValidationFailed(message, [{ field, message, type: "required" }]);
					}
					const updated = await this.store.updateUser(username, changes);
					if (updated === null) throw UserNotFound(username);
					if (updated === "last_admin") throw LastAdmin();
					if (changes.disabled === true) {
						void ctx.broadcast(UserEvent.Disabled, { username: updated.username } satisfies UserDisabledPayload);
					}
					if (changesLimits(changes)) {
						void ctx.broadcast(AdminEvent.LimitsChanged, { username: updated.username } satisfies LimitsChangedPayload);
					}
					const [view] = await this.store.listUsers({ username: updated.username, limit: 1, offset: 0 }, defaults);
					return view;
				},
			},

			/** POST /admin/users/{username}/password-reset */
			createPasswordReset: {
				admin: true,
				description:
					"A one-time code with which the user sets a new password (POST /password-reset), shown only now; it " +
					"works once, for 24 hours, and replaces any earlier code of theirs",
				params: { $$strict: "remove", username: USERNAME },
				async handler(this: AdminThis, ctx: Context<{ username: string }, AdminMeta>) {
					const reset = await this.store.createResetCode(ctx.params.username);
					if (!reset) throw UserNotFound(ctx.params.username);
					ctx.meta.$statusCode = 201;
					return reset;
				},
			},

			/** GET /admin/stats */
			stats: {
				admin: true,
				description:
					"Live figures, as the REPL's sockets, queues and stats commands give them: open chat sockets on every " +
					"chat-ws node, the chat queues' depths (null in embedded mode), and the last `minutes`' traffic",
				params: { minutes: { type: "number", integer: true, min: 1, max: 1440, default: 5, convert: true } },
				async handler(this: AdminThis, ctx: Context<{ minutes: number }>) {
					const [sockets, queues, traffic] = await Promise.all([
						listSockets(this.broker),
						queueStatus(config).catch((err: Error) => {
							this.logger.warn("Queue depths unavailable:", err.message);
							return null;
						}),
						chatStats(this.broker, ctx.params.minutes),
					]);
					return {
						sockets: { count: sockets.sockets.length, nodes: sockets.nodes, failures: sockets.failures },
						queues,
						traffic,
					};
				},
			},

			/** POST /admin/invites */
			createInvite: {
				admin: true,
				description:
					"A sign-up invite for REGISTRATION=invite: `uses` accounts (default 1) within `expires_in` seconds " +
					"(default: no expiry)",
				params: {
					$$strict: "remove",
					uses: { type: "number", integer: true, min: 1, max: 10_000, optional: true },
					expires_in: { type: "number", integer: true, min: 60, max: YEAR_SECONDS, optional: true },
				},
				async handler(this: AdminThis, ctx: Context<CreateInviteParams, AdminMeta>): Promise<InviteView> {
					const invite = await this.store.createInvite(
						ctx.meta.user!.username,
						ctx.params.uses ?? 1,
						ctx.params.expires_in,
					);
					ctx.meta.$statusCode = 201;
					return invite;
				},
			},

			/** GET /admin/invites */
			invites: {
				admin: true,
				description: "Every sign-up invite, newest first, with how many of its uses are spent",
				params: {},
				handler(this: AdminThis): Promise<InviteView[]> {
					return this.store.invites();
				},
			},

			/** DELETE /admin/invites/{code} */
			deleteInvite: {
				admin: true,
				description: "Revoke a sign-up invite (accounts made with it stay)",
				params: { code: { type: "string", min: 1, max: 64 } },
				async handler(this: AdminThis, ctx: Context<{ code: string }, AdminMeta>) {
					if (!(await this.store.deleteInvite(ctx.params.code))) throw InviteNotFound();
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** GET /config, no login: what the sign-up form needs to know, and nothing else. */
			config: {
				description:
					"What the sign-up form needs: `registration`, who may sign up now (open, invite: with an admin's code, " +
					"closed); open on a fresh install, whose first account gets in whatever REGISTRATION says",
				params: {},
				async handler(this: AdminThis): Promise<{ registration: Registration }> {
					return { registration: signupMode(config.registration, await this.store.noUsers()) };
				},
			},

			/**
			 * POST /password-reset, no login: an admin's code sets a new password and ends every login of the user's (their
			 * sockets close, 4001). Guesses count against the user's failed-login budget (429 past it); any wrong, used or
			 * expired code, or unknown user, is 403 RESET_CODE_INVALID.
			 */
			resetPassword: {
				description:
					"Set a new password with a reset code an admin gave you (no login needed); every login of yours ends",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					username: USERNAME,
					code: { type: "string", min: 1, max: 64 },
					password: { type: "string", min: 8, max: 256 },
				},
				async handler(this: AdminThis, ctx: Context<PasswordResetParams, AdminMeta>) {
					const { username, code, password } = ctx.params;
					const client = ctx.meta.clientIp ?? "internal";
					const { allowed, retryAfterSeconds } = await this.throttle.attempt(username, client);
					if (!allowed) throw RateLimited(retryAfterSeconds);
					// Hashed first: a full hashing queue (503) must not spend the code.
					let hashed: string;
					try {
						hashed = await hashPassword(password);
					} catch (err) {
						throw err instanceof HashingBusyError ? Busy(BUSY_RETRY_AFTER_SECONDS) : err;
					}
					const user = await this.store.redeemResetCode(username, code);
					if (!user) throw ResetCodeInvalid();
					await this.throttle.succeeded(username, client);
					await new AccountStore(this.db.sequelize).changePassword(user.id, hashed);
					const revoked: TokensRevokedPayload = { username: user.username, reason: "Password reset" };
					void ctx.broadcast(UserEvent.TokensRevoked, revoked);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		/** After the database mixin's `started`. */
		async started(this: AdminThis) {
			this.store = new AdminStore(this.db.sequelize);
			this.throttle = createLoginThrottle(config);
			const promoted = await this.store.promote(config.adminUsernames);
			if (promoted.length > 0) this.logger.info(`Made admins (ADMIN_USERNAMES): ${promoted.join(", ")}`);
		},

		async stopped(this: AdminThis) {
			await this.throttle?.close();
		},
	};
}
