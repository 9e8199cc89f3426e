/**
 * The REST API as the client uses it: JSON in and out, the bearer token from this tab's sessionStorage, and every
 * error turned into an ApiError carrying the server's `detail`. A 401 on an authenticated call ends the session.
 */

const TOKEN_KEY = "cameo.token";

export function getToken(): string | null {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
	if (token) sessionStorage.setItem(TOKEN_KEY, token);
	else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refused or failed call; the message is the server's `detail`, fit to show. `status` 0 means no answer. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		detail: string,
	) {
		super(detail);
	}
}

let onExpired: (notice?: string) => void = () => undefined;

/** Called when the server no longer accepts the token (expired, the account disabled, the user gone). */
export function onSessionExpired(handler: (notice?: string) => void): void {
	onExpired = handler;
}

/** Ends the login; the login page shows `notice`, or that the session expired. */
export function expireSession(notice?: string): void {
	setToken(null);
	onExpired(notice);
}

interface RequestOptions {
	method?: string;
	/** A plain object is sent as JSON; a Blob is sent as-is with its own type. */
	body?: unknown;
	contentType?: string;
	/** Login and sign-up answer 401 for wrong credentials, which is not an expired session. */
	anonymous?: boolean;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
	const headers: Record<string, string> = { Accept: "application/json" };
	const token = getToken();
	if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
	let body: BodyInit | undefined;
	if (opts.body instanceof Blob) {
		body = opts.body;
		headers["Content-Type"] = opts.contentType ?? (opts.body.type || "application/octet-stream");
	} else if (opts.body !== undefined) {
		body = JSON.stringify(opts.body);
		headers["Content-Type"] = "application/json";
	}

	let res: Response;
	try {
		res = await fetch(path, { method: opts.method ?? "GET", headers, body });
	} catch {
		throw new ApiError(0, "Can't reach the server. Check your connection and try again.");
	}
	if (res.status === 204) return undefined as T;
	const data = (await res.json().catch(() => null)) as { detail?: string } | null;
	if (res.ok) return data as T;
	if (res.status === 401 && !opts.anonymous) expireSession();
	throw new ApiError(res.status, data?.detail ?? `The server answered ${res.status}`);
}

export function errorText(err: unknown): string {
	return err instanceof Error ? err.message : "Something went wrong";
}

// ---- Shapes of the responses the client reads ----

export interface User {
	id: string;
	username: string;
	name: string;
}

/** What the client reads of a character: fields of the gallery's summaries (GET /characters) and of GET /characters/id/{id}. */
export interface Character {
	id: string;
	name: string;
	description: string;
	is_public: boolean;
	created_by: string | null;
}

export interface SessionSummary {
	id: string;
	character_id: string;
	character_name: string;
	created_at: string;
	last_message_at: string | null;
	last_message: { id: string; role: "user" | "ai"; content: string; created_at: string } | null;
}

export interface HistoryMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	reply_status?: "none" | "pending" | "replied" | "failed";
	timestamp: string;
	variant?: number;
	stopped?: boolean;
}

export interface HistoryPage {
	messages: HistoryMessage[];
	has_more: boolean;
}
