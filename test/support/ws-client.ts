/** A WebSocket test client that records every frame and waits for the ones a test expects. */
import WebSocket from "ws";

export interface Frame {
	type: string;
	id?: string;
	[key: string]: unknown;
}

export class ChatSocket {
	readonly frames: Frame[] = [];
	private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] = [];
	closeCode: number | undefined;
	closed: Promise<number>;

	private constructor(readonly ws: WebSocket) {
		ws.on("message", (data) => {
			const frame = JSON.parse(data.toString()) as Frame;
			this.frames.push(frame);
			this.waiters = this.waiters.filter((w) => {
				if (w.match(frame)) {
					w.resolve(frame);
					return false;
				}
				return true;
			});
		});
		this.closed = new Promise((resolve) =>
			ws.on("close", (code) => {
				this.closeCode = code;
				resolve(code);
			}),
		);
	}

	/** Opens a socket (sending `headers` with the handshake); rejects with the HTTP status of a refused handshake. */
	static open(url: string, headers?: Record<string, string>): Promise<ChatSocket> {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(url, { headers });
			const client = new ChatSocket(ws);
			ws.once("open", () => resolve(client));
			ws.once("unexpected-response", (_req, res) => {
				let body = "";
				res.on("data", (c) => (body += c));
				res.on("end", () =>
					reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })),
				);
			});
			ws.once("error", reject);
		});
	}

	send(value: unknown): void {
		this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
	}

	/** The first frame matching `match` (already received or still to come). */
	next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
		const seen = this.frames.find(match);
		if (seen) return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(
				() =>
					reject(
						new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 2000)}`),
					),
				timeoutMs,
			);
			this.waiters.push({
				match,
				resolve: (f) => {
					clearTimeout(timer);
					resolve(f);
				},
				from: this.frames.length,
			});
		});
	}

	/** Sends a message and answers its echo, or the error frame that refused it (not an earlier one). */
	say(content: string): Promise<Frame> {
		const from = this.frames.length;
		this.send({ content });
		return this.next(
			(f) => this.frames.indexOf(f) >= from && ((f.type === "echo" && f.content === content) || f.type === "error"),
		);
	}

	/** The close code, once the server closed the socket; rejects when it is still open after `ms`. */
	closedWithin(ms = 5000): Promise<number> {
		return Promise.race([
			this.closed,
			new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms)),
		]);
	}

	ofType(type: string): Frame[] {
		return this.frames.filter((f) => f.type === type);
	}

	async close(): Promise<void> {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
		await this.closed;
	}
}
