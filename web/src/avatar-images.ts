/**
 * Character and persona images as the page shows them. An <img src> cannot send the Authorization header, and a private
 * character's avatar must stay private (no token in URLs, no public route), so each image is fetched with the token
 * and shown as a blob: URL. Fetches are shared per character, version (its updated_at) and size for the life of the
 * page, so a chat of 200 replies asks for one small image; a new login starts afresh (the old URLs are revoked).
 */
import { fetchBlob, getToken } from "./api";

/** The sizes GET /characters/id/{id}/avatar derives, in pixels. */
export type AvatarPixels = 64 | 128 | 256;

const images = new Map<string, Promise<string | null>>();
/** The URLs already fetched, so a new row shows its image at once instead of initials for a frame. */
const ready = new Map<string, string>();
let owner = getToken();

/** The image's blob: URL if it has already been fetched (`size` absent: a persona's image). */
export function readyAvatarUrl(id: string, version: string, size?: AvatarPixels): string | null {
	const key = size ? `${id}@${version}/${size}` : `persona:${id}@${version}`;
	return getToken() === owner ? (ready.get(key) ?? null) : null;
}

/** A blob: URL of the character's derived image, or null when there is none to show (removed, refused, offline). */
export function avatarUrl(id: string, version: string, size: AvatarPixels): Promise<string | null> {
	return cachedImage(`${id}@${version}/${size}`, `/characters/id/${encodeURIComponent(id)}/avatar?size=${size}`);
}

/** A blob: URL of a persona's image (small already: at most 512 kB), or null when there is none to show. */
export function personaAvatarUrl(id: string, version: string): Promise<string | null> {
	return cachedImage(`persona:${id}@${version}`, `/personas/${encodeURIComponent(id)}/avatar`);
}

/** The image fetched with the token, once per key for the life of the login. */
function cachedImage(key: string, path: string): Promise<string | null> {
	const token = getToken();
	if (token !== owner) forgetAvatars(token);
	let url = images.get(key);
	if (!url) {
		url = fetchBlob(path).then(
			(blob) => {
				const objectUrl = URL.createObjectURL(blob);
				ready.set(key, objectUrl);
				return objectUrl;
			},
			() => {
				// Not remembered, so a later render (after a reconnect) tries again.
				images.delete(key);
				return null;
			},
		);
		images.set(key, url);
	}
	return url;
}

function forgetAvatars(token: string | null): void {
	for (const url of images.values()) void url.then((u) => u && URL.revokeObjectURL(u));
	images.clear();
	ready.clear();
	owner = token;
}
