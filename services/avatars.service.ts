/**
 * Character images: `get` serves a small derived WebP of a character's avatar (never the stored original, which may
 * be megabytes) with an ETag, so an unchanged image costs a 304; `put` stores an upload as the PNG a card export
 * carries; `remove` drops it. Same visibility as characters.get (404 for what the caller may not see); writes are the
 * creator's or an admin's, as characters.update. Derived images are kept per node in a bounded LRU cache keyed by
 * character, version (updated_at) and size, so a new image never meets an old entry.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { LRUCache } from "lru-cache";
import { literal, type FindAttributeOptions } from "sequelize";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import type { Character } from "../models/index.js";
import {
	CharacterNotFound,
	Forbidden,
	NotFound,
	Unauthorized,
	ValidationFailed,
	withCardErrors,
} from "../src/errors.js";
import { canEdit, canView, toCharacterView, type Caller, type CharacterView } from "../src/domain/characters.js";
import {
	AVATAR_CACHE_CONTROL,
	AVATAR_SIZES,
	DERIVED_AVATAR_CACHE_BYTES,
	DERIVED_AVATAR_TYPE,
	MAX_AVATAR_UPLOAD_BYTES,
	avatarEtag,
	avatarSize,
	derivedAvatarKey,
	etagMatches,
	type AvatarSize,
} from "../src/domain/avatars.js";
import { deriveAvatar, normaliseAvatarUpload } from "../src/adapters/avatar-images.js";
import { checkStorageQuota, clearCharacterCaches } from "../src/adapters/character-storage.js";
import type { AvatarReadMeta } from "../src/adapters/avatar-route.js";

interface AvatarsMeta extends AvatarReadMeta {
	user?: Caller;
	$statusCode?: number;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
}
interface GetParams {
	id: string;
	size?: number;
}
interface PutParams {
	id: string;
	image: string;
}

interface AvatarsMethods {
	findVisible(id: string, user: Caller | undefined, attributes?: FindAttributeOptions): Promise<Character>;
	findEditable(id: string, user: Caller | undefined): Promise<Character>;
	derived(row: Character, size: AvatarSize): Promise<Buffer>;
}
type AvatarsThis = Service &
	DbThis &
	AvatarsMethods & {
		cache: LRUCache<string, Buffer>;
		/** Derivations under way, so a gallery's simultaneous requests for one image decode it once. */
		deriving: Map<string, Promise<Buffer>>;
	};

const noImage = () => NotFound("This character has no image");

/** What serving an image needs of its character: who may see it, whether it has one, and its version. */
const IMAGE_CHECK_ATTRIBUTES: FindAttributeOptions = [
	"id",
	"created_by",
	"is_public",
	"is_active",
	"hidden",
	"nsfw",
	"updated_at",
	[literal("avatar IS NOT NULL"), "has_avatar"],
];

