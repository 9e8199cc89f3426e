/**
 * Keeps secrets out of log lines, at every level. Secrets reach a line in two shapes, so there are two passes:
 * - objects a call logs (request params, error data, channel payloads): `redactValue` masks the values of sensitive
 *   keys, and of `content`/`delta` (what users write stays out of the logs too);
 * - text (a message, an error quoting a URL or a header, an object already printed): `redactText` masks the configured
 *   secrets themselves, JWTs, scrypt hashes, URL credentials, Bearer/Basic credentials and `key: 'value'`,
 *   `"key":"value"` or `key=value` pairs of sensitive keys.
 * Masking is by pattern, so it over-masks rather than under-masks: a token-looking string that is not a token is
 * masked too.
 */
import type { Config } from "../config.js";

export const MASK = "[redacted]";

/** Shorter configured secrets would mask ordinary words (RabbitMQ's default password is "guest"). */
const MIN_SECRET_LENGTH = 8;
/** Deeper than this, an object is replaced by a placeholder (also ends cycles). */
const MAX_DEPTH = 8;

/** Key suffixes, compared lower-cased without `_`, `-` and `.`: `hashed_password`, `apiKey`, `X-Api-Key`, `access_token`. */
const SENSITIVE_SUFFIXES = [
	"password",
	"passwd",
	"passwordhash",
	"secret",
	"apikey",
	"token",
	"authorization",
	"cookie",
	"credentials",
	"privatekey",
	// A user's own provider key as stored (encrypted, but no business of a log line).
	"ciphertext",
];

/** Not secrets, but what users and characters write (chat payloads, deltas): it stays out of the logs too. */
const PRIVATE_KEYS = ["content", "delta"];

export function isSensitiveKey(key: string): boolean {
	const normalized = key.toLowerCase().replace(/[-_.]/g, "");
	return PRIVATE_KEYS.includes(normalized) || SENSITIVE_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

const KEY = String.raw`[A-Za-z0-9_.-]*?(?:password|passwd|secret|api[_-]?key|token|authorization|cookie|credentials)`;
const QUOTED = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`;
/** `password: 'x'` (util.inspect), `"password":"x"` (JSON); a bare value only after `=` (forms, query strings). */
const KEY_VALUE = new RegExp(
	String.raw`(?<![A-Za-z0-9_])(["']?)(${KEY})\1(\s*:\s*)(${QUOTED})|(?<![A-Za-z0-9_])(${KEY})=(${QUOTED}|(?!\[redacted\])[^\s&,;'"}\]]+)`,
	"gi",
);
/** A base64url JSON object (`{"` is `eyJ`), with its payload and signature when present. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}/g;
/** The stored password hash format (src/domain/passwords.ts). */
const SCRYPT_HASH = /scrypt\$[A-Za-z0-9+/=$]*/g;
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#@]+@/gi;
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

const quotedMask = (value: string) =>
	value.startsWith('"') || value.startsWith("'") ? `${value[0]}${MASK}${value[0]}` : MASK;

/** Masks secrets in a piece of text. `secrets` are exact values (JWT_SECRET, API keys, ...), see `configuredSecrets`. */
export function redactText(text: string, secrets: readonly string[] = []): string {
	let out = text;
	for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
	return out
		.replace(
			KEY_VALUE,
			(_match, quote: string, key: string, sep: string, value: string, bareKey: string, bareValue: string) =>
				bareKey ? `${bareKey}=${quotedMask(bareValue)}` : `${quote}${key}${quote}${sep}${quotedMask(value)}`,
		)
		.replace(SCRYPT_HASH, MASK)
		.replace(JWT, MASK)
		.replace(URL_CREDENTIALS, `$1${MASK}@`)
		.replace(AUTH_SCHEME, `$1 ${MASK}`);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/**
 * A copy of `value` with sensitive keys masked and every string passed through `redactText`. Plain objects and arrays
 * are copied; anything else (errors, buffers, dates) is returned as it is and redacted once printed, as text.
 */
export function redactValue(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
	if (typeof value === "string") return redactText(value, secrets);
	if (!Array.isArray(value) && !isPlainObject(value)) return value;
	if (depth >= MAX_DEPTH) return "[Object]";
	if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1));
	return Object.fromEntries(
		Object.entries(value).map(([key, item]) => [
			key,
			isSensitiveKey(key) ? MASK : redactValue(item, secrets, depth + 1),
		]),
	);
}

function urlPassword(url: string | undefined): string | undefined {
	if (!url || !URL.canParse(url)) return undefined;
	const { password } = new URL(url);
	return password ? decodeURIComponent(password) : undefined;
}

/** The secret values this process knows, longest first (one may contain another), for `redactText`. */
export function configuredSecrets(config: Config): string[] {
	const candidates = [
		config.jwtSecret,
		config.secretsKey?.toString("hex"),
		config.secretsKey?.toString("base64"),
		config.llm.googleApiKey,
		config.llm.openaiApiKey,
		...[config.databaseUrl, config.amqpUrl, config.redisUrl, config.transporter].map(urlPassword),
	];
	const secrets = candidates.filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH);
	return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}
