/**
 * Users' own provider keys (issue 17): `PUT /me/provider` sets the Gemini key or OpenAI-compatible server a user's
 * replies are written with, `GET` shows it (the key's last four characters only), `DELETE` goes back to the
 * operator's model. The key is encrypted here (AES-256-GCM, SECRETS_KEY) and decrypted only by the ai-consumer; in a
 * cluster this service runs in the ai-consumer's role, the one place SECRETS_KEY is given to.
 * `base_url` is checked against the address policy when saved (the name resolved, every address judged) and again at
 * every connection the ai-consumer makes to it (src/adapters/llm/guarded-fetch.ts).
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { OwnProviderStore } from "../src/adapters/own-provider-store.js";
import { checkedAddresses } from "../src/adapters/llm/guarded-fetch.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import { acquireRedis, redisKey, releaseRedis } from "../src/adapters/redis.js";
import type { AuthUser } from "../src/domain/accounts.js";
import { AdminEvent, type LimitsChangedPayload } from "../src/domain/admin.js";
import {
	encryptKey,
	keyLast4,
	literalAddress,
	MAX_API_KEY_LENGTH,
	MAX_BASE_URL_LENGTH,
	MODEL_NAME,
	normalizeBaseUrl,
	OWN_PROVIDERS,
	OwnProviderEvent,
	type OwnProviderChangedPayload,
	type OwnProviderParams,
	type OwnProviderView,
} from "../src/domain/own-provider.js";
import { judgeAddress } from "../src/domain/provider-address.js";
import { NotFound, RateLimited, Unauthorized, ValidationFailed } from "../src/errors.js";

type OwnProviderThis = Service &
	DbThis & {
		providers: OwnProviderStore;
		secretsKey: Buffer;
		limiter: RateLimiter;
		redis?: Redis;
		checkedBaseUrl(params: OwnProviderParams, userId: string): Promise<string | null>;
		announce(ctx: Context, username: string): void;
	};

/** Saves with a base URL to resolve, per user: a handful a minute is all a person needs. */
const SAVES_PER_MINUTE = 10;
const NO_RETRIES = { enabled: false };

/** The gateway's authenticated caller. */
interface CallerMeta {
	user?: AuthUser;
	$statusCode?: number;
}

function requireUser(meta: CallerMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

function refuse(field: string, message: string): never {
	throw ValidationFailed(message, [{ field, message, type: "invalid" }]);
}

export default function ownProviderService(config: Config): ServiceSchema<ServiceSettingSchema, OwnProviderThis> {
	return {
		name: "own-provider",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** PUT /me/provider: 200 with what GET shows. */
			set: {
				description:
					"Use your own AI provider for your replies: a Gemini API key, or an OpenAI-compatible server (base_url, " +
					"model). The key is stored encrypted and never shown again (only its last 4 characters); your replies' " +
					"tokens then count against no server quota",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					provider: { type: "enum", values: [...OWN_PROVIDERS] },
					// Keys are tokens: printable ASCII without spaces.
					api_key: { type: "string", min: 1, max: MAX_API_KEY_LENGTH, pattern: /^[\x21-\x7e]+$/ },
					base_url: { type: "string", optional: true, min: 1, max: MAX_BASE_URL_LENGTH },
					model: { type: "string", optional: true, pattern: MODEL_NAME },
				},
				async handler(this: OwnProviderThis, ctx: Context<OwnProviderParams, CallerMeta>): Promise<OwnProviderView> {
					const user = requireUser(ctx.meta);
					const { provider, api_key, model } = ctx.params;
					if (provider === "openai" && !model) refuse("model", "model is required for an OpenAI-compatible server");
					const base_url = await this.checkedBaseUrl(ctx.params, user.id);
					const key_ciphertext = encryptKey(this.secretsKey, user.id, api_key);
					const row = { provider, model: model ?? null, base_url, key_ciphertext, key_last4: keyLast4(api_key) };
					if (!(await this.providers.put(user.id, row))) throw Unauthorized();
					this.announce(ctx, user.username);
					return (await this.providers.view(user.id))!;
				},
			},

			/** GET /me/provider: 404 when none is set (the operator's model answers). */
			get: {
				description: "Your own AI provider, if you set one: provider, model, base URL, the key's last 4 characters",
				params: {},
				async handler(this: OwnProviderThis, ctx: Context<unknown, CallerMeta>): Promise<OwnProviderView> {
					const view = await this.providers.view(requireUser(ctx.meta).id);
					if (!view) throw NotFound("You have not set your own AI provider: the server's model answers you");
					return view;
				},
			},

			/** DELETE /me/provider: 204; the stored key is deleted, not kept. */
			remove: {
				description: "Forget your own AI provider and its key: the server's model answers you again",
				retryPolicy: NO_RETRIES,
				params: {},
				async handler(this: OwnProviderThis, ctx: Context<unknown, CallerMeta>) {
					const user = requireUser(ctx.meta);
					if (!(await this.providers.remove(user.id))) throw NotFound("You have not set your own AI provider");
					this.announce(ctx, user.username);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		methods: {
			/**
			 * The URL as it will be fetched, once its host is allowed; null: the provider's own endpoint. What can be
			 * refused without the network is; a name's resolution (a thread of the pool while it waits) counts against
			 * the user's budget of saves.
			 */
			async checkedBaseUrl(this: OwnProviderThis, params: OwnProviderParams, userId: string): Promise<string | null> {
				if (params.base_url === undefined) return null;
				const normalized = normalizeBaseUrl(params.provider, params.base_url);
				if ("refusal" in normalized) return refuse("base_url", normalized.refusal);
				const literal = literalAddress(normalized.url);
				const verdict = literal === undefined ? undefined : judgeAddress(literal, config.allowPrivateProviderUrls);
				if (verdict && !verdict.allowed) return refuse("base_url", `base_url is refused: ${verdict.reason}`);
				const { allowed, retryAfterSeconds } = await this.limiter.hit(userId);
				if (!allowed) throw RateLimited(retryAfterSeconds, `Too many changes; retry in ${retryAfterSeconds} s`);
				try {
					await checkedAddresses(normalized.url.hostname, config.allowPrivateProviderUrls);
				} catch (err) {
					const code = (err as NodeJS.ErrnoException).code;
					const reason =
						code === "ENOTFOUND" || code === "EAI_AGAIN" ? "its host does not resolve" : (err as Error).message;
					return refuse("base_url", `base_url is refused: ${reason}`);
				}
				return normalized.url.toString().replace(/\/$/, "");
			},

			/** Every ai-consumer forgets the user's model, and every chat node their limits (no token quota with a key). */
			announce(this: OwnProviderThis, ctx: Context, username: string) {
				void ctx.broadcast(OwnProviderEvent.Changed, { username } satisfies OwnProviderChangedPayload);
				void ctx.broadcast(AdminEvent.LimitsChanged, { username } satisfies LimitsChangedPayload);
			},
		},

		async started(this: OwnProviderThis) {
			if (!config.secretsKey) throw new Error("own-provider needs SECRETS_KEY");
			this.secretsKey = config.secretsKey;
			this.providers = new OwnProviderStore(this.db.sequelize);
			if (config.mode === "cluster" && config.redisUrl) this.redis = acquireRedis(config.redisUrl);
			this.limiter = createRateLimiter({
				keyPrefix: redisKey(config.namespace, "limit", "own-provider"),
				points: SAVES_PER_MINUTE,
				durationSeconds: 60,
				redis: this.redis,
			});
		},

		async stopped(this: OwnProviderThis) {
			if (this.redis) await releaseRedis();
		},
	};
}
