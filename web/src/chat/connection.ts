/**
 * A chat socket that stays connected: after a drop it reconnects with backoff and resumes the same session after the
 * last message shown (`&session_id=…&after=…`), so the server replays exactly what was missed. Close code 1012 (the
 * server is restarting) is retried almost at once. It stops for good, until `reconnect()`, when the server closes for
 * a reason a reconnect cannot cure (README, Chat over WebSocket: Closing) or keeps refusing the handshake. A room is
 * joined by its session alone (`/ws/session/{session_id}`). Each handshake carries a fresh single-use ticket
 * (POST /ws-ticket), never the token itself: URLs end up in access logs.
 */
import type { ClientFrame, ServerFrame } from "../../../src/domain/chat-frames";

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "stopped";

import { stopReason, type StopReason } from "./close-codes";

export type { StopReason };

export interface ConnectionOptions {
	/** The character of a one-character chat; absent for a room, which `sessionId` names. */
	characterId?: string;
	sessionId?: string;
	/** A new chat opens with this greeting: 0 (or none) the first message, n the n-th alternate greeting. */
	greeting?: number;
	/** A new chat is played as this persona (none: your default). */
	personaId?: string;
	/** A ticket for one handshake (POST /ws-ticket); null once logged out. Read at each (re)connect. */
	ticket: () => Promise<string | null>;
	/** Where to resume from; read at each reconnect. */
	lastId: () => string | undefined;
	onFrame: (frame: ServerFrame) => void;
	onStatus: (status: ConnectionStatus) => void;
	/** The handshake failed before the socket opened; browsers hide the HTTP status, so the caller finds out why. */
	onRefused: () => void;
	/** The connection stopped and will not reconnect by itself. */
	onStop: (reason: StopReason) => void;
}

const CLOSE_RESTARTING = 1012;
/** Handshakes refused in a row while REST answers (rate limits, say) before giving up: about 10 s of backoff. */
const MAX_REFUSALS = 5;
const MAX_BACKOFF_MS = 10_000;

export class ChatConnection {
	private ws?: WebSocket;
	private attempt = 0;
	private refusals = 0;
	private timer?: number;
	/** Getting a ticket: no second handshake starts meanwhile. */
	private connecting = false;
	/** Closed by its owner. */
	private stopped = false;
	/** Gave up (see StopReason) until `reconnect()`. */
	private halted = false;
	sessionId?: string;

	constructor(private readonly opts: ConnectionOptions) {
		this.sessionId = opts.sessionId;
	}

	connect(): void {
		if (this.stopped || this.halted || this.connecting) return;
		this.connecting = true;
		this.opts.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
		this.opts.ticket().then(
			(ticket) => {
				this.connecting = false;
				if (ticket && !this.stopped && !this.halted) this.open(ticket);
			},
			// The server did not answer, or refused for now (429): try again later, as after a refused handshake.
			() => {
				this.connecting = false;
				if (!this.stopped && !this.halted) this.schedule(this.backoff());
			},
		);
	}

	private open(ticket: string): void {
		const params = new URLSearchParams({ ticket });
		if (this.sessionId) {
			if (this.opts.characterId) params.set("session_id", this.sessionId);
			const after = this.opts.lastId();
			if (after) params.set("after", after);
		} else {
			if (this.opts.greeting) params.set("greeting", String(this.opts.greeting));
			if (this.opts.personaId) params.set("persona_id", this.opts.personaId);
		}
		const scheme = location.protocol === "https:" ? "wss" : "ws";
		const ws = new WebSocket(`${scheme}://${location.host}${this.path()}?${params}`);
		this.ws = ws;
		let opened = false;

		ws.onopen = () => {
			opened = true;
			this.refusals = 0;
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
			if (this.ws !== ws || this.stopped || this.halted) return;
			this.ws = undefined;
			if (!opened) this.opts.onRefused();
			const reason = opened ? stopReason(event) : undefined;
			if (reason) return this.halt(reason);
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
		if (this.ws || this.connecting || this.stopped || this.halted) return;
		window.clearTimeout(this.timer);
		this.connect();
	}

	/**
	 * The caller found that the server answers and nothing is wrong with the login, character or session, yet the
	 * handshake was refused: after a few such refusals in a row, stop. (A server that is down does not count.)
	 */
	refused(): void {
		if (++this.refusals >= MAX_REFUSALS) this.halt("refused");
	}

	/** Stop reconnecting, e.g. once the caller learned the chat is gone. */
	halt(reason: StopReason): void {
		if (this.stopped || this.halted) return;
		this.halted = true;
		window.clearTimeout(this.timer);
		this.ws?.close(1000);
		this.ws = undefined;
		this.opts.onStatus("stopped");
		this.opts.onStop(reason);
	}

	/** Start again after a stop, at the user's request. */
	reconnect(): void {
		if (this.stopped || !this.halted) return;
		this.halted = false;
		this.attempt = 0;
		this.refusals = 0;
		this.connect();
	}

	close(): void {
		this.stopped = true;
		window.clearTimeout(this.timer);
		this.ws?.close(1000);
		this.ws = undefined;
	}

	/** A chat's socket names its character (and the session in the query); a room's, its session. */
	private path(): string {
		const { characterId } = this.opts;
		if (characterId) return `/ws/${encodeURIComponent(characterId)}`;
		return `/ws/session/${encodeURIComponent(this.sessionId ?? "")}`;
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
