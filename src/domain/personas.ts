/**
 * Personas: who the user plays in a chat (`{{user}}` in prompts and greetings, and a description of them). One per
 * user is the default, used by every session that names none. Here: their limits, the view REST shows, the event a
 * change emits, and reading an avatar sent as a `data:` URL.
 */

export const PERSONA_NAME_MAX_CHARS = 64;
export const PERSONA_DESCRIPTION_MAX_CHARS = 4000;
/** Largest avatar image a `data:` URL may carry (decoded bytes). */
export const PERSONA_AVATAR_MAX_BYTES = 512 * 1024;
/** Longest `data:` URL read: base64 of the largest image, and its header. */
export const PERSONA_AVATAR_MAX_URL_CHARS = Math.ceil(PERSONA_AVATAR_MAX_BYTES / 3) * 4 + 64;

/** Broadcast after every write: ai-consumer drops its cached persona. */
export const PersonaEvent = { Changed: "persona.changed" } as const;
export interface PersonaChangedPayload {
	id: string;
	user_id: string;
}

/** A persona as the store reads it. */
export interface PersonaRow {
	id: string;
	user_id: string;
	name: string;
	description: string;
	is_default: boolean;
	has_avatar: boolean;
	created_at: Date;
	updated_at: Date;
}

export function toPersonaView(p: PersonaRow, lorebookIds: string[]) {
	return {
		id: p.id,
		name: p.name,
		description: p.description,
		is_default: p.is_default,
		has_avatar: p.has_avatar,
		lorebook_ids: lorebookIds,
		created_at: p.created_at,
		updated_at: p.updated_at,
	};
}

/** A default persona's name: the user's display name, cut to what a persona name may be. */
export function defaultPersonaName(userName: string): string {
	const name = Array.from(userName.trim()).slice(0, PERSONA_NAME_MAX_CHARS).join("");
	return name || "User";
}

const AVATAR_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;

export type AvatarDataUrl = { ok: true; bytes: Buffer } | { ok: false; detail: string; tooLarge?: true };

/** The image a `data:image/png|jpeg|webp;base64,...` URL carries; whether it really is one is sharp's to say. */
export function parseAvatarDataUrl(url: string): AvatarDataUrl {
	if (url.length > PERSONA_AVATAR_MAX_URL_CHARS) {
		return { ok: false, tooLarge: true, detail: `The avatar may be at most ${PERSONA_AVATAR_MAX_BYTES} bytes` };
	}
	const match = /^data:([a-z/+.-]+);base64,([A-Za-z0-9+/]*={0,2})$/i.exec(url);
	if (!match) return { ok: false, detail: "avatar must be a data: URL (data:image/png;base64,...)" };
	const type = match[1].toLowerCase();
	if (!AVATAR_TYPES.some((t) => t === type)) {
		return { ok: false, detail: `avatar must be one of ${AVATAR_TYPES.join(", ")}` };
	}
	const bytes = Buffer.from(match[2], "base64");
	if (bytes.length === 0) return { ok: false, detail: "avatar is empty" };
	if (bytes.length > PERSONA_AVATAR_MAX_BYTES) {
		return { ok: false, tooLarge: true, detail: `The avatar may be at most ${PERSONA_AVATAR_MAX_BYTES} bytes` };
	}
	return { ok: true, bytes };
}
