/**
 * Character images as the API serves them: a small derived image per size (never the stored original, which may be
 * megabytes), validated by ETag, and uploads normalised to the PNG a card export carries (card-png.ts storedAvatar).
 */
import { MAX_IMAGE_SIDE } from "./card-png.js";

/** The derived sizes, in pixels a side (square, cropped to the centre): 64 and 128 for lists and chats, 256 for pages. */
export const AVATAR_SIZES = [64, 128, 256] as const;
export type AvatarSize = (typeof AVATAR_SIZES)[number];
export const DEFAULT_AVATAR_SIZE: AvatarSize = 128;

/** What GET /characters/id/{id}/avatar answers with. */
export const DERIVED_AVATAR_TYPE = "image/webp";

/**
 * Per user (the caller's token decides whether a private character's image is visible), so shared caches must not
 * keep it, and the browser asks again each time: a character made private stops showing at once, and an unchanged
 * image costs a 304.
 */
export const AVATAR_CACHE_CONTROL = "private, no-cache";

/** Image types an avatar upload may have. */
export const AVATAR_UPLOAD_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
export type AvatarUploadType = (typeof AVATAR_UPLOAD_TYPES)[number];

/** Largest upload body: a phone photo fits; the stored result is far smaller (AVATAR_STORED_SIDE). */
export const MAX_AVATAR_UPLOAD_BYTES = 8 * 1024 * 1024;

/**
 * Longest side of an uploaded avatar as stored. Even an incompressible RGBA image of this size stays under
 * MAX_AVATAR_BYTES (960² × 4 bytes ≈ 3.5 MiB), and it is sharper than any place the image is shown.
 */
export const AVATAR_STORED_SIDE = 960;

/** Most pixels any avatar decode may have: a larger claim is refused before decoding (a decompression bomb). */
export const MAX_AVATAR_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE;

/** Most derived images kept in memory per node, in bytes (a 128-pixel WebP is a few kB). */
export const DERIVED_AVATAR_CACHE_BYTES = 16 * 1024 * 1024;

/** The size a `?size=` names, or undefined when it is not one of AVATAR_SIZES. */
export function avatarSize(value: unknown): AvatarSize | undefined {
	const size = Number(value ?? DEFAULT_AVATAR_SIZE);
	return AVATAR_SIZES.find((s) => s === size);
}

/** The upload type a Content-Type header names (parameters and case aside), if avatars take it. */
export function avatarUploadType(contentType: string | undefined): AvatarUploadType | undefined {
	const type = contentType?.split(";")[0].trim().toLowerCase();
	return AVATAR_UPLOAD_TYPES.find((t) => t === type);
}

/**
 * The derived image's entity tag: it changes whenever the character does (a new image changes updated_at) and
 * differs per size, so one URL's validator never matches another's image.
 */
export function avatarEtag(characterId: string, updatedAt: Date | string, size: AvatarSize): string {
	const version = new Date(updatedAt).getTime().toString(36);
	return `"${characterId.slice(0, 8)}-${version}-${size}"`;
}

/** Whether an If-None-Match header (a list of tags, weak or strong, or `*`) names `etag` (weak comparison, RFC 9110). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
	if (!ifNoneMatch) return false;
	const strip = (tag: string) => tag.trim().replace(/^W\//, "");
	return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || strip(tag) === strip(etag));
}

/** The derived-image cache key: a new image (a new updated_at) never meets an old entry. */
export function derivedAvatarKey(characterId: string, updatedAt: Date | string, size: AvatarSize): string {
	return `${characterId}/${new Date(updatedAt).getTime()}/${size}`;
}
