/**
 * Lorebooks (world info) over REST: my books and the public ones, one book, its owner's edits (create, update, remove),
 * import of a SillyTavern world-info file or a V2 `character_book`, and export as either (a download). Private books
 * are their owner's alone: anyone else gets 404, as for a missing one; public ones anyone may read, only the owner
 * change. Every write broadcasts `lorebook.changed`, so ai-consumer nodes forget their copies.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { LorebookStore, type LorebookRow, type LorebookScope } from "../src/adapters/lorebook-store.js";
import {
	LorebookError,
	MAX_LORE_ENTRIES,
	MAX_LOREBOOK_DESCRIPTION_CHARS,
	MAX_LOREBOOK_NAME_CHARS,
	MAX_SCAN_DEPTH,
	MAX_TOKEN_BUDGET,
	checkKeys,
	entriesFromParams,
	extensionsFromParams,
	parseLorebookFile,
	toCharacterBook,
	toWorldInfo,
} from "../src/domain/lorebook-format.js";
import {
	LorebookEvent,
	lorebookSummary,
	lorebookView,
	type LoreEntry,
	type LorebookData,
	type LorebookSummary,
	type LorebookView,
} from "../src/domain/lorebook.js";
import { compileKey } from "../src/domain/lore-matching.js";
import { slugify } from "../src/domain/characters.js";
import { clearCharacterCaches } from "../src/adapters/character-storage.js";
import type { AuthUser } from "../src/domain/accounts.js";
import { Forbidden, LorebookNotFound, Unauthorized, ValidationFailed } from "../src/errors.js";

interface LorebooksMeta {
	user?: AuthUser;
	$statusCode?: number;
	$location?: string;
	$responseHeaders?: Record<string, string>;
}
interface IdParams {
	id: string;
}
interface ListParams {
	scope?: "mine" | "public";
	limit: number;
	offset: number;
}
interface BookFields {
	name?: string;
	description?: string;
	scan_depth?: number | null;
	token_budget?: number | null;
	recursive_scanning?: boolean;
	is_public?: boolean;
	entries?: unknown[];
	extensions?: Record<string, unknown>;
}
interface ExportParams extends IdParams {
	format: "sillytavern" | "character_book";
}

type LorebooksThis = Service &
	DbThis & {
		books: LorebookStore;
		ownBook(user: AuthUser, id: string): Promise<LorebookRow>;
		changed(id: string): void;
	};

const BOOK_PARAMS = {
	name: { type: "string", trim: true, min: 1, max: MAX_LOREBOOK_NAME_CHARS },
	description: { type: "string", max: MAX_LOREBOOK_DESCRIPTION_CHARS, optional: true },
	scan_depth: { type: "number", integer: true, min: 1, max: MAX_SCAN_DEPTH, optional: true, nullable: true },
	token_budget: { type: "number", integer: true, min: 0, max: MAX_TOKEN_BUDGET, optional: true, nullable: true },
	recursive_scanning: { type: "boolean", optional: true },
	is_public: { type: "boolean", optional: true },
	entries: { type: "array", max: MAX_LORE_ENTRIES, items: "object", optional: true },
	extensions: { type: "object", optional: true },
} as const;
const EDITABLE = Object.keys(BOOK_PARAMS) as (keyof BookFields)[];

const IMPORTED_NAME = "Imported lorebook";

export default function lorebooksService(config: Config): ServiceSchema<ServiceSettingSchema, LorebooksThis> {
	return {
		name: "lorebooks",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** My books and the public ones (or one of the two), the most recently changed first. */
			list: {
				description: "Your lorebooks and the public ones (`scope=mine|public` for one of the two), newest first",
				params: {
					scope: { type: "enum", values: ["mine", "public"], optional: true },
					limit: { type: "number", integer: true, min: 1, max: 200, default: 100, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 10_000, default: 0, convert: true },
				},
				async handler(this: LorebooksThis, ctx: Context<ListParams, LorebooksMeta>): Promise<LorebookSummary[]> {
					const user = requireUser(ctx.meta);
					const { scope, limit, offset } = ctx.params;
					const rows = await this.books.list(user, (scope ?? "all") as LorebookScope, { limit, offset });
					return rows.map((row) => lorebookSummary(row, user.id));
				},
			},

			/** One book I may read: mine, or public. */
			get: {
				description: "One lorebook: yours, or a public one",
				params: { id: "uuid" },
				async handler(this: LorebooksThis, ctx: Context<IdParams, LorebooksMeta>): Promise<LorebookView> {
					const user = requireUser(ctx.meta);
					const row = await this.books.find(user, ctx.params.id);
					if (!row) throw LorebookNotFound(ctx.params.id);
					return lorebookView(row, user.id);
				},
			},

			/** A new book of mine; private unless `is_public`. */
			create: {
				description: "Create a lorebook of yours (private unless is_public)",
				params: BOOK_PARAMS,
				async handler(this: LorebooksThis, ctx: Context<BookFields & { name: string }, LorebooksMeta>) {
					const user = requireUser(ctx.meta);
					const p = ctx.params;
					const book = withLorebookErrors(() => ({
						name: p.name,
						description: p.description ?? "",
						scan_depth: p.scan_depth ?? null,
						token_budget: p.token_budget ?? null,
						recursive_scanning: p.recursive_scanning ?? false,
						entries: checkedEntries(entriesFromParams(p.entries ?? [])),
						extensions: extensionsFromParams(p.extensions ?? {}),
					}));
					const row = await this.books.create(user.id, book, p.is_public ?? false);
					this.changed(row.id);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/lorebooks/${row.id}`;
					return lorebookView(row, user.id);
				},
			},

			/** Changes the given fields of my book; `entries` replaces them all. */
			update: {
				description: "Change your lorebook; `entries` replaces all its entries",
				params: { id: "uuid", ...BOOK_PARAMS, name: { ...BOOK_PARAMS.name, optional: true } },
				async handler(this: LorebooksThis, ctx: Context<IdParams & BookFields, LorebooksMeta>): Promise<LorebookView> {
					const user = requireUser(ctx.meta);
					const p = ctx.params;
					if (!EDITABLE.some((field) => p[field] !== undefined)) {
						const message = `Give at least one of ${EDITABLE.join(", ")}`;
						throw ValidationFailed("Nothing to change", [{ type: "required", field: "name", message }]);
					}
					await this.ownBook(user, p.id);
					const changes = withLorebookErrors(() => ({
						name: p.name,
						description: p.description,
						scan_depth: p.scan_depth,
						token_budget: p.token_budget,
						recursive_scanning: p.recursive_scanning,
						is_public: p.is_public,
						entries: p.entries === undefined ? undefined : checkedEntries(entriesFromParams(p.entries)),
						extensions: p.extensions === undefined ? undefined : extensionsFromParams(p.extensions),
					}));
					const row = await this.books.update(user.id, p.id, changes);
					if (!row) throw LorebookNotFound(p.id);
					this.changed(row.id);
					return lorebookView(row, user.id);
				},
			},

			/** Deletes my book, and with it its attachments. */
			remove: {
				description: "Delete your lorebook (it is detached from every chat, persona and character)",
				params: { id: "uuid" },
				async handler(this: LorebooksThis, ctx: Context<IdParams, LorebooksMeta>): Promise<null> {
					const user = requireUser(ctx.meta);
					await this.ownBook(user, ctx.params.id);
					if (!(await this.books.remove(user.id, ctx.params.id))) throw LorebookNotFound(ctx.params.id);
					this.changed(ctx.params.id);
					// Its owner's character views list the books attached to them.
					await clearCharacterCaches(this.broker, this.logger);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/**
			 * A new book of mine from a file: the body is a SillyTavern world-info file or a V2 `character_book` (or a card
			 * carrying one). `?name=` names it (else the file's name); `?is_public=true` shares it.
			 */
			import: {
				description:
					"Import a lorebook: the body is a SillyTavern world-info JSON or a V2 character_book; `?name=` names it",
				params: {
					name: { type: "string", trim: true, max: MAX_LOREBOOK_NAME_CHARS, optional: true },
					is_public: { type: "boolean", convert: true, optional: true },
				},
				async handler(this: LorebooksThis, ctx: Context<Record<string, unknown>, LorebooksMeta>) {
					const user = requireUser(ctx.meta);
					// The gateway merges the query (name, is_public) over the body's fields.
					const file = Object.fromEntries(Object.entries(ctx.params).filter(([key]) => key !== "is_public"));
					const book: LorebookData = withLorebookErrors(() => {
						const parsed = parseLorebookFile(file);
						checkedEntries(parsed.entries);
						return parsed;
					});
					const named = { ...book, name: book.name.trim() || IMPORTED_NAME };
					const row = await this.books.create(user.id, named, ctx.params.is_public === true);
					this.changed(row.id);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/lorebooks/${row.id}`;
					return lorebookView(row, user.id);
				},
			},

			/** A book I may read as a file to download: SillyTavern's world-info format (default) or a V2 `character_book`. */
			export: {
				description: "Download a lorebook as a SillyTavern world-info file (default) or a V2 character_book",
				params: {
					id: "uuid",
					format: { type: "enum", values: ["sillytavern", "character_book"], default: "sillytavern" },
				},
				async handler(this: LorebooksThis, ctx: Context<ExportParams, LorebooksMeta>) {
					const user = requireUser(ctx.meta);
					const row = await this.books.find(user, ctx.params.id);
					if (!row) throw LorebookNotFound(ctx.params.id);
					const stem = slugify(row.name) || "lorebook";
					const suffix = ctx.params.format === "character_book" ? "-character-book" : "";
					// slugify leaves [a-z0-9-] only, safe in the header as it is.
					ctx.meta.$responseHeaders = { "Content-Disposition": `attachment; filename="${stem}${suffix}.json"` };
					return ctx.params.format === "character_book" ? toCharacterBook(row) : toWorldInfo(row);
				},
			},
		},

		methods: {
			/** A book I may change: 404 when I may not even read it, 403 when it is someone else's public one. */
			async ownBook(this: LorebooksThis, user: AuthUser, id: string): Promise<LorebookRow> {
				const row = await this.books.find(user, id);
				if (!row) throw LorebookNotFound(id);
				if (row.owner_id !== user.id) throw Forbidden("Only the lorebook's owner may change it");
				return row;
			},

			changed(this: LorebooksThis, id: string): void {
				void this.broker.broadcast(LorebookEvent.Changed, { id });
			},
		},

		started(this: LorebooksThis) {
			this.books = new LorebookStore(this.db.sequelize);
		},
	};
}

function requireUser(meta: LorebooksMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

/** The entries, once every regular expression among their keys is one the chat can run (else a LorebookError). */
function checkedEntries(entries: LoreEntry[]): LoreEntry[] {
	checkKeys(entries, compileKey);
	return entries;
}

/** Runs format code, turning its refusals into 422s that name the field. */
function withLorebookErrors<T>(fn: () => T): T {
	try {
		return fn();
	} catch (err) {
		if (!(err instanceof LorebookError)) throw err;
		throw ValidationFailed(err.message, [{ type: "lorebook", field: err.field ?? "", message: err.message }]);
	}
}
