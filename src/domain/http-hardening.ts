/**
 * What every gateway answer carries for browsers, and which client-sent request ids are kept.
 */

/**
 * The web client is built by Vite into files without inline scripts or style attributes, so everything can be
 * `'self'`; `img-src` adds data: and blob: URLs (avatars), `connect-src 'self'` covers the same-host WebSocket.
 * No framing (`frame-ancestors 'none'`), no MIME sniffing, no Referer header to other sites.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	"Content-Security-Policy":
		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy": "no-referrer",
};

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A client's X-Request-ID when it is a short plain token; anything else (long, spaces, quotes, several) is dropped. */
export function acceptedRequestId(header: string | string[] | undefined): string | undefined {
	return typeof header === "string" && SANE_REQUEST_ID.test(header) ? header : undefined;
}
