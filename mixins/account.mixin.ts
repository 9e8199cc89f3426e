/**
 * The account's own actions (issue 16), mixed into the auth service beside register and login, whose password rules,
 * hashing queue (`hashing`) and failed-login budget they share: PATCH /me (display name, password), POST /logout,
 * DELETE /me and GET /me/export. The rows are src/adapters/account-store.ts's, the archive account-export.ts's.
 * Tokens taken back stop at once on every node (auth.validate reads the database, uncached) and a broadcast closes
 * their sockets (chat-ws, 4001).
 */
import type { Readable } from "node:stream";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../src/config.js";
import type { DbThis } from "./db.mixin.js";
import { AccountStore } from "../src/adapters/account-store.js";
import { accountEntries, zipStream } from "../src/adapters/account-export.js";
import { createLoginThrottle, type LoginThrottle } from "../src/adapters/quotas.js";
import { clearCharacterCaches } from "../src/adapters/character-storage.js";
import { hashPassword, verifyPassword } from "../src/domain/passwords.js";
import { signAccessToken, verifyAccessToken } from "../src/domain/access-tokens.js";
import { archiveFileName } from "../src/domain/account-archive.js";
import {
	toAuthUser,
	UserEvent,
	type AuthMeta,
	type DeleteAccountParams,
	type TokensRevokedPayload,
	type UpdateAccountParams,
} from "../src/domain/accounts.js";
import { isUuid } from "../src/domain/uuid.js";
import { LorebookEvent, type LorebookChangedPayload } from "../src/domain/lorebook.js";
import { RoomEvent, type RoomChangedPayload, type RoomMemberRemovedPayload } from "../src/domain/rooms.js";
import { ErrorCode, RateLimited, requireLogin, Unauthorized, ValidationFailed, WrongPassword } from "../src/errors.js";
import type { User } from "../models/index.js";

type AccountMeta = AuthMeta & { $responseType?: string; $responseHeaders?: Record<string, string> };

interface AccountMethods {
	hashing<T>(work: () => Promise<T>): Promise<T>;
	/** The caller's row; 401 when the token's user is gone. */
	caller(ctx: Context<unknown, AccountMeta>): Promise<User>;
	/** Checks the caller's password within the failed-login budget: 429 past it, 403 WRONG_PASSWORD when wrong. */
	checkPassword(ctx: Context<unknown, AccountMeta>, user: User, password: string): Promise<void>;
	/** Made at first use: the database mixin's `started` may run after this one's. */
	store(): AccountStore;
}
type AccountThis = Service & DbThis & AccountMethods & { accounts?: AccountStore; throttle: LoginThrottle };

const NO_RETRIES = { enabled: false };
/** The action behind GET /sessions/{id}/export.{jsonl,json}: the archive's chats are the same files. */
const CHAT_EXPORT = "chat-transfer.export";
interface ChatExportParams {
	id: string;
	format: "jsonl" | "json";
}
/** The same rules as registration's. */
const NAME_RULE = { type: "string", trim: true, min: 1, max: 100 } as const;
const NEW_PASSWORD_RULE = { type: "string", min: 8, max: 256 } as const;

