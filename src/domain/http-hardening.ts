/**
 * What every gateway answer carries for browsers, which client-sent request ids are kept, and which params are
 * refused before any action sees them.
 */
import type { ParamsRefusal } from "./params-refusal.js";

/**
 * The web client is built by Vite into files without inline scripts or style attributes, so everything can be
 * `'self'`, and images also blob: (a character's avatar is fetched with the token, since private ones must stay
 * private, and shown from memory); `connect-src 'self'` covers the same-host WebSocket.
 * No framing (`frame-ancestors 'none'`), no MIME sniffing, no Referer header to other sites.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	"Content-Security-Policy":
		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy": "no-referrer",
};

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A client's X-Request-ID when it is a short plain token; anything else (long, spaces, quotes, several) is dropped. */
export function acceptedRequestId(header: string | string[] | undefined): string | undefined {
	return typeof header === "string" && SANE_REQUEST_ID.test(header) ? header : undefined;
}

/** Deepest nesting of objects and arrays in a request's params (a character card needs 20, checked on its own). */
export const MAX_PARAMS_DEPTH = 32;

/**
 * Why params must be refused (422), if they must: nested deeper than MAX_PARAMS_DEPTH, which the validator's error
 * messages and the transporter's serializer would overflow the stack on (a 500), or text with a NUL character, which
 * PostgreSQL cannot store (the driver would silently keep the two characters "\0"). Iterative, so no value can
 * overflow this check itself. Inherited keys count too: moleculer-web merges a body's `__proto__` key into the
 * params' prototype, where actions still read its fields.
 */
export function hostileParams(params: unknown): ParamsRefusal | undefined {
	const pending: [unknown, string, number][] = [[params, "", 0]];
	while (pending.length > 0) {
		const [value, field, depth] = pending.pop() as [unknown, string, number];
		if (typeof value === "string" && value.includes("\u0000")) {
			const message = `The '${field}' field may not contain NUL characters`;
			return { detail: "Text may not contain NUL characters", errors: [{ type: "string", field, message }] };
		}
		if (typeof value !== "object" || value === null) continue;
		if (depth >= MAX_PARAMS_DEPTH) {
			const message = `The '${field}' field is nested too deeply`;
			const detail = `The request is nested more than ${MAX_PARAMS_DEPTH} levels deep`;
			return { detail, errors: [{ type: "object", field, message }] };
		}
		for (const key in value) {
			pending.push([(value as Record<string, unknown>)[key], field ? `${field}.${key}` : key, depth + 1]);
		}
	}
	return undefined;
}
