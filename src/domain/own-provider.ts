/**
 * Users' own provider keys (issue 17, `PUT /me/provider`): a user's replies go to their own Gemini key or
 * OpenAI-compatible server instead of the operator's. What the route takes and shows, and how the key is kept:
 * encrypted with AES-256-GCM under SECRETS_KEY, the user's id bound in as additional data so a row copied to another
 * user does not decrypt. Only the key's last four characters are ever shown.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export type OwnProviderName = "gemini" | "openai";

/** Broadcast when a user sets or removes their provider: every ai-consumer forgets the model it built for them. */
export const OwnProviderEvent = { Changed: "user.provider.changed" } as const;
export interface OwnProviderChangedPayload {
	username: string;
}
export const OWN_PROVIDERS: readonly OwnProviderName[] = ["gemini", "openai"];

/** PUT /me/provider's body, validated by the action's params. */
export interface OwnProviderParams {
	provider: OwnProviderName;
	api_key: string;
	base_url?: string;
	model?: string;
}

/** What GET /me/provider shows: never the key, only its last four characters. */
export interface OwnProviderView {
	provider: OwnProviderName;
	/** The model replies use; null: the operator's default model for that provider. */
	model: string | null;
	/** null: the provider's own endpoint. */
	base_url: string | null;
	key_last4: string;
	updated_at: string;
	/** Tokens spent through this provider since 00:00 UTC and since the 1st of the month (UTC). */
	tokens_today: number;
	tokens_month: number;
}

/** As kept (migration 0019) and read back by the ai-consumer, which alone decrypts `key_ciphertext`. */
export interface StoredOwnProvider {
	user_id: string;
	provider: OwnProviderName;
	model: string | null;
	base_url: string | null;
	key_ciphertext: string;
}

export const MAX_API_KEY_LENGTH = 512;
export const MAX_BASE_URL_LENGTH = 2048;
export const MODEL_NAME = /^[A-Za-z0-9._:/-]{1,100}$/;

/**
 * `base_url` as it will be fetched: http(s) only, no credentials (they would be logged and shown) or fragment, one
 * trailing slash dropped. Gemini keys always go to Google's endpoint (or the operator's GEMINI_BASE_URL): its SDK
 * cannot route through the address check, so no user-given URL is taken for it. Returns the refusal's reason.
 */
export function normalizeBaseUrl(provider: OwnProviderName, raw: string): { url: URL } | { refusal: string } {
	if (provider === "gemini") return { refusal: "base_url is for OpenAI-compatible servers (provider openai) only" };
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return { refusal: "base_url is not a URL" };
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") return { refusal: "base_url must be http or https" };
	if (url.username || url.password) return { refusal: "base_url must not hold a user name or password" };
	if (url.hash) return { refusal: "base_url must not hold a fragment" };
	url.pathname = url.pathname.replace(/\/$/, "");
	return { url };
}

/** The host of a URL as an address to check, without IPv6 brackets; `undefined` when it is a name to resolve. */
export function literalAddress(url: URL): string | undefined {
	const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
	return /^[\d.]+$/.test(host) || host.includes(":") ? host : undefined;
}

export function keyLast4(apiKey: string): string {
	return apiKey.slice(-4);
}

/** SECRETS_KEY: 32 bytes, as 64 hex characters or 43–44 of base64; undefined when it is neither. */
export function parseSecretsKey(text: string): Buffer | undefined {
	const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
	return bytes.length === 32 ? bytes : undefined;
}

const CIPHER = "aes-256-gcm";
const FORMAT = "v1";

/** `v1.<iv>.<tag>.<ciphertext>`, base64url: a fresh 96-bit IV per key. */
export function encryptKey(secretsKey: Buffer, userId: string, apiKey: string): string {
	const iv = randomBytes(12);
	const cipher = createCipheriv(CIPHER, secretsKey, iv).setAAD(Buffer.from(userId));
	const sealed = Buffer.concat([cipher.update(apiKey, "utf8"), cipher.final()]);
	return [FORMAT, iv, cipher.getAuthTag(), sealed]
		.map((p) => (typeof p === "string" ? p : p.toString("base64url")))
		.join(".");
}

/** Throws when the text was not sealed with this key for this user (another SECRETS_KEY, a copied row). */
export function decryptKey(secretsKey: Buffer, userId: string, sealed: string): string {
	const [format, iv, tag, data] = sealed.split(".");
	if (format !== FORMAT || !iv || !tag || data === undefined) throw new Error("unknown key format");
	const decipher = createDecipheriv(CIPHER, secretsKey, Buffer.from(iv, "base64url"))
		.setAAD(Buffer.from(userId))
		.setAuthTag(Buffer.from(tag, "base64url"));
	return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
}
