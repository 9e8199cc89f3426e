/**
 * Search over one's own messages (issue 16): GET /search finds words in the sessions the caller owns and the rooms they
 * are a member of, ranked, with a plain-text snippet and the ranges to highlight in it. Another user's chats, and a room
 * one was removed from, are never searched. The query lives in src/adapters/search-store.ts, the rules in
 * src/domain/search.ts.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { SearchStore, SearchTimedOut } from "../src/adapters/search-store.js";
import {
	SEARCH_LIMIT_DEFAULT,
	SEARCH_LIMIT_MAX,
	SEARCH_QUERY_MAX_CHARS,
	decodeCursor,
	type SearchPage,
} from "../src/domain/search.js";
import { SearchTooBroad, Unauthorized, ValidationFailed } from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

interface SearchMeta {
	user?: AuthUser;
}

export interface SearchParams {
	q: string;
	character_id?: string;
	limit: number;
	before?: string;
}

type SearchThis = Service & DbThis & { store: SearchStore };

export default function searchService(config: Config): ServiceSchema<ServiceSettingSchema, SearchThis> {
	return {
		name: "search",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** GET /search */
			messages: {
				description:
					"Search your messages (your chats and the rooms you are in) by words, ranked best first: each hit " +
					"with its session, message, role, timestamp, character, and a plain-text snippet with the ranges " +
					"(UTF-16 offsets) to highlight. Words match whole (any language, lower-cased, not stemmed); a query of " +
					"3 or more characters, or in Chinese, Japanese or Korean, also matches inside words. `character_id`: " +
					"only chats with that character (rooms where it is in the cast). `before`: the `next_before` of the " +
					"previous page",
				params: {
					q: { type: "string", trim: true, min: 1, max: SEARCH_QUERY_MAX_CHARS },
					character_id: { type: "uuid", optional: true },
					limit: {
						type: "number",
						integer: true,
						min: 1,
						max: SEARCH_LIMIT_MAX,
						default: SEARCH_LIMIT_DEFAULT,
						convert: true,
					},
					before: { type: "string", min: 1, max: 64, optional: true },
				},
				async handler(this: SearchThis, ctx: Context<SearchParams, SearchMeta>): Promise<SearchPage> {
					if (!ctx.meta.user) throw Unauthorized();
					const { q, character_id: characterId, limit, before } = ctx.params;
					const cursor = before === undefined ? undefined : decodeCursor(before);
					if (cursor === null) {
						const message = "The 'before' field must be the next_before of an earlier page of this search";
						throw ValidationFailed(message, [{ type: "cursor", field: "before", message }]);
					}
					try {
						return await this.store.search({ username: ctx.meta.user.username, q, characterId, limit, before: cursor });
					} catch (err) {
						throw err instanceof SearchTimedOut ? SearchTooBroad() : err;
					}
				},
			},
		},

		started(this: SearchThis) {
			this.store = new SearchStore(this.db.sequelize);
		},
	};
}
