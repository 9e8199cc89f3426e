/**
 * Hash routes, so the gateway only ever serves index.html at `/` and every unknown path stays a JSON 404 (the routes
 * themselves are in routes.ts): following the address, changing it, and the greeting it asks a new chat for.
 */
import { useEffect, useState } from "preact/hooks";
import { focusedMessage, parseRoute, type Route } from "./routes.js";

export {
	chatHash,
	inviteLink,
	lorebookHash,
	messageHash,
	newChatHash,
	parseRoute,
	roomHash,
	searchHash,
	sessionHash,
	type Route,
} from "./routes.js";

/** The greeting the address asks a new chat to open with (0: the first message), for the chat socket's handshake. */
export function routeGreeting(): number {
	const route = parseRoute(location.hash);
	return route.name === "chat" ? (route.greeting ?? 0) : 0;
}

/** The persona the address asks a new chat to be played as (none: the default), for the handshake's `persona_id`. */
export function routePersona(): string | undefined {
	const route = parseRoute(location.hash);
	return route.name === "chat" ? route.personaId : undefined;
}

/** The message the address asks the chat or room to scroll to (a search hit's), if any. */
export function routeFocus(): string | undefined {
	return focusedMessage(location.hash);
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