export default function AccountMixin(config: Config): Partial<ServiceSchema> {
	const secret = config.jwtSecret ?? "";
	return {
		actions: {
			/**
			 * `{name?, current_password?, new_password?, show_nsfw?}` → the profile. A new password needs the current one,
			 * revokes every token of the user's, and the answer carries a fresh `access_token` for this device.
			 * `show_nsfw`: the user opts in to characters an admin marked NSFW (or out again), from their next request on.
			 */
			updateAccount: {
				description:
					"Change your display name and/or password (with current_password); a password change ends every other " +
					"login and answers with a fresh access_token; show_nsfw: see characters marked NSFW",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					name: { ...NAME_RULE, optional: true },
					current_password: { type: "string", min: 1, max: 256, optional: true },
					new_password: { ...NEW_PASSWORD_RULE, optional: true },
					show_nsfw: { type: "boolean", optional: true },
				},
				async handler(this: AccountThis, ctx: Context<UpdateAccountParams, AccountMeta>) {
					requireLogin(ctx.meta.user);
					const { name, current_password, new_password, show_nsfw } = ctx.params;
					// `optional` lets null through the validator: it is no name or password either.
					for (const field of ["name", "current_password", "new_password", "show_nsfw"] as const) {
						if (ctx.params[field] !== null) continue;
						const message = `${field} may be left out, not null`;
						throw ValidationFailed(message, [{ field, message, type: "required" }]);
					}
					if (new_password !== undefined && current_password === undefined) {
						const message = "The current password is needed to set a new one";
						throw ValidationFailed(message, [{ field: "current_password", message, type: "required" }]);
					}
					const user = await this.caller(ctx);
					let fresh: { access_token: string; token_type: "bearer" } | undefined;
					if (new_password !== undefined) {
						await this.checkPassword(ctx, user, current_password!);
						const hashed = await this.hashing(() => hashPassword(new_password));
						const generation = await this.store().changePassword(user.id, hashed);
						if (generation === null) throw Unauthorized();
						const access_token = signAccessToken(
							{ userId: user.id, username: user.username, generation },
							secret,
							config.jwtTtlSeconds,
						);
						fresh = { access_token, token_type: "bearer" };
						const revoked: TokensRevokedPayload = {
							username: user.username,
							except_token_id: verifyAccessToken(access_token, secret).jti,
							reason: "Password changed",
						};
						void ctx.broadcast(UserEvent.TokensRevoked, revoked);
					}
					if (name !== undefined && name !== user.name) await user.update({ name });
					if (show_nsfw !== undefined && show_nsfw !== user.show_nsfw) await user.update({ show_nsfw });
					return { ...toAuthUser(user), created_at: user.created_at.toISOString(), ...fresh };
				},
			},

			/** This token stops working at once, on every node; its sockets close (4001). 204. */
			logout: {
				description: "Log out: this access token stops working at once (its chat sockets close with 4001)",
				params: {},
				async handler(this: AccountThis, ctx: Context<unknown, AccountMeta>) {
					// A key is revoked on the account page (DELETE /me/api-keys/{id}), not logged out.
					requireLogin(ctx.meta.user);
					const user = await this.caller(ctx);
					const tokenId = ctx.meta.user?.token_id;
					if (!isUuid(tokenId)) throw Unauthorized();
					// No token lives longer than the TTL, so its entry need not either.
					await this.store().revokeToken(user.id, tokenId, new Date(Date.now() + config.jwtTtlSeconds * 1000));
					const revoked: TokensRevokedPayload = { username: user.username, token_id: tokenId, reason: "Logged out" };
					void ctx.broadcast(UserEvent.TokensRevoked, revoked);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** `{password}` → 204: the account and all that is its are gone (account-store.ts says what happens to what). */
			deleteAccount: {
				description:
					"Delete your account and all of its data (password needed): chats, rooms you own, personas, lorebooks, " +
					"private characters; public ones stay, without an owner",
				retryPolicy: NO_RETRIES,
				params: { $$strict: "remove", password: { type: "string", min: 1, max: 256 } },
				async handler(this: AccountThis, ctx: Context<DeleteAccountParams, AccountMeta>) {
					requireLogin(ctx.meta.user);
					const user = await this.caller(ctx);
					await this.checkPassword(ctx, user, ctx.params.password);
					const gone = await this.store().deleteAccount(user);
					const revoked: TokensRevokedPayload = { username: user.username, api_keys: true, reason: "Account deleted" };
					void ctx.broadcast(UserEvent.TokensRevoked, revoked);
					for (const room of gone.ownedRooms) {
						for (const username of room.members) {
							const removed: RoomMemberRemovedPayload = { session_id: room.session_id, username };
							void ctx.broadcast(RoomEvent.MemberRemoved, removed);
						}
					}
					for (const session_id of gone.memberOf) {
						void ctx.broadcast(RoomEvent.Changed, { session_id } satisfies RoomChangedPayload);
					}
					void ctx.broadcast(LorebookEvent.Changed, {} satisfies LorebookChangedPayload);
					await clearCharacterCaches(this.broker, this.logger);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** A zip of the whole account, streamed (account-export.ts). */
			exportAccount: {
				description:
					"Download everything of yours as one zip, streamed: profile, personas, lorebooks, your characters as " +
					"V3 cards, every chat",
				params: {},
				async handler(this: AccountThis, ctx: Context<unknown, AccountMeta>): Promise<Readable> {
					const user = await this.caller(ctx);
					const { id, username, name, role, created_at } = user;
					ctx.meta.$responseType = "application/zip";
					ctx.meta.$responseHeaders = {
						"Content-Disposition": `attachment; filename="${archiveFileName(username, new Date())}"`,
						"Cache-Control": "no-store",
					};
					// The chats in the formats of GET /sessions/{id}/export.*, from a fresh context: a call of ctx's would
					// merge its answer's headers into this one's meta.
					const meta = { user: ctx.meta.user };
					const chatFile = (sessionId: string, format: "jsonl" | "json") =>
						this.broker.call<string | object, ChatExportParams>(CHAT_EXPORT, { id: sessionId, format }, { meta });
					const entries = accountEntries({
						user: { id, username, name, role, created_at },
						sequelize: this.db.sequelize,
						characters: this.db.models.Character,
						async chats(session, stem) {
							try {
								const [jsonl, json] = [await chatFile(session.id, "jsonl"), await chatFile(session.id, "json")];
								return [
									{ path: `${stem}.jsonl`, data: String(jsonl) },
									{ path: `${stem}.json`, data: `${JSON.stringify(json)}\n` },
								];
							} catch (err) {
								// A chat whose character is no longer the user's to see is not theirs to export either.
								if ((err as { type?: string }).type === ErrorCode.SessionNotFound) return [];
								throw err;
							}
						},
					});
					return zipStream(entries, (err) => this.logger.error("Account export failed half-way:", err));
				},
			},
		},

		methods: {
			store(this: AccountThis): AccountStore {
				return (this.accounts ??= new AccountStore(this.db.sequelize));
			},

			async caller(this: AccountThis, ctx: Context<unknown, AccountMeta>): Promise<User> {
				const id = ctx.meta.user?.id;
				if (!isUuid(id)) throw Unauthorized();
				const user = await this.db.models.User.findByPk(id);
				if (!user) throw Unauthorized();
				return user;
			},

			async checkPassword(this: AccountThis, ctx: Context<unknown, AccountMeta>, user: User, password: string) {
				const client = ctx.meta.clientIp ?? "internal";
				const { allowed, retryAfterSeconds } = await this.throttle.attempt(user.username, client);
				if (!allowed) throw RateLimited(retryAfterSeconds);
				if (!(await this.hashing(() => verifyPassword(password, user.hashed_password)))) throw WrongPassword();
				await this.throttle.succeeded(user.username, client);
			},
		},

		started(this: Service) {
			(this as AccountThis).throttle = createLoginThrottle(config);
		},

		async stopped(this: Service) {
			await (this as AccountThis).throttle?.close();
		},
	};
}
