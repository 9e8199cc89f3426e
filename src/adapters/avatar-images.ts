/**
 * Avatar pixels, with sharp (libvips): the small derived images GET /characters/id/{id}/avatar serves, and uploads
 * turned into the PNG cameo stores (card-png.ts storedAvatar). Every decode refuses more than MAX_AVATAR_PIXELS
 * before it allocates them, so a small file claiming a huge image (a decompression bomb) costs nothing.
 */
import sharp from "sharp";
import { MAX_AVATAR_BYTES, MAX_IMAGE_SIDE, storedAvatar } from "../domain/card-png.js";
import { AVATAR_STORED_SIDE, MAX_AVATAR_PIXELS, type AvatarSize } from "../domain/avatars.js";
import { CardError } from "../domain/character-card.js";

// Derived images are cached by the service (keyed by version), so libvips' own operation cache would only hold memory.
sharp.cache(false);

/** Formats an upload may be in: what sharp's metadata calls PNG, JPEG and WebP. */
const UPLOAD_FORMATS = new Set(["png", "jpeg", "webp"]);

const decode = (bytes: Buffer) => sharp(bytes, { limitInputPixels: MAX_AVATAR_PIXELS, failOn: "error" });

/** The stored avatar as a `size`-pixel square WebP, cropped to the centre (card art is portrait, faces near the top). */
export async function deriveAvatar(stored: Buffer, size: AvatarSize): Promise<Buffer> {
	return decode(stored).resize(size, size, { fit: "cover", position: "top" }).webp({ quality: 82 }).toBuffer();
}

/**
 * An uploaded PNG, JPEG or WebP as cameo stores avatars: upright (EXIF orientation applied), metadata dropped, at
 * most AVATAR_STORED_SIDE a side, PNG without text chunks. Refusals are CardErrors (clear 4xx at the gateway).
 */
export async function normaliseAvatarUpload(upload: Buffer): Promise<Buffer> {
	let format: string | undefined;
	let width = 0;
	let height = 0;
	try {
		// The header only: no pixels are decoded, so a bomb's claim can be read and refused with its size.
		({ format, width = 0, height = 0 } = await sharp(upload, { limitInputPixels: false }).metadata());
	} catch {
		throw new CardError("invalid_image", "The file is not a PNG, JPEG or WebP image");
	}
	if (!format || !UPLOAD_FORMATS.has(format)) {
		throw new CardError("invalid_image", `The file is ${format ?? "not an image"}; send a PNG, JPEG or WebP image`);
	}
	if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
		throw new CardError(
			"image_too_large",
			`The image is ${width}x${height} pixels; at most ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE} are accepted`,
		);
	}
	let png: Buffer;
	try {
		png = await decode(upload)
			.rotate()
			.resize(AVATAR_STORED_SIDE, AVATAR_STORED_SIDE, { fit: "inside", withoutEnlargement: true })
			.png({ compressionLevel: 9 })
			.toBuffer();
	} catch {
		throw new CardError("invalid_image", "The image is damaged or truncated and could not be read");
	}
	const stored = storedAvatar(png);
	if (!stored) throw new CardError("too_large", `The image does not fit in ${MAX_AVATAR_BYTES} bytes`);
	return stored;
}
