/**
 * Personal API keys (issue 18): what a key looks like, how it is stored and what its owner sees of it.
 * A key is `cameo_sk_` and 32 random bytes in base64url (43 characters). The prefix names it for people and secret
 * scanners, and no JWT can start with it (a JWT starts with its base64url header, `eyJ`), so auth.validate tells the
 * two apart by the prefix alone. Only its SHA-256 digest is stored: with 256 random bits a fast hash is enough (no
 * guessing or dictionary attack can find a preimage, so a slow password hash would only cost time on every request),
 * and a digest can be looked up by a unique index in one step.
 */
import { createHash, randomBytes } from "node:crypto";

export const API_KEY_PREFIX = "cameo_sk_";
const SECRET_BYTES = 32;
const KEY = new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{43}$`);
/** The tail shown in listings: enough to tell keys apart, far too little to guess the rest from. */
const HINT_CHARS = 4;

/** Keys one user may hold at once: enough for every script and client they run, few enough to review. */
export const MAX_API_KEYS_PER_USER = 20;
export const API_KEY_NAME_MAX_CHARS = 100;
/** last_used_at is written at most this often per key: a busy key must not cost a write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export function newApiKey(): string {
	return API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
}

/** Whether a Bearer token is meant as an API key (well-formed or not): then it is never read as a JWT. */
export function isApiKeyToken(token: string): boolean {
	return token.startsWith(API_KEY_PREFIX);
}

/** Whether the key could have been made by newApiKey: anything else is refused before the database is asked. */
export function isWellFormedApiKey(token: string): boolean {
	return KEY.test(token);
}

/** What the database keeps of a key: its SHA-256 digest, hex. */
export function hashApiKey(key: string): string {
	return createHash("sha256").update(key).digest("hex");
}

export function apiKeyHint(key: string): string {
	return key.slice(-HINT_CHARS);
}

/** Whether a key last used at `lastUsedAt` should have its use recorded again now. */
export function lastUseStale(lastUsedAt: Date | null, now = Date.now()): boolean {
	return lastUsedAt === null || now - lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS;
}

/** A key as its owner lists it: never the key, only its hint. */
export interface ApiKeyView {
	id: string;
	name: string;
	hint: string;
	created_at: string;
	last_used_at: string | null;
}

export interface ApiKeyRecord {
	id: string;
	name: string;
	hint: string;
	created_at: Date;
	last_used_at: Date | null;
}

export function toApiKeyView(row: ApiKeyRecord): ApiKeyView {
	return {
		id: row.id,
		name: row.name,
		hint: row.hint,
		created_at: row.created_at.toISOString(),
		last_used_at: row.last_used_at?.toISOString() ?? null,
	};
}
