/**
 * Hash routes, so the gateway only ever serves index.html at `/` and every unknown path stays a JSON 404:
 * `#/login`, `#/` (the gallery), `#/chat/{character_id}` (a new chat; `?greeting=n` opens it with the n-th alternate
 * greeting) and `#/chat/{character_id}/{session_id}`.
 * Ids from the address end up in request paths and socket URLs, so anything but a UUID there is "not found".
 */
import { useEffect, useState } from "preact/hooks";
import { isUuid } from "../../src/domain/uuid";

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

/** The greeting the address asks a new chat to open with (0: the first message), for the chat socket's handshake. */
export function routeGreeting(): number {
	const route = parseRoute(location.hash);
	return route.name === "chat" ? (route.greeting ?? 0) : 0;
}

export function navigate(hash: string): void {
	if (location.hash !== hash) location.hash = hash;
}

/** Records the new session in the address (so a reload resumes it) without a navigation. */
export function replaceHash(hash: string): void {
	history.replaceState(history.state, "", hash);
}

/** The current route, and a counter that changes on every navigation (used as a key to start views afresh). */
export function useRoute(): { route: Route; visit: number } {
	const [state, setState] = useState(() => ({ route: parseRoute(location.hash), visit: 0 }));
	useEffect(() => {
		const onChange = () => setState((s) => ({ route: parseRoute(location.hash), visit: s.visit + 1 }));
		window.addEventListener("hashchange", onChange);
		return () => window.removeEventListener("hashchange", onChange);
	}, []);
	return state;
}
