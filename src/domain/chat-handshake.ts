/**
 * Reads a WebSocket upgrade request:
 * `/ws/{character_id}?ticket=T[&session_id=ID][&after=MESSAGE_ID][&greeting=N][&persona_id=ID]`, or, to join a
 * session (a room) by its id alone, `/ws/session/{session_id}?ticket=T[&after=MESSAGE_ID][&persona_id=ID]`. A ticket
 * (POST /ws-ticket) keeps the access token out of the URL; `?token=JWT` (or an Authorization header) works too, for
 * the seed's clients.
 * Every defect is named as a problem; src/errors.ts (HandshakeRejected) gives each its HTTP answer. Also: which
 * greeting a new session opens with.
 */
import jwt from "jsonwebtoken";
import { bearerToken } from "./auth-params.js";
import { applyMacros } from "./macros.js";
import { isUuid } from "./uuid.js";

export interface ChatHandshake {
	/** Absent when joining by `/ws/session/{id}`: the session says who is in it. */
	characterId?: string;
	/** Exactly one of `token` and `ticket` is set. */
	token?: string;
	ticket?: string;
	sessionId?: string;
	after?: string;
	/** Which greeting opens a new session: 0 the card's first message, n its n-th alternate greeting. */
	greeting?: number;
	/** Who the user plays: a new session keeps it, a resumed one switches to it. Else the session's, or the default. */
	personaId?: string;
}

/** What is wrong with a handshake's URL: not a chat path, no token, an id that is no UUID, a malformed parameter. */
export type HandshakeProblem =
	"malformed_url" | "not_a_chat_path" | "unknown_character" | "unknown_session" | "missing_token" | "invalid_param";

export interface GreetingSource {
	name: string;
	greeting: string;
	alternate_greetings?: string[];
}

export type HandshakeParse =
	{ ok: true; value: ChatHandshake } | { ok: false; problem: HandshakeProblem; detail: string };

export function isChatPath(url: string | undefined): boolean {
	return typeof url === "string" && url.startsWith("/ws/");
}

export function parseChatHandshake(url: string, authorization?: string): HandshakeParse {
	let parsed: URL;
	try {
		parsed = new URL(url, "http://localhost");
	} catch {
		return refuse("malformed_url", "Malformed URL");
	}
	const match = /^\/ws\/(?:(session)\/)?([^/]+)\/?$/.exec(parsed.pathname);
	if (!match)
		return refuse("not_a_chat_path", "Connect to /ws/{character_id}?ticket=... or /ws/session/{session_id}?ticket=...");
	let pathId: string;
	try {
		pathId = decodeURIComponent(match[2]);
	} catch {
		// A broken percent escape (`%zz`): thrown from here it would be an unhandled rejection and a socket left hanging.
		return refuse("malformed_url", "Malformed URL");
	}
	const bySession = match[1] !== undefined;
	if (!isUuid(pathId))
		return bySession
			? refuse("unknown_session", "Session not found")
			: refuse("unknown_character", "Character not found");
	const characterId = bySession ? undefined : pathId;

	const ticket = parsed.searchParams.get("ticket") || undefined;
	const token = ticket ? undefined : parsed.searchParams.get("token") || bearerToken(authorization);
	if (ticket && parsed.searchParams.get("token")) return refuse("invalid_param", "Give a ticket or a token, not both");
	if (!ticket && !token)
		return refuse("missing_token", "Missing ticket: connect with ?ticket=<ticket from POST /ws-ticket>");

	const sessionParam = parsed.searchParams.get("session_id") || undefined;
	if (sessionParam && !isUuid(sessionParam)) return refuse("invalid_param", "session_id must be a UUID");
	if (bySession && sessionParam && sessionParam !== pathId) {
		return refuse("invalid_param", "session_id differs from the session in the path");
	}
	const sessionId = bySession ? pathId : sessionParam;
	const after = parsed.searchParams.get("after") || undefined;
	if (after && !isUuid(after)) return refuse("invalid_param", "after must be a message id (UUID)");
	if (after && !sessionId) return refuse("invalid_param", "after needs session_id");
	const greetingParam = parsed.searchParams.get("greeting");
	if (greetingParam !== null && !/^\d{1,3}$/.test(greetingParam)) {
		return refuse("invalid_param", "greeting must be a number (0 = first message)");
	}
	const greeting = greetingParam === null ? undefined : Number(greetingParam);
	const personaId = parsed.searchParams.get("persona_id") || undefined;
	if (personaId && !isUuid(personaId)) return refuse("invalid_param", "persona_id must be a UUID");

	return { ok: true, value: { characterId, token, ticket, sessionId, after, greeting, personaId } };
}

function refuse(problem: HandshakeProblem, detail: string): HandshakeParse {
	return { ok: false, problem, detail };
}

/**
 * The greeting a new session opens with, its macros filled (`{{user}}` is the persona's name): the card's first
 * message, or the alternate one asked for (the first non-empty one when that does not exist).
 */
export function pickGreeting(character: GreetingSource, index: number, userName: string): string {
	const greetings = [character.greeting, ...(character.alternate_greetings ?? [])];
	return applyMacros(greetings[index] || greetings.find(Boolean) || "", character.name, userName);
}

/** When a token auth.validate accepted expires (ms since the epoch); its signature is not checked again here. */
export function tokenExpiry(token: string): number | undefined {
	const claims = jwt.decode(token, { json: true });
	return typeof claims?.exp === "number" ? claims.exp * 1000 : undefined;
}
