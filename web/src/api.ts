/**
 * The REST API as the client uses it: JSON in and out, the bearer token from this tab's sessionStorage, and every
 * error turned into an ApiError fit to show: the server's `detail`, refused fields as sentences, or how long to wait.
 * A 401 on an authenticated call ends the session.
 */
import type { HistoryMessage } from "./chat/state";
import type { ReplyMode } from "./chat/room";

export type { ReplyMode };

const TOKEN_KEY = "cameo.token";

export function getToken(): string | null {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
	if (token) sessionStorage.setItem(TOKEN_KEY, token);
	else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refused or failed call; the message is fit to show. `status` 0 means no answer. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		detail: string,
	) {
		super(detail);
	}
}

/** One refused field of a 422 VALIDATION_ERROR answer. */
interface FieldError {
	field: string;
	message: string;
}

/** What the server answers when it refuses a call. */
interface ErrorBody {
	detail?: string;
	code?: string;
	errors?: FieldError[];
	retry_after?: number;
}

/** What a form says about each of its fields when the server refuses it; others get a sentence from their name. */
export type FieldSentences = Record<string, string>;

/** "system_prompt" → "System prompt doesn't look right." */
function fieldSentence(field: string): string {
	const name = field.replace(/[_.]+/g, " ").trim() || "Something";
	return `${name[0].toUpperCase()}${name.slice(1)} doesn't look right.`;
}

/** The refused fields as sentences, each field once, in the server's order. */
export function validationText(errors: FieldError[], sentences: FieldSentences = {}): string {
	// An item of a list ("alternate_greetings[2]") reads as its list, so a form speaks about each of its fields once.
	const fields = [...new Set(errors.map((e) => e.field.replace(/\[\d+\]$/, "")))];
	return fields.map((field) => sentences[field] ?? fieldSentence(field)).join(" ");
}

/** A wait in the unit a person would say it in: "42 s", "3 min", "5 h". */
export function waitText(seconds: number): string {
	const s = Math.max(1, Math.ceil(seconds));
	if (s < 120) return `${s} s`;
	if (s < 2 * 3600) return `${Math.ceil(s / 60)} min`;
	return `${Math.ceil(s / 3600)} h`;
}

/** 429 and 503 BUSY answers say how long to wait (the Retry-After header, or `retry_after` in the body). */
function waitingText(res: Response, data: ErrorBody | null): string | undefined {
	if (res.status !== 429 && !(res.status === 503 && data?.code === "BUSY")) return undefined;
	const seconds = Number(res.headers.get("Retry-After") ?? data?.retry_after);
	const wait =
		Number.isFinite(seconds) && seconds > 0 ? ` — try again in ${waitText(seconds)}.` : ". Try again shortly.";
	return res.status === 429 ? `Too many attempts${wait}` : `The server is busy${wait}`;
}

let onExpired: (notice?: string) => void = () => undefined;

/** Called when the server no longer accepts the token (expired, the account disabled, the user gone). */
export function onSessionExpired(handler: (notice?: string) => void): void {
	onExpired = handler;
}

export const DISABLED_NOTICE = "This account has been disabled. Ask the operator of this site.";
/** A token taken back by the server: logged out on this device elsewhere, or the password changed. */
export const REVOKED_NOTICE =
	"You were logged out (your password changed, or this login was ended). Please log in again.";

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
	/** Sentences for the form's fields, shown when the server refuses them (422). */
	fields?: FieldSentences;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
	const res = await request(path, opts);
	if (res.status === 204) return undefined as T;
	return (await res.json().catch(() => null)) as T;
}

/**
 * The body of an authenticated call as bytes (an avatar, a card export), with the same errors as `api`. Images and
 * downloads go through here rather than a plain link because a link cannot carry the token.
 */
export async function fetchBlob(path: string, opts: RequestOptions = {}): Promise<Blob> {
	const res = await request(path, { ...opts, accept: "*/*" });
	return res.blob();
}

/** The answer to a call that succeeded (2xx); anything else is thrown as an ApiError. */
async function request(path: string, opts: RequestOptions & { accept?: string }): Promise<Response> {
	const headers: Record<string, string> = { Accept: opts.accept ?? "application/json" };
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
	if (res.ok) return res;
	const data = (await res.json().catch(() => null)) as ErrorBody | null;
	// The socket's 4003 and a request's 401 race when an account is disabled: either says so.
	if (res.status === 401 && !opts.anonymous)
		expireSession(
			data?.code === "USER_DISABLED" ? DISABLED_NOTICE : data?.code === "TOKEN_REVOKED" ? REVOKED_NOTICE : undefined,
		);
	if (data?.code === "VALIDATION_ERROR" && Array.isArray(data.errors) && data.errors.length > 0)
		throw new ApiError(res.status, validationText(data.errors, opts.fields));
	const waiting = waitingText(res, data);
	throw new ApiError(res.status, waiting ?? data?.detail ?? `The server answered ${res.status}`);
}

/** A single-use ticket for one chat socket's handshake (POST /ws-ticket), so the token stays out of its URL. */
export async function wsTicket(): Promise<string | null> {
	if (!getToken()) return null;
	return (await api<{ ticket: string }>("/ws-ticket", { method: "POST" })).ticket;
}

