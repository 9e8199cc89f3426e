/**
 * Refusing a WebSocket upgrade the way an HTTP client can read: a status line, JSON `{detail, code}`, and
 * `WWW-Authenticate: Bearer` on 401. Errors from the actions the handshake calls (auth.validate, characters.get)
 * map to the matching status; anything else is a 503 the client may retry, never a leaked message.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import type { HandshakeRefusal } from "../domain/chat-handshake.js";

/** A refusal thrown while opening a chat, carrying its HTTP answer. */
export function refusal(status: HandshakeRefusal["status"], code: string, detail: string): HandshakeRefusal & Error {
	return Object.assign(new Error(detail), { status, code, detail });
}

export function toRefusal(err: unknown, logger: { error(...a: unknown[]): void }): HandshakeRefusal {
	const e = err as { status?: number; code?: unknown; type?: string; detail?: string; message?: string };
	if (typeof e.status === "number" && e.detail) return e as HandshakeRefusal;
	if (e.code === 401) return { status: 401, code: "UNAUTHORIZED", detail: e.message ?? "Invalid token" };
	if (e.code === 404) return { status: 404, code: e.type ?? "NOT_FOUND", detail: e.message ?? "Not found" };
	if (e.code === 403) return { status: 403, code: e.type ?? "FORBIDDEN", detail: e.message ?? "Forbidden" };
	logger.error("Handshake failed:", err);
	return { status: 503, code: "SERVICE_UNAVAILABLE", detail: "Chat is temporarily unavailable; retry shortly" };
}

export function refuseUpgrade(socket: Duplex, r: HandshakeRefusal): void {
	if (!socket.writable) return void socket.destroy();
	const body = JSON.stringify({ detail: r.detail, code: r.code });
	socket.end(
		`HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
			(r.status === 401 ? "WWW-Authenticate: Bearer\r\n" : "") +
			`\r\n${body}`,
	);
}
