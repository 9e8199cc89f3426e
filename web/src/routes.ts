/**
 * The client's addresses as data, without the browser: hash routes (`#/login`, `#/`, `#/chat/{character_id}` with an
 * optional `?greeting=n` and `&persona={persona_id}`, `#/chat/{character_id}/{session_id}`, `#/personas`,
 * `#/lorebooks`, `#/lorebooks/{lorebook_id}`, a room `#/rooms/{session_id}`, an invite link `#/invite/{code}`, a search
 * of one's chats `#/search?q=`, the admins' console `#/admin`; a chat or room with `?message={id}` scrolls to that message) read and written. Ids
 * from the address end up in request paths and socket URLs, so anything but a UUID there is "not found". router.ts
 * follows the address.
 */
import { isUuid } from "../../src/domain/uuid.js";

export type Route =
	| { name: "login" }
	| { name: "gallery" }
	| { name: "chat"; characterId: string; sessionId?: string; greeting?: number; personaId?: string }
	| { name: "personas" }
	| { name: "lorebooks" }
	| { name: "lorebook"; lorebookId: string }
	| { name: "room"; sessionId: string }
	| { name: "invite"; code: string }
	| { name: "account" }
	| { name: "admin" }
	| { name: "search"; q: string }
	| { name: "not-found" };

/** An invite code as the server makes them (base64url); anything else is not sent anywhere. */
const INVITE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

/** Most alternate greetings a card may have (LIST_LIMITS.alternate_greetings in the card domain). */
const MAX_GREETING = 100;

export function parseRoute(hash: string): Route {
	const [path, query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
	const parts = path.split("/").filter(Boolean);
	if (parts.length === 0) return { name: "gallery" };
	if (parts[0] === "login" && parts.length === 1) return { name: "login" };
	if (parts[0] === "personas" && parts.length === 1) return { name: "personas" };
	if (parts[0] === "account" && parts.length === 1) return { name: "account" };
	if (parts[0] === "admin" && parts.length === 1) return { name: "admin" };
	if (parts[0] === "lorebooks" && parts.length === 1) return { name: "lorebooks" };
	if (parts[0] === "lorebooks" && parts.length === 2 && isUuid(parts[1]))
		return { name: "lorebook", lorebookId: parts[1] };
	if (parts[0] === "rooms" && parts.length === 2 && isUuid(parts[1])) return { name: "room", sessionId: parts[1] };
	if (parts[0] === "invite" && parts.length === 2 && INVITE_CODE.test(parts[1]))
		return { name: "invite", code: parts[1] };
	if (parts[0] === "search" && parts.length === 1)
		return { name: "search", q: new URLSearchParams(query).get("q") ?? "" };
	const [, characterId, sessionId] = parts;
	const ids = parts.slice(1);
	if (parts[0] === "chat" && characterId && parts.length <= 3 && ids.every(isUuid)) {
		// Digits only, as the chat handshake takes it.
		const params = new URLSearchParams(query);
		const asked = params.get("greeting") ?? "";
		const greeting = /^\d{1,3}$/.test(asked) ? Number(asked) : 0;
		const chosen = !sessionId && greeting > 0 && greeting <= MAX_GREETING;
		// A session already has its persona (the chat header switches it); only a new chat takes one from here.
		const personaId = params.get("persona") ?? "";
		const playing = !sessionId && isUuid(personaId);
		return {
			name: "chat",
			characterId,
			sessionId,
			...(chosen ? { greeting } : {}),
			...(playing ? { personaId } : {}),
		};
	}
	return { name: "not-found" };
}

export function chatHash(characterId: string, sessionId?: string): string {
	return `#/chat/${encodeURIComponent(characterId)}${sessionId ? `/${encodeURIComponent(sessionId)}` : ""}`;
}

/**
 * A new chat that opens with the character's n-th alternate greeting (0: its first message), played as persona
 * `personaId` (none: your default persona).
 */
export function newChatHash(characterId: string, greeting: number, personaId?: string): string {
	const params = new URLSearchParams();
	if (greeting > 0) params.set("greeting", String(greeting));
	if (personaId) params.set("persona", personaId);
	const query = params.toString();
	return `${chatHash(characterId)}${query ? `?${query}` : ""}`;
}

export function lorebookHash(lorebookId: string): string {
	return `#/lorebooks/${encodeURIComponent(lorebookId)}`;
}

export function roomHash(sessionId: string): string {
	return `#/rooms/${encodeURIComponent(sessionId)}`;
}

/** The address of an invite: whoever opens it (logged in) joins the room. */
export function inviteLink(origin: string, code: string): string {
	return `${origin}/#/invite/${encodeURIComponent(code)}`;
}

/** Where a listed session opens: a room's page, or the chat with its character. */
export function sessionHash(session: { id: string; character_id: string; reply_mode?: string | null }): string {
	return session.reply_mode ? roomHash(session.id) : chatHash(session.character_id, session.id);
}

/** The search page for `q`. */
export function searchHash(q: string): string {
	return `#/search?${new URLSearchParams({ q })}`;
}

/** Where a search hit opens: its chat or room, scrolled to the message. */
export function messageHash(hit: {
	session_id: string;
	character_id: string;
	reply_mode: string | null;
	message_id: string;
}): string {
	const session = sessionHash({ id: hit.session_id, character_id: hit.character_id, reply_mode: hit.reply_mode });
	return `${session}?message=${encodeURIComponent(hit.message_id)}`;
}

/** The message a chat or room address asks to be scrolled to (`?message={id}`), if any. */
export function focusedMessage(hash: string): string | undefined {
	const route = parseRoute(hash);
	if (route.name !== "chat" && route.name !== "room") return undefined;
	const id = new URLSearchParams(hash.split("?", 2)[1] ?? "").get("message");
	return isUuid(id) ? id : undefined;
}