/** Logs out: the server forgets this token (POST /logout), whatever it answers; this tab forgets it at once. */
export async function logOut(): Promise<void> {
	const token = getToken();
	setToken(null);
	if (!token) return;
	await fetch("/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
}

export function errorText(err: unknown): string {
	return err instanceof Error ? err.message : "Something went wrong";
}

// ---- Shapes of the responses the client reads ----

export interface User {
	id: string;
	username: string;
	name: string;
	/** "admin" or "user" (GET /me): admins see the admin console. */
	role?: string;
	/** Opted in to characters an admin marked NSFW. */
	show_nsfw?: boolean;
}

/** What the client reads of a character: fields of the gallery's summaries (GET /characters) and of GET /characters/id/{id}. */
export interface Character {
	id: string;
	name: string;
	description: string;
	is_public: boolean;
	/** An admin hid it: only its owner and admins see it (absent from older servers). */
	hidden?: boolean;
	/** An admin marked it NSFW: shown only to users who opted in, its owner and admins. */
	nsfw?: boolean;
	created_by: string | null;
	/** Whether it has an image (GET /characters/id/{id}/avatar); `updated_at` is that image's version. */
	has_avatar: boolean;
	updated_at: string;
}

export interface SessionSummary {
	id: string;
	character_id: string;
	character_name: string;
	/** The user's name for it, else "<character> — <their first line>". */
	title: string;
	/** Where it was branched off (the session is null once deleted); null for a chat begun anew. */
	branched_from: { session_id: string | null; message_id: string } | null;
	created_at: string;
	last_message_at: string | null;
	last_message: { id: string; role: "user" | "ai"; content: string; created_at: string } | null;
	/** Set for a room (its reply mode), null for a chat with one character; absent from older servers. */
	reply_mode?: ReplyMode | null;
	/** Whose session it is: a room's owner. */
	owner?: string;
}

/** A character as GET /characters/id/{id} answers it: the whole card, for its page and its owner's form. */
export interface CharacterDetails extends Character {
	slug: string;
	system_prompt: string;
	greeting: string;
	personality: string;
	scenario: string;
	mes_example: string;
	post_history_instructions: string;
	alternate_greetings: string[];
	creator_notes: string;
	creator: string;
	character_version: string;
	tags: string[];
	llm_model: string | null;
	temperature: number | null;
	max_output_tokens: number | null;
	/** The lorebooks attached to the character (besides its card's own). */
	lorebook_ids?: string[];
}

/** Saves a blob under `filename`, as a link click would (the blob came from an authenticated fetch). */
export function saveBlob(blob: Blob, filename: string): void {
	const url = URL.createObjectURL(blob);
	const link = document.createElement("a");
	link.href = url;
	link.download = filename;
	document.body.append(link);
	link.click();
	link.remove();
	// Long enough for the browser to start the download.
	window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A page of stored messages; the conversation state (./chat/state) defines what it reads of each. */
export interface HistoryPage {
	messages: HistoryMessage[];
	has_more: boolean;
	/** The session's revision the page is at: it has every change in place up to it. */
	revision?: number;
}

/** One of your personas (GET /personas): who you play in a chat; `{{user}}` is its name. */
export interface Persona {
	id: string;
	name: string;
	description: string;
	is_default: boolean;
	/** Whether it has an image (GET /personas/{id}/avatar); `updated_at` is that image's version. */
	has_avatar: boolean;
	lorebook_ids: string[];
	created_at: string;
	updated_at: string;
}

/** Who a session is played as, and the books attached to it (GET/PATCH /sessions/{id}). */
export interface SessionSettings {
	id: string;
	/** Null only while the user has no persona at all. */
	persona: { id: string; name: string } | null;
	lorebook_ids: string[];
}

/** What a chat remembers beyond its history (GET/PATCH /sessions/{id}/memory). */
export interface Memory {
	/** Your text, then what later turns folded in, joined by a newline. */
	summary: string | null;
	summary_updated_at: string | null;
	/** The last message the summary covers. */
	covered_until: string | null;
	covered_until_at: string | null;
	/** Ids of the pinned messages: always in the prompt, even outside the history window. */
	pinned: string[];
}

/** What the prompt of a reply was made of (GET /sessions/{id}/messages/{reply_id}/prompt). */
export interface PromptRecord {
	reply_id: string;
	model: string;
	created_at: string;
	total_tokens: number;
	messages: { role: string; content: string; tokens: number }[];
	parts: { part: string; name?: string; tokens: number }[];
}

/** A character of a room's cast, in speaking order. */
export interface RoomCharacter {
	id: string;
	name: string;
	/** Its small picture (authenticated), or null when it has none. */
	avatar_url: string | null;
}

/** A person in a room, with the persona they play in it (null: they have none). */
export interface RoomMember {
	username: string;
	name: string;
	persona: { id: string; name: string } | null;
	role: "owner" | "member";
}

/** A room as GET /sessions/{id} shows it: the session, its cast, its people (owner first) and its reply mode. */
export interface RoomView extends SessionSummary {
	owner: string;
	reply_mode: ReplyMode | null;
	characters: RoomCharacter[];
	members: RoomMember[];
	/** Who you play in it. */
	persona: { id: string; name: string } | null;
}

/** An invite link's terms (POST/GET /sessions/{id}/invites). */
export interface Invite {
	code: string;
	session_id: string;
	/** Null: any number of people may use it. */
	max_uses: number | null;
	uses: number;
	expires_at: string | null;
}
