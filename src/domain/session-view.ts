/**
 * A chat session as REST shows it (GET /sessions, GET /sessions/:id, a branch, a PATCH), and what it is called: the
 * title its user gave it, else "<character> — <their first line>", so chats with one character tell apart unnamed.
 */
import { toPresetView } from "./chat-presets.js";
import type { ChatPreset } from "./model-settings.js";

/** A title the user sets is 1 to this many characters, trimmed. */
export const TITLE_MAX_CHARS = 120;
/** How much of the first user line a default title shows. */
export const FIRST_LINE_CHARS = 60;

/** A session as the store lists it. */
export interface ListedSession {
	id: string;
	character_id: string;
	character_name: string;
	status: string;
	/** The title the user set, or null. */
	title: string | null;
	created_at: Date;
	branched_from_session_id: string | null;
	branched_from_message_id: string | null;
	/** Changes in place to its stored story so far (bigint, as text; chat-frames.ts ConnectionFrame). */
	revision: string;
	/** The start of the first user message (what a default title shows), or null. */
	first_user_message: string | null;
	last_message_at: Date | null;
	last_message: { id: string; role: "user" | "ai"; content: string; created_at: Date } | null;
	/** Who the user plays in it: the session's persona, else their default; null when they have none at all. */
	persona_id?: string | null;
	persona_name?: string | null;
	/** Lorebooks attached to the session, in their order. */
	lorebook_ids?: string[];
	/** Whose session it is (chat_sessions.username), and its reply mode: null for a one-character chat, set for a room. */
	owner?: string;
	reply_mode?: string | null;
	/** The model settings its owner chose for it (chat-presets.ts). */
	preset?: ChatPreset;
}

export function toSessionView(s: ListedSession) {
	return {
		id: s.id,
		character_id: s.character_id,
		character_name: s.character_name,
		status: s.status,
		title: sessionTitle(s.title, s.character_name, s.first_user_message),
		/** Where it was branched off (the session id is null once that session is deleted); null for a chat begun anew. */
		branched_from: s.branched_from_message_id
			? { session_id: s.branched_from_session_id, message_id: s.branched_from_message_id }
			: null,
		created_at: s.created_at,
		revision: Number(s.revision),
		last_message_at: s.last_message_at,
		last_message: s.last_message,
		persona: s.persona_id ? { id: s.persona_id, name: s.persona_name ?? "" } : null,
		lorebook_ids: s.lorebook_ids ?? [],
		owner: s.owner,
		reply_mode: s.reply_mode ?? null,
		/** What replies in it use instead of the character's settings; null fields: the character's. */
		preset: toPresetView(s.preset),
	};
}

/** `title` when set, else the character's name and the first non-blank line of the first user message. */
export function sessionTitle(title: string | null, characterName: string, firstUserMessage: string | null): string {
	if (title) return title;
	const line = firstLine(firstUserMessage ?? "");
	return line ? `${characterName} — ${clip(line, FIRST_LINE_CHARS)}` : characterName;
}

/** The first line with text, its runs of white space made single spaces. */
function firstLine(text: string): string {
	const line = text.split(/\r\n|\r|\n/).find((l) => l.trim() !== "") ?? "";
	return line.replace(/\s+/g, " ").trim();
}

/** At most `max` characters (code points: an emoji is never cut in half), an ellipsis marking a cut. */
function clip(text: string, max: number): string {
	const chars = Array.from(text);
	return chars.length <= max
		? text
		: `${chars
				.slice(0, max - 1)
				.join("")
				.trimEnd()}…`;
}
