/**
 * Rooms as REST shows them (GET/PATCH /sessions/:id, POST /sessions, members, invites): a session's cast, people and
 * reply mode beside what toSessionView already shows, and the rules of invite links (how long, how many uses).
 * Plain sessions show the same fields: their one character, their owner, and `reply_mode` null.
 */
import { REPLY_MODES, type ReplyMode } from "./rooms.js";
import { toSessionView, type ListedSession } from "./session-view.js";

/** An invite lasts this long unless asked otherwise: a week. */
export const INVITE_DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
export const INVITE_MIN_TTL_SECONDS = 60;
/** At most thirty days. */
export const INVITE_MAX_TTL_SECONDS = 30 * 24 * 3600;
/** A multi-use invite allows at most this many uses (null: unlimited). */
export const INVITE_MAX_USES = 1000;
/** A single-use invite unless asked otherwise. */
export const INVITE_DEFAULT_USES = 1;

/** The validator rules of a room's cast and reply mode (POST /sessions, PATCH /sessions/:id). */
export function roomParams(maxCharacters: number) {
	return {
		character_ids: { type: "array", items: "uuid", min: 1, max: maxCharacters, unique: true },
		reply_mode: { type: "enum", values: [...REPLY_MODES], optional: true },
	} as const;
}

/** The validator rules of a new invite's terms (POST /sessions/:id/invites). */
export const INVITE_PARAMS = {
	max_uses: { type: "number", integer: true, min: 1, max: INVITE_MAX_USES, nullable: true, optional: true },
	expires_in_seconds: {
		type: "number",
		integer: true,
		min: INVITE_MIN_TTL_SECONDS,
		max: INVITE_MAX_TTL_SECONDS,
		optional: true,
	},
} as const;

/** A character of the cast as the room store reads it. */
export interface CastRow {
	id: string;
	name: string;
	has_avatar: boolean;
}

/** A person of the room as the room store reads it: their chosen persona (else their default), if any. */
export interface PersonRow {
	username: string;
	name: string;
	role: "owner" | "member";
	persona_id: string | null;
	persona_name: string | null;
}

/** What a session's view adds to the listing: its cast and its people. */
export interface RoomDetails {
	/** In cast order. */
	characters: CastRow[];
	/** The owner first, then members in the order they joined. */
	people: PersonRow[];
}

/** The session view (with `owner` and `reply_mode`) plus `characters` (cast order) and `members` (owner first). */
export function toRoomView(session: ListedSession, room: RoomDetails) {
	return {
		...toSessionView(session),
		characters: room.characters.map((c) => ({
			id: c.id,
			name: c.name,
			/** The character's small picture (authenticated, as every character image), or null when it has none. */
			avatar_url: c.has_avatar ? `/characters/id/${c.id}/avatar` : null,
		})),
		members: orderPeople(room.people).map((p) => ({
			username: p.username,
			name: p.name,
			persona: p.persona_id ? { id: p.persona_id, name: p.persona_name ?? "" } : null,
			role: p.role,
		})),
	};
}
export type RoomView = ReturnType<typeof toRoomView>;

/** The owner first; the others keep their order. */
function orderPeople(people: PersonRow[]): PersonRow[] {
	return [...people.filter((p) => p.role === "owner"), ...people.filter((p) => p.role !== "owner")];
}

/** An invite link as the store keeps it. */
export interface InviteRow {
	code: string;
	session_id: string;
	max_uses: number | null;
	uses: number;
	expires_at: Date | null;
	created_at: Date;
}

export type InviteState = "live" | "expired" | "used_up";

/** Whether an invite still lets someone in at `now`: not past its expiry, and uses left (null max_uses: unlimited). */
export function inviteState(invite: Pick<InviteRow, "max_uses" | "uses" | "expires_at">, now: Date): InviteState {
	if (invite.expires_at && invite.expires_at.getTime() <= now.getTime()) return "expired";
	if (invite.max_uses !== null && invite.uses >= invite.max_uses) return "used_up";
	return "live";
}

export function toInviteView(invite: InviteRow) {
	return {
		code: invite.code,
		session_id: invite.session_id,
		max_uses: invite.max_uses,
		uses: invite.uses,
		expires_at: invite.expires_at,
		created_at: invite.created_at,
	};
}

/** What POST /sessions/:id/invites asks for, defaults filled: `max_uses` undefined is one use, null unlimited. */
export function inviteTerms(asked: { max_uses?: number | null; expires_in_seconds?: number }): {
	maxUses: number | null;
	ttlSeconds: number;
} {
	return {
		maxUses: asked.max_uses === undefined ? INVITE_DEFAULT_USES : asked.max_uses,
		ttlSeconds: asked.expires_in_seconds ?? INVITE_DEFAULT_TTL_SECONDS,
	};
}

/** Whether one more person fits: `people` counts the owner and the members now in the room. */
export function roomHasSpace(people: number, maxMembers: number): boolean {
	return people < maxMembers;
}

/**
 * What PATCH /sessions/:id makes of a session's reply mode and cast: a plain session given either becomes a room
 * (the default reply mode, or its one character as the cast); null when neither is asked to change.
 */
export function roomChange(
	current: { reply_mode: ReplyMode | null; character_ids: string[] },
	asked: { reply_mode?: ReplyMode; character_ids?: string[] },
	defaultMode: ReplyMode,
): { reply_mode: ReplyMode; character_ids: string[] } | null {
	if (asked.reply_mode === undefined && asked.character_ids === undefined) return null;
	return {
		reply_mode: asked.reply_mode ?? current.reply_mode ?? defaultMode,
		character_ids: asked.character_ids ?? current.character_ids,
	};
}
