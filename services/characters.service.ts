/**
 * AI characters: the gallery (list/get), their owners' edits (create/update/remove), character card import/export
 * (importCard/exportCard), and `resolve` for the chat pipeline. Reads are cached by the broker's cacher (shared Redis
 * in a cluster); every write clears them all.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { UniqueConstraintError } from "sequelize";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import type { Character } from "../models/index.js";
import {
	CharacterNotFound,
	Forbidden,
	SlugTaken,
	Unauthorized,
	ValidationFailed,
	withCardErrors,
} from "../src/errors.js";
import {
	canEdit,
	canView,
	characterBytes,
	pickChanges,
	toCharacterSummary,
	toCharacterView,
	type Caller,
	type CharacterChanges,
	type CharacterSummary,
	type CharacterView,
} from "../src/domain/characters.js";
import {
	CHARACTER_FIELDS,
	OPTIONAL_CHARACTER_FIELDS,
	noChangesRefusal,
	nullFieldsRefusal,
	uploadChoiceRefusal,
} from "../src/domain/character-params.js";
import type { ParamsRefusal } from "../src/domain/params-refusal.js";
import { SEED_CHARACTERS, type SeedCharacter } from "../src/domain/seed-characters.js";
import { toCardV2, toCardV3, type CardV3 } from "../src/domain/character-card.js";
import { characterFromUpload, writeCardPng } from "../src/domain/card-png.js";
import { insertCharacter } from "../src/adapters/character-insert.js";
import { checkStorageQuota, clearCharacterCaches } from "../src/adapters/character-storage.js";
import { LorebookStore, MAX_ATTACHED_LOREBOOKS } from "../src/adapters/lorebook-store.js";
import { LorebookEvent } from "../src/domain/lorebook.js";
import { assertModelAllowed } from "../src/adapters/llm/models.js";

export interface CharactersMeta {
	user?: Caller;
	$statusCode?: number;
	$location?: string;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
}
export interface ListParams {
	q?: string;
	limit: number;
	offset: number;
}
export interface IdParams {
	id: string;
}
export type CreateParams = Required<Pick<CharacterChanges, "name" | "system_prompt">> & CharacterChanges;
/** `lorebook_ids`: the books attached to the character, in order (its owner's choice; the chat uses them). */
export type UpdateParams = IdParams & CharacterChanges & { lorebook_ids?: string[] | null };
/** Its owner sees which books are attached to it. */
export type OwnCharacterView = CharacterView & { lorebook_ids?: string[] };
/** Exactly one: a parsed card JSON, or a card PNG in base64. Private unless `is_public`. */
export interface ImportCardParams {
	card?: unknown;
	png?: string;
	is_public?: boolean;
}
export interface ExportCardParams {
	id: string;
	format: "json" | "png";
}

interface CharactersMethods {
	findVisible(id: string, user: Caller | undefined, withAvatar?: boolean): Promise<Character>;
	findEditable(id: string, user: Caller): Promise<Character>;
	checkQuota(user: Caller, addedBytes: number): Promise<void>;
	seed(characters?: readonly SeedCharacter[]): Promise<void>;
	clearCache(): Promise<void>;
	withLorebooks(row: Character, user: Caller | undefined): Promise<OwnCharacterView>;
}
type CharactersThis = Service & DbThis & CharactersMethods & { lorebooks: LorebookStore };

// Results that depend on who asks are cached per caller; a role change or an NSFW opt-in gets fresh entries.
const CALLER_KEYS = ["#user.id", "#user.role", "#user.show_nsfw"];
// Safety net for changes that bypass this service (e.g. a deleted user's characters losing their owner).
const CACHE_TTL_SECONDS = 300;

