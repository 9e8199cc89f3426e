/**
 * Personal API keys (issue 18): POST, GET /me/api-keys and DELETE /me/api-keys/{id} (the gateway's account route,
 * src/adapters/account-route.ts). A key works wherever a login token does (auth.validate reads it, uncached, so a
 * revoked key is refused on its next use on every node), but it cannot manage keys: only a login can, as with
 * GitHub's and OpenAI's keys, so a leaked key cannot mint itself a successor or outlive its revocation.
 * The key is shown once, in the answer to POST; only its digest is kept (src/domain/api-keys.ts).
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ApiKeyStore } from "../src/adapters/api-key-store.js";
import {
	API_KEY_NAME_MAX_CHARS,
	apiKeyHint,
	hashApiKey,
	MAX_API_KEYS_PER_USER,
	newApiKey,
	toApiKeyView,
	type ApiKeyView,
} from "../src/domain/api-keys.js";
import { UserEvent, type AuthMeta, type TokensRevokedPayload } from "../src/domain/accounts.js";
import { isUuid } from "../src/domain/uuid.js";
import { ApiKeyNotFound, requireLogin, TooManyApiKeys, Unauthorized } from "../src/errors.js";

type ApiKeysThis = Service & DbThis & { keys: ApiKeyStore };

/** The caller's id; 401 without one, 403 LOGIN_REQUIRED when the request came with an API key. */
function loggedIn(meta: AuthMeta): string {
	const id = meta.user?.id;
	if (!isUuid(id)) throw Unauthorized();
	requireLogin(meta.user);
	return id;
}

export default function apiKeysService(config: Config): ServiceSchema {
	return {
		name: "api-keys",

		/** `this.db`: the shared Sequelize. */
		mixins: [DbMixin(config)],

		actions: {
			/** `{name}` → 201 `{id, name, key, hint, created_at}`: the only time the key is shown. */
			create: {
				description:
					`Create a personal API key (shown only in this answer; use it as a Bearer token). At most ` +
					`${MAX_API_KEYS_PER_USER} per user (409 TOO_MANY_API_KEYS); needs a login, not an API key`,
				params: {
					$$strict: "remove",
					name: { type: "string", trim: true, min: 1, max: API_KEY_NAME_MAX_CHARS },
				},
				async handler(this: ApiKeysThis, ctx: Context<{ name: string }, AuthMeta>) {
					const userId = loggedIn(ctx.meta);
					const key = newApiKey();
					const made = await this.keys.create(
						userId,
						{ name: ctx.params.name, hash: hashApiKey(key), hint: apiKeyHint(key) },
						MAX_API_KEYS_PER_USER,
					);
					if ("refused" in made)
						throw made.refused === "no_user" ? Unauthorized() : TooManyApiKeys(MAX_API_KEYS_PER_USER);
					const { id, name, hint, created_at } = toApiKeyView(made.created);
					ctx.meta.$statusCode = 201;
					return { id, name, key, hint, created_at };
				},
			},

			/** The caller's keys, newest first: name, hint, when made and last used (to the minute); never a key. */
			list: {
				description:
					"Your API keys, newest first, without the keys themselves (a hint of each, and when it was last used)",
				params: {},
				async handler(this: ApiKeysThis, ctx: Context<unknown, AuthMeta>): Promise<ApiKeyView[]> {
					return (await this.keys.list(loggedIn(ctx.meta))).map(toApiKeyView);
				},
			},

			/** 204; the key is refused from now on, on every node, and the sockets opened with it close (4001). */
			remove: {
				description: "Revoke an API key: refused at once everywhere, and chat sockets opened with it close (4001)",
				params: { id: "uuid" },
				async handler(this: ApiKeysThis, ctx: Context<{ id: string }, AuthMeta>) {
					const userId = loggedIn(ctx.meta);
					const { id } = ctx.params;
					const username = await this.keys.remove(userId, id);
					if (username === null) throw ApiKeyNotFound(id);
					const revoked: TokensRevokedPayload = { username, token_id: id, reason: "API key revoked" };
					void ctx.broadcast(UserEvent.TokensRevoked, revoked);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		started(this: Service) {
			const self = this as ApiKeysThis;
			self.keys = new ApiKeyStore(self.db.sequelize);
		},
	};
}
