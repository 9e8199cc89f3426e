/**
 * Maps any error that reaches the gateway to the client-facing shape `{"detail": "...", "code": "..."}`
 * (FastAPI-style `detail`, a stable SCREAMING_SNAKE `code`). 5xx errors never carry their message or stack out.
 */

export interface HttpErrorResponse {
	status: number;
	body: { detail: string; code: string; errors?: { field: string; message: string }[]; retry_after?: number };
	headers: Record<string, string>;
}

interface ErrorLike {
	name?: string;
	message?: string;
	code?: unknown;
	status?: unknown;
	type?: unknown;
	data?: unknown;
}

/** body-parser reports its failures by `type`; give them our codes. */
const BODY_PARSER_CODES: Record<string, string> = {
	"entity.parse.failed": "INVALID_JSON",
	"entity.too.large": "PAYLOAD_TOO_LARGE",
	"encoding.unsupported": "UNSUPPORTED_ENCODING",
	"charset.unsupported": "UNSUPPORTED_CHARSET",
	"request.aborted": "REQUEST_ABORTED",
};

/**
 * zlib's codes for a corrupt gzip or deflate body. moleculer-web wraps body-parser's 400 in an error that keeps only
 * this code, so without it the client got a 500.
 */
const CORRUPT_BODY_ENCODING = new Set(["Z_DATA_ERROR", "Z_BUF_ERROR", "Z_NEED_DICT", "Z_STREAM_ERROR"]);

export function toHttpError(err: unknown): HttpErrorResponse {
	const e = (err ?? {}) as ErrorLike;
	const status = httpStatus(e);
	const headers: Record<string, string> = {};

	// Load shedding (password hashing full): the only 5xx whose code and Retry-After the client gets as sent.
	if (status === 503 && e.type === "BUSY") {
		const retryAfter = retryAfterSeconds(e, 1);
		return {
			status,
			body: { detail: "The server is busy, try again shortly", code: "BUSY", retry_after: retryAfter },
			headers: { "Retry-After": String(retryAfter) },
		};
	}

	if (status >= 500) {
		const unavailable = status === 503;
		return {
			status,
			body: unavailable
				? { detail: "Service temporarily unavailable, try again shortly", code: "SERVICE_UNAVAILABLE" }
				: { detail: "Internal server error", code: "INTERNAL_ERROR" },
			headers: unavailable ? { "Retry-After": "5" } : headers,
		};
	}

	if (status === 401) headers["WWW-Authenticate"] = "Bearer";

	if (e.name === "ValidationError" && Array.isArray(e.data)) {
		const errors = (e.data as { field?: string; message?: string }[]).map((d) => ({
			field: String(d.field ?? ""),
			message: String(d.message ?? "is invalid"),
		}));
		return {
			status,
			body: { detail: errors.map((x) => x.message).join("; ") || "Invalid request", code: "VALIDATION_ERROR", errors },
			headers,
		};
	}

	if (status === 429) {
		const retryAfter = retryAfterSeconds(e, 60);
		headers["Retry-After"] = String(retryAfter);
		return {
			status,
			body: { detail: "Too many requests, slow down", code: "RATE_LIMITED", retry_after: retryAfter },
			headers,
		};
	}

	if (isCorruptEncoding(e))
		return {
			status,
			body: { detail: "Request body is not valid gzip or deflate data", code: "INVALID_CONTENT_ENCODING" },
			headers,
		};

	const rawType = typeof e.type === "string" ? e.type : "";
	const code = BODY_PARSER_CODES[rawType] ?? (rawType ? screamingSnake(rawType) : defaultCode(status));
	return { status, body: { detail: detailFor(e, status, code), code }, headers };
}

function isCorruptEncoding(e: ErrorLike): boolean {
	return typeof e.code === "string" && CORRUPT_BODY_ENCODING.has(e.code);
}

function retryAfterSeconds(e: ErrorLike, fallback: number): number {
	const value = Number((e.data as { retryAfter?: number } | undefined)?.retryAfter ?? fallback);
	return Number.isFinite(value) ? Math.max(1, Math.ceil(value)) : fallback;
}

function httpStatus(e: ErrorLike): number {
	if (isCorruptEncoding(e)) return 400;
	for (const candidate of [e.code, e.status]) {
		if (typeof candidate === "number" && candidate >= 400 && candidate <= 599) return candidate;
	}
	return 500;
}

function detailFor(e: ErrorLike, status: number, code: string): string {
	if (code === "INVALID_JSON") return "Request body is not valid JSON";
	if (code === "PAYLOAD_TOO_LARGE") return "Request body is too large";
	if (status === 404 && (e.name === "NotFoundError" || e.name === "ServiceNotFoundError")) return "Not found";
	return e.message || defaultCode(status).toLowerCase().replace(/_/g, " ");
}

function defaultCode(status: number): string {
	const codes: Record<number, string> = {
		400: "BAD_REQUEST",
		401: "UNAUTHORIZED",
		403: "FORBIDDEN",
		404: "NOT_FOUND",
		405: "METHOD_NOT_ALLOWED",
		409: "CONFLICT",
		413: "PAYLOAD_TOO_LARGE",
		415: "UNSUPPORTED_MEDIA_TYPE",
		422: "VALIDATION_ERROR",
	};
	return codes[status] ?? "BAD_REQUEST";
}

function screamingSnake(value: string): string {
	return value
		.replace(/[^A-Za-z0-9]+/g, "_")
		.replace(/^_|_$/g, "")
		.toUpperCase();
}