function requireUser(meta: CharactersMeta): Caller {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

/** Throws (422) a refusal of the params rules (src/domain/character-params.ts). */
function refuse(refusal: ParamsRefusal | undefined): void {
	if (refusal) throw ValidationFailed(refusal.detail, refusal.errors);
}

export default function charactersService(config: Config): ServiceSchema {
	return {
		name: "characters",

		/** `this.db`, opened before `started` seeds. */
		mixins: [DbMixin(config)],

		actions: {
			/** Public+active characters, the caller's own, or everything for an admin; by name. */
			list: {
				description: "Public characters plus your own, by name; `q` searches names",
				params: {
					q: { type: "string", optional: true, trim: true, max: 100 },
					limit: { type: "number", integer: true, min: 1, max: 100, default: 50, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 10_000, default: 0, convert: true },
				},
				cache: { keys: ["q", "limit", "offset", ...CALLER_KEYS], ttl: CACHE_TTL_SECONDS },
				async handler(this: CharactersThis, ctx: Context<ListParams, CharactersMeta>): Promise<CharacterSummary[]> {
					return (await this.db.models.Character.listVisible(ctx.meta.user, ctx.params)).map(toCharacterSummary);
				},
			},

			/** One character the caller may see; otherwise 404, so private ones stay secret. */
			get: {
				description: "One character",
				params: { id: "uuid" },
				cache: { keys: ["id", ...CALLER_KEYS], ttl: CACHE_TTL_SECONDS },
				async handler(this: CharactersThis, ctx: Context<IdParams, CharactersMeta>): Promise<OwnCharacterView> {
					return this.withLorebooks(await this.findVisible(ctx.params.id, ctx.meta.user), ctx.meta.user);
				},
			},

			/** A new character owned by the caller; the slug comes from the name unless given. */
			create: {
				description: "Create a character owned by you",
				params: {
					...OPTIONAL_CHARACTER_FIELDS,
					name: CHARACTER_FIELDS.name,
					system_prompt: CHARACTER_FIELDS.system_prompt,
					is_public: { ...CHARACTER_FIELDS.is_public, default: true },
					is_active: { ...CHARACTER_FIELDS.is_active, default: true },
				},
				async handler(this: CharactersThis, ctx: Context<CreateParams, CharactersMeta>): Promise<OwnCharacterView> {
					const user = requireUser(ctx.meta);
					refuse(nullFieldsRefusal(ctx.params));
					assertModelAllowed(config.llm, "llm_model", ctx.params.llm_model);
					const { slug, ...fields } = pickChanges(ctx.params);
					await this.checkQuota(user, characterBytes(ctx.params));
					const { name, system_prompt } = ctx.params;
					const data = { ...fields, name, system_prompt, created_by: user.id };
					const row = await insertCharacter(this.db.models.Character, data, slug);
					await this.clearCache();
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/characters/id/${row.id}`;
					return this.withLorebooks(row, user);
				},
			},

			/** Changes the given fields and attached lorebooks; the creator or an admin only. The slug stays unless given. */
			update: {
				description: "Change a character, or the lorebooks attached to it (its creator or an admin only)",
				params: {
					id: "uuid",
					...OPTIONAL_CHARACTER_FIELDS,
					lorebook_ids: { type: "array", items: "uuid", max: MAX_ATTACHED_LOREBOOKS, optional: true },
				},
				async handler(this: CharactersThis, ctx: Context<UpdateParams, CharactersMeta>): Promise<OwnCharacterView> {
					const user = requireUser(ctx.meta);
					refuse(nullFieldsRefusal(ctx.params));
					assertModelAllowed(config.llm, "llm_model", ctx.params.llm_model);
					const changes = pickChanges(ctx.params);
					const lorebookIds = ctx.params.lorebook_ids ?? undefined;
					if (!lorebookIds) refuse(noChangesRefusal(changes));
					const row = await this.findEditable(ctx.params.id, user);
					const before = Object.fromEntries(Object.keys(changes).map((field) => [field, row.get(field)]));
					await this.checkQuota(user, characterBytes(changes) - characterBytes(before));
					if (lorebookIds) {
						// Before the other changes: a book the caller may not read refuses the whole request.
						await this.lorebooks.attach({ kind: "character", id: row.id }, user, lorebookIds);
						void this.broker.broadcast(LorebookEvent.Changed, {});
					}
					try {
						await row.update(changes);
					} catch (err) {
						if (err instanceof UniqueConstraintError && changes.slug) throw SlugTaken(changes.slug);
						throw err;
					}
					await this.clearCache();
					return this.withLorebooks(row, user);
				},
			},

			/** A new character owned by the caller from a V1/V2/V3 card (JSON, or PNG whose image becomes the avatar). */
			importCard: {
				description: "Import a Character Card (JSON, or PNG whose image becomes the avatar); private unless is_public",
				params: {
					card: { type: "any", optional: true },
					png: { type: "string", optional: true },
					is_public: { ...CHARACTER_FIELDS.is_public, default: false },
				},
				async handler(this: CharactersThis, ctx: Context<ImportCardParams, CharactersMeta>): Promise<OwnCharacterView> {
					const user = requireUser(ctx.meta);
					refuse(uploadChoiceRefusal(ctx.params));
					const { character, avatar } = withCardErrors(() => characterFromUpload(ctx.params));
					await this.checkQuota(user, characterBytes(character, avatar));
					const data = { ...character, avatar, is_public: ctx.params.is_public, created_by: user.id };
					const row = await insertCharacter(this.db.models.Character, data, undefined);
					await this.clearCache();
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/characters/id/${row.id}`;
					return this.withLorebooks(row, user);
				},
			},

			/** A character the caller may see as a V3 card: JSON, or a PNG carrying V2 (`chara`) and V3 (`ccv3`). */
			exportCard: {
				description: "Export a character as a V3 card, JSON or PNG",
				params: { id: "uuid", format: { type: "enum", values: ["json", "png"] } },
				async handler(this: CharactersThis, ctx: Context<ExportCardParams, CharactersMeta>): Promise<CardV3 | Buffer> {
					const { id, format } = ctx.params;
					const row = await this.findVisible(id, ctx.meta.user, format === "png");
					// The slug is [a-z0-9-] only, so it is safe in the header as it is.
					ctx.meta.$responseHeaders = { "Content-Disposition": `attachment; filename="${row.slug}.${format}"` };
					if (format === "json") return toCardV3(row);
					ctx.meta.$responseType = "image/png";
					return writeCardPng({ v2: toCardV2(row), v3: toCardV3(row) }, row.avatar);
				},
			},

			/** Deletes a character (and, by foreign key, its sessions and messages); the creator or an admin only. */
			remove: {
				description: "Delete a character (its creator or an admin only)",
				params: { id: "uuid" },
				async handler(this: CharactersThis, ctx: Context<IdParams, CharactersMeta>): Promise<null> {
					const row = await this.findEditable(ctx.params.id, requireUser(ctx.meta));
					await row.destroy();
					await this.clearCache();
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** For other services (the chat pipeline): any character by id, unfiltered, or null. */
			resolve: {
				visibility: "public",
				params: { id: "uuid" },
				cache: { keys: ["id"], ttl: CACHE_TTL_SECONDS },
				async handler(this: CharactersThis, ctx: Context<IdParams>): Promise<CharacterView | null> {
					const row = await this.db.models.Character.findByPk(ctx.params.id);
					return row ? toCharacterView(row) : null;
				},
			},
		},

		methods: {
			async findVisible(this: CharactersThis, id: string, user?: Caller, withAvatar = false): Promise<Character> {
				const { Character } = this.db.models;
				// The default scope leaves the avatar's bytes out.
				const row = await (withAvatar ? Character.unscoped() : Character).findByPk(id);
				if (!row || !canView(row, user)) throw CharacterNotFound(id);
				return row;
			},

			/** 404 for what the caller can't see (don't reveal it exists), 403 for what they see but don't own. */
			async findEditable(this: CharactersThis, id: string, user: Caller): Promise<Character> {
				const row = await this.findVisible(id, user);
				if (!canEdit(row, user)) throw Forbidden("Only the character's creator or an admin may change it");
				return row;
			},

			/** Refuses (413) a write that would take the user's characters over their storage quota. */
			async checkQuota(this: CharactersThis, user: Caller, addedBytes: number): Promise<void> {
				const { Character } = this.db.models;
				await checkStorageQuota(Character, user.id, addedBytes, config.characters.maxBytesPerUser);
			},

			/**
			 * Inserts the seed characters that are missing, by slug among ownerless ones, and never touches existing rows,
			 * so admins' edits survive restarts; a lock makes concurrent starts harmless. (An admin hides a seed with
			 * is_active=false: a deleted one comes back at the next start.)
			 */
			async seed(this: CharactersThis, characters: readonly SeedCharacter[] = SEED_CHARACTERS): Promise<void> {
				const rows = characters.map((c) => ({ ...c, created_by: null, is_public: true, is_active: true }));
				await this.db.models.Character.insertMissingSeeds(rows);
				await this.clearCache();
			},

			/** The character's view, with the ids of its lorebooks for whoever may edit it. */
			async withLorebooks(this: CharactersThis, row: Character, user?: Caller): Promise<OwnCharacterView> {
				const view = toCharacterView(row);
				if (!canEdit(row, user)) return view;
				return { ...view, lorebook_ids: await this.lorebooks.attached({ kind: "character", id: row.id }) };
			},

			/** Every cached characters.* read, on every node. */
			async clearCache(this: CharactersThis): Promise<void> {
				await clearCharacterCaches(this.broker, this.logger);
			},
		},

		/** Seeds once the mixin's `started` has opened the database. */
		async started() {
			(this as CharactersThis).lorebooks = new LorebookStore((this as CharactersThis).db.sequelize);
			await (this as CharactersThis).seed();
		},
	};
}
