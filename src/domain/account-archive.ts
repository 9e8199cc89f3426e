/**
 * The account archive's layout (GET /me/export, issue 16): names of its files, and the README inside it.
 * The files themselves are written by src/adapters/account-export.ts.
 */
import { slugify } from "./characters.js";

/** What the archive holds, for whoever opens it. */
export const ARCHIVE_README = `Your cameo account, as exported.

profile.json           your account: id, username, display name, role, when it was made
personas/              who you play: each persona as JSON (with the ids of its lorebooks), and its picture if it has one
lorebooks/             your lorebooks as SillyTavern world-info files (Import in SillyTavern's World Info, or in cameo)
characters/            the characters you made, as V3 character cards: a PNG where the character has an image, else JSON
chats/                 every chat you own, twice: .jsonl in SillyTavern's chat format, .json in cameo's full form
`;

/** A file name for a thing named `name` with id `id`: readable, and unique through the id's first characters. */
export function archiveName(name: string, id: string): string {
	const stem = slugify(name).slice(0, 60) || "unnamed";
	return `${stem}-${id.slice(0, 8)}`;
}

/** The extension of a stored image from its first bytes (avatars are PNG, JPEG or WebP). */
export function imageExtension(image: Uint8Array): "png" | "jpg" | "webp" | "bin" {
	const ascii = (from: number, to: number) => String.fromCharCode(...image.subarray(from, to));
	if (image[0] === 0x89 && ascii(1, 4) === "PNG") return "png";
	if (image[0] === 0xff && image[1] === 0xd8) return "jpg";
	if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
	return "bin";
}

/** The download's name: `cameo-alice-2026-12-07.zip` (usernames are [A-Za-z0-9_.-], safe in a header as they are). */
export function archiveFileName(username: string, now: Date): string {
	return `cameo-${username}-${now.toISOString().slice(0, 10)}.zip`;
}
