/**
 * The client's addresses as data, without the browser: hash routes (`#/login`, `#/`, `#/chat/{character_id}` with an
 * optional `?greeting=n`, `#/chat/{character_id}/{session_id}`) read and written. Ids from the address end up in
 * request paths and socket URLs, so anything but a UUID there is "not found". router.ts follows the address.
 */
import { isUuid } from "../../src/domain/uuid.js";

export type Route =
	| { name: "login" }
	| { name: "gallery" }
	| { name: "chat"; characterId: string; sessionId?: string; greeting?: number }
	| { name: "not-found" };

/** Most alternate greetings a card may have (LIST_LIMITS.alternate_greetings in the card domain). */
const MAX_GREETING = 100;

export function parseRoute(hash: string): Route {
	const [path, query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
	const parts = path.split("/").filter(Boolean);
	if (parts.length === 0) return { name: "gallery" };
	if (parts[0] === "login" && parts.length === 1) return { name: "login" };
	const [, characterId, sessionId] = parts;
	const ids = parts.slice(1);
	if (parts[0] === "chat" && characterId && parts.length <= 3 && ids.every(isUuid)) {
		// Digits only, as the chat handshake takes it.
		const asked = new URLSearchParams(query).get("greeting") ?? "";
		const greeting = /^\d{1,3}$/.test(asked) ? Number(asked) : 0;
		const chosen = !sessionId && greeting > 0 && greeting <= MAX_GREETING;
		return { name: "chat", characterId, sessionId, ...(chosen ? { greeting } : {}) };
	}
	return { name: "not-found" };
}

export function chatHash(characterId: string, sessionId?: string): string {
	return `#/chat/${encodeURIComponent(characterId)}${sessionId ? `/${encodeURIComponent(sessionId)}` : ""}`;
}

/** A new chat that opens with the character's n-th alternate greeting (0: its first message). */
export function newChatHash(characterId: string, greeting: number): string {
	return `${chatHash(characterId)}${greeting > 0 ? `?greeting=${greeting}` : ""}`;
}
