/**
 * Character images as the page shows them. An <img src> cannot send the Authorization header, and a private
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

/** The image's blob: URL if it has already been fetched. */
export function readyAvatarUrl(id: string, version: string, size: AvatarPixels): string | null {
	return getToken() === owner ? (ready.get(`${id}@${version}/${size}`) ?? null) : null;
}

/** A blob: URL of the character's derived image, or null when there is none to show (removed, refused, offline). */
export function avatarUrl(id: string, version: string, size: AvatarPixels): Promise<string | null> {
	const token = getToken();
	if (token !== owner) forgetAvatars(token);
	const key = `${id}@${version}/${size}`;
	let url = images.get(key);
	if (!url) {
		url = fetchBlob(`/characters/id/${encodeURIComponent(id)}/avatar?size=${size}`).then(
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