export default function avatarsService(config: Config): ServiceSchema {
	return {
		name: "avatars",

		mixins: [DbMixin(config)],

		actions: {
			/** The derived image, or 304 when the client's If-None-Match names it. */
			get: {
				description: `A character's image as a small square WebP: size ${AVATAR_SIZES.join(", ")} pixels (default 128)`,
				params: {
					id: "uuid",
					size: { type: "number", integer: true, convert: true, optional: true },
				},
				async handler(this: AvatarsThis, ctx: Context<GetParams, AvatarsMeta>): Promise<Buffer | null> {
					const size = avatarSize(ctx.params.size);
					if (!size) {
						const message = `The size is one of ${AVATAR_SIZES.join(", ")}`;
						throw ValidationFailed(message, [{ field: "size", message, type: "enum" }]);
					}
					const row = await this.findVisible(ctx.params.id, ctx.meta.user, IMAGE_CHECK_ATTRIBUTES);
					if (!row.has_avatar) throw noImage();
					const etag = avatarEtag(row.id, row.updated_at, size);
					ctx.meta.$responseHeaders = { ETag: etag, "Cache-Control": AVATAR_CACHE_CONTROL, Vary: "Authorization" };
					if (etagMatches(ctx.meta.ifNoneMatch, etag)) {
						ctx.meta.$statusCode = 304;
						return null;
					}
					ctx.meta.$responseType = DERIVED_AVATAR_TYPE;
					return this.derived(row, size);
				},
			},

			/** Stores an uploaded PNG, JPEG or WebP (as base64) as the character's avatar; answers with the character. */
			put: {
				description: "Set your character's image (PNG, JPEG or WebP; stored as a PNG of at most 960 pixels a side)",
				params: {
					id: "uuid",
					image: { type: "string", max: Math.ceil(MAX_AVATAR_UPLOAD_BYTES / 3) * 4 },
				},
				async handler(this: AvatarsThis, ctx: Context<PutParams, AvatarsMeta>): Promise<CharacterView> {
					const user = ctx.meta.user;
					const row = await this.findEditable(ctx.params.id, user);
					const png = await withCardErrors(() => normaliseAvatarUpload(Buffer.from(ctx.params.image, "base64")));
					const { Character } = this.db.models;
					const before = await Character.unscoped().findByPk(row.id, { attributes: ["avatar"] });
					const added = png.length - (before?.avatar?.length ?? 0);
					await checkStorageQuota(Character, row.created_by ?? user!.id, added, config.characters.maxBytesPerUser);
					await row.update({ avatar: png });
					await clearCharacterCaches(this.broker, this.logger);
					return toCharacterView(await this.findVisible(row.id, user));
				},
			},

			/** Removes the character's image (204); the card export then uses a placeholder again. */
			remove: {
				description: "Remove your character's image",
				params: { id: "uuid" },
				async handler(this: AvatarsThis, ctx: Context<{ id: string }, AvatarsMeta>): Promise<null> {
					const row = await this.findEditable(ctx.params.id, ctx.meta.user);
					if (row.has_avatar) {
						await row.update({ avatar: null });
						await clearCharacterCaches(this.broker, this.logger);
					}
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		methods: {
			/** The character without its image bytes (default scope, or `attributes`) if the caller may see it; else 404. */
			async findVisible(
				this: AvatarsThis,
				id: string,
				user: Caller | undefined,
				attributes?: FindAttributeOptions,
			): Promise<Character> {
				const { Character } = this.db.models;
				const row = await (attributes ? Character.unscoped().findByPk(id, { attributes }) : Character.findByPk(id));
				if (!row || !canView(row, user)) throw CharacterNotFound(id);
				return row;
			},

			/** 404 for what the caller can't see, 403 for what they see but don't own (as characters.update). */
			async findEditable(this: AvatarsThis, id: string, user: Caller | undefined): Promise<Character> {
				if (!user) throw Unauthorized();
				const row = await this.findVisible(id, user);
				if (!canEdit(row, user)) throw Forbidden("Only the character's creator or an admin may change it");
				return row;
			},

			/** The cached derived image, or the stored one resized (once, however many ask at the same time). */
			async derived(this: AvatarsThis, row: Character, size: AvatarSize): Promise<Buffer> {
				const key = derivedAvatarKey(row.id, row.updated_at, size);
				const cached = this.cache.get(key);
				if (cached) return cached;
				let pending = this.deriving.get(key);
				if (!pending) {
					pending = (async () => {
						const stored = await this.db.models.Character.unscoped().findByPk(row.id, { attributes: ["avatar"] });
						if (!stored?.avatar) throw noImage();
						const image = await deriveAvatar(stored.avatar, size);
						this.cache.set(key, image);
						return image;
					})().finally(() => this.deriving.delete(key));
					this.deriving.set(key, pending);
				}
				return pending;
			},
		},

		created() {
			const self = this as AvatarsThis;
			self.cache = new LRUCache<string, Buffer>({
				maxSize: DERIVED_AVATAR_CACHE_BYTES,
				sizeCalculation: (image) => Math.max(1, image.length),
			});
			self.deriving = new Map();
		},
	};
}
