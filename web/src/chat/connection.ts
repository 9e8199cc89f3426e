/**
 * A chat socket that stays connected: after a drop it reconnects with backoff and resumes the same session after the
 * last message shown (`&session_id=…&after=…`), so the server replays exactly what was missed. Close code 1012 (the
 * server is restarting) is retried almost at once.
 */
import type { ClientFrame, ServerFrame } from "../../../src/domain/chat-frames";

export type ConnectionStatus = "connecting" | "open" | "reconnecting";

export interface ConnectionOptions {
	characterId: string;
	sessionId?: string;
	token: () => string | null;
	/** Where to resume from; read at each reconnect. */
	lastId: () => string | undefined;
	onFrame: (frame: ServerFrame) => void;
	onStatus: (status: ConnectionStatus) => void;
	/** The handshake failed before the socket opened; browsers hide the HTTP status, so the caller finds out why. */
	onRefused: () => void;
}

const CLOSE_RESTARTING = 1012;
const MAX_BACKOFF_MS = 10_000;

export class ChatConnection {
	private ws?: WebSocket;
	private attempt = 0;
	private timer?: number;
	private stopped = false;
	sessionId?: string;

	constructor(private readonly opts: ConnectionOptions) {
		this.sessionId = opts.sessionId;
	}

	connect(): void {
		const token = this.opts.token();
		if (this.stopped || !token) return;
		const params = new URLSearchParams({ token });
		if (this.sessionId) {
			params.set("session_id", this.sessionId);
			const after = this.opts.lastId();
			if (after) params.set("after", after);
		}
		const scheme = location.protocol === "https:" ? "wss" : "ws";
		const ws = new WebSocket(`${scheme}://${location.host}/ws/${encodeURIComponent(this.opts.characterId)}?${params}`);
		this.ws = ws;
		let opened = false;
		this.opts.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");

		ws.onopen = () => {
			opened = true;
		};
		ws.onmessage = (event) => {
			let frame: ServerFrame;
			try {
				frame = JSON.parse(String(event.data)) as ServerFrame;
			} catch {
				return;
			}
			if (frame.type === "connection") {
				this.sessionId = frame.session_id;
				this.attempt = 0;
				this.opts.onStatus("open");
			}
			this.opts.onFrame(frame);
		};
		ws.onclose = (event) => {
			if (this.ws !== ws || this.stopped) return;
			this.ws = undefined;
			if (!opened) this.opts.onRefused();
			this.opts.onStatus("reconnecting");
			this.schedule(event.code === CLOSE_RESTARTING ? 200 + Math.random() * 300 : this.backoff());
		};
	}

	/** False when the socket is not open: the caller keeps the draft. */
	send(frame: ClientFrame): boolean {
		if (this.ws?.readyState !== WebSocket.OPEN) return false;
		this.ws.send(JSON.stringify(frame));
		return true;
	}

	/** Reconnect now instead of waiting out the backoff (the browser came back online). */
	retryNow(): void {
		if (this.ws || this.stopped) return;
		window.clearTimeout(this.timer);
		this.connect();
	}

	close(): void {
		this.stopped = true;
		window.clearTimeout(this.timer);
		this.ws?.close(1000);
		this.ws = undefined;
	}

	private backoff(): number {
		const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
		// Jitter, so many tabs dropped together don't come back together.
		return base / 2 + Math.random() * (base / 2);
	}

	private schedule(delayMs: number): void {
		this.attempt++;
		this.timer = window.setTimeout(() => this.connect(), delayMs);
	}
}
