/**
 * Refusing a WebSocket upgrade the way an HTTP client can read: a status line, JSON `{detail, code}`,
 * `WWW-Authenticate: Bearer` on 401 and `Retry-After` on 429. Client errors (src/errors.ts, thrown by the handshake or
 * by the actions it calls: auth.validate, characters.get) keep their status and code, and so does SHUTTING_DOWN;
 * anything else is a 503 the client may retry, never a leaked message.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { isChatPath } from "../domain/chat-handshake.js";
import { ErrorCode, NotFound } from "../errors.js";

/** The HTTP answer to a refused handshake. */
export interface HandshakeRefusal {
	status: number;
	code: string;
	detail: string;
	/** With 429: seconds until a handshake may succeed. */
	retryAfter?: number;
}

export function toRefusal(err: unknown, logger: { error(...a: unknown[]): void }): HandshakeRefusal {
	type ErrorLike = {
		code?: unknown;
		type?: unknown;
		message?: string;
		data?: { retryAfter?: unknown };
		retryable?: boolean;
	};
	const e = err as ErrorLike;
	const clientError = typeof e.code === "number" && e.code >= 400 && e.code < 500 && !e.retryable;
	// A retryable 4xx (the broker's SERVICE_NOT_FOUND, say) is an outage: 503 below, so clients try again.
	if (typeof e.code === "number" && (clientError || e.type === ErrorCode.ShuttingDown)) {
		const statusName = String(http.STATUS_CODES[e.code]).toUpperCase().replace(/\W+/g, "_");
		const code = typeof e.type === "string" ? e.type : statusName;
		const retryAfter = typeof e.data?.retryAfter === "number" ? e.data.retryAfter : undefined;
		return { status: e.code, code, detail: e.message || code, retryAfter };
	}
	logger.error("Handshake failed:", err);
	return { status: 503, code: "SERVICE_UNAVAILABLE", detail: "Chat is temporarily unavailable; retry shortly" };
}

export function refuseUpgrade(socket: Duplex, r: HandshakeRefusal): void {
	if (!socket.writable) return void socket.destroy();
	const body = JSON.stringify({ detail: r.detail, code: r.code });
	socket.end(
		`HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
			(r.status === 401 ? "WWW-Authenticate: Bearer\r\n" : "") +
			(r.retryAfter ? `Retry-After: ${r.retryAfter}\r\n` : "") +
			`\r\n${body}`,
	);
}

/** What Node's HTTP parser answers a request it refuses (400 for anything not listed), now with a JSON body. */
const PARSER_REFUSALS: Record<string, [number, string, string]> = {
	HPE_HEADER_OVERFLOW: [431, "HEADERS_TOO_LARGE", "Request headers are too large"],
	HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "PAYLOAD_TOO_LARGE", "Request body is too large"],
	ERR_HTTP_REQUEST_TIMEOUT: [408, "REQUEST_TIMEOUT", "Request took too long"],
};

/**
 * For `server.on("clientError")`: a malformed request or one with headers over 16 kB gets Node's status with our
 * `{detail, code}` body instead of an empty one. Like Node's default, it closes the connection.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
	// As Node does: nothing on top of a response already under way, which would corrupt what the client reads.
	const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
	if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) return void socket.destroy();
	const [status, code, detail] = PARSER_REFUSALS[err.code ?? ""] ?? [400, "BAD_REQUEST", "Malformed HTTP request"];
	const body = JSON.stringify({ detail, code });
	socket.end(
		`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
		() => socket.destroy(),
	);
}

type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Routes upgrades: `/ws/...` to `onChat` (whatever it throws is answered as a refusal), anything else 404. */
export function chatUpgrades(
	onChat: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>,
	logger: { error(...a: unknown[]): void },
): UpgradeHandler {
	return (req, socket, head) => {
		// A client that hangs up mid-handshake must not take the node down.
		socket.on("error", () => socket.destroy());
		if (!isChatPath(req.url)) {
			return refuseUpgrade(socket, toRefusal(NotFound("Connect to /ws/{character_id}"), logger));
		}
		// Whatever goes wrong in a handshake, the client gets an answer and the socket is not left hanging.
		onChat(req, socket, head).catch((err) => refuseUpgrade(socket, toRefusal(err, logger)));
	};
}

/**
 * The WebSocket node's own HTTP server, listening on `host:port`: `GET /health` (with `health()`) and upgrades.
 * Rejects, naming WS_PORT, when it cannot listen (another program took the port after main.ts checked it).
 */
export async function listenForChat(opts: {
	port: number;
	host: string;
	health: () => object;
	onUpgrade: UpgradeHandler;
}): Promise<http.Server> {
	const server = http.createServer((req, res) => {
		const healthy = req.method === "GET" && req.url === "/health";
		res.writeHead(healthy ? 200 : 404, { "Content-Type": "application/json" });
		res.end(JSON.stringify(healthy ? { status: "ok", ...opts.health() } : { detail: "Not found", code: "NOT_FOUND" }));
	});
	server.on("upgrade", opts.onUpgrade);
	server.on("clientError", answerClientError);
	await new Promise<void>((resolve, reject) => {
		const refuse = (err: NodeJS.ErrnoException) => {
			const why = err.code === "EADDRINUSE" ? "taken by another program (another cameo?)" : err.message;
			const message = `WS_PORT=${opts.port} on ${opts.host} cannot be listened on: ${why}; set WS_PORT to a free port`;
			reject(new Error(message, { cause: err }));
		};
		server.once("error", refuse);
		server.listen(opts.port, opts.host, () => {
			server.off("error", refuse);
			resolve();
		});
	});
	return server;
}
