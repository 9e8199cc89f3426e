/**
 * What the REST gateway (services/api.service.ts) does to moleculer-web's requests and responses: the security
 * headers on every answer, errors as JSON `{detail, code}`, request and response log lines with the request id, and
 * the refusal of hostile params.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, LoggerInstance } from "moleculer";
import { ValidationFailed } from "../errors.js";
import { toHttpError } from "../domain/http-errors.js";
import { hostileParams, SECURITY_HEADERS } from "../domain/http-hardening.js";

/** A request as moleculer-web hands it to route hooks, alias middlewares and error handlers. */
export interface GatewayRequest extends IncomingMessage {
	$params: Record<string, unknown>;
	$alias?: { action?: string };
	body?: unknown;
	$ctx?: Context;
	$route?: { logging?: boolean };
	$startTime?: [number, number];
	originalUrl?: string;
}

function setSecurityHeaders(res: ServerResponse): void {
	for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** Route middleware: the security headers on every routed answer. */
export function withSecurityHeaders(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
	setSecurityHeaders(res);
	next();
}

/**
 * The static files' headers (serve-static's `setHeaders`), security headers included: built assets under
 * `hashedAssets` have content hashes in their names and are kept for good; index.html must always be revalidated.
 */
export function staticFileHeaders(hashedAssets: string): (res: ServerResponse, file: string) => void {
	return (res, file) => {
		res.setHeader("Cache-Control", file.startsWith(hashedAssets) ? "public, max-age=31536000, immutable" : "no-cache");
		setSecurityHeaders(res);
	};
}

/** Refuses (422) what the validator or the database would choke on (src/domain/http-hardening.ts). */
export function refuseHostileParams(params: unknown): void {
	const refusal = hostileParams(params);
	if (refusal) throw ValidationFailed(refusal.detail, refusal.errors);
}

/** Any error as JSON `{detail, code}` with the security headers; a server error is logged here, once. */
export function sendJsonError(logger: LoggerInstance, req: GatewayRequest, res: ServerResponse, err: unknown): void {
	const { status, body, headers } = toHttpError(err);
	if (status >= 500) logger.error({ requestID: req.$ctx?.requestID }, `${req.method} ${req.url} failed:`, err);
	res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "Content-Type": "application/json; charset=utf-8" });
	res.end(JSON.stringify(body));
}

/**
 * moleculer-web's request line with the request id: the client's X-Request-ID, or the one the gateway made and sent
 * back in that header.
 */
export function logRequestLine(logger: LoggerInstance, req: GatewayRequest): void {
	if (req.$route && !req.$route.logging) return;
	logger.debug({ requestID: req.$ctx?.requestID }, `=> ${req.method} ${req.originalUrl ?? req.url}`);
}

/** moleculer-web's response line with the request id, the status and the time taken. */
export function logResponseLine(logger: LoggerInstance, req: GatewayRequest, res: ServerResponse): void {
	if (req.$route && !req.$route.logging) return;
	const [s, ns] = req.$startTime ? process.hrtime(req.$startTime) : [0, 0];
	const ms = Math.round(s * 1e4 + ns / 1e5) / 10;
	const line = `<= ${res.statusCode} ${req.method} ${req.originalUrl ?? req.url}`;
	logger.debug({ requestID: req.$ctx?.requestID, status: res.statusCode, ms }, line);
}
