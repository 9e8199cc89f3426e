/**
 * A user in a conversation, as a person chats: send a message, wait for its reply, send the next. When the socket
 * drops, it reconnects (trying the next chat-ws node first) and resumes the session after the last message it was
 * shown, as the web client does, and sends again a message the server never stored. It does not de-duplicate: every
 * frame of every socket is kept, so a test can count what the user was shown.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ChatSocket, type Frame } from "./ws-client.js";

export interface Turn {
	content: string;
	sentAt: number;
	echoId?: string;
	repliedAt?: number;
	/** The code of the error frame that came instead of a reply. */
	failed?: string;
}

export interface ConversationOptions {
	name: string;
	token: string;
	characterId: string;
	/** The chat-ws ports; a reconnection tries the one after the current one first. */
	wsPorts: number[];
	/** Whether the session holds a user message with this content (its echo was lost with the socket). */
	isStored(sessionId: string, content: string): Promise<boolean>;
	/** Longest wait for one frame, reconnections included. */
	timeoutMs: number;
	/** Longest pause before each message, drawn at random so users do not move in step. */
	maxThinkMs: number;
	/** A room to join (`/ws/session/{id}`) instead of a chat of one's own with `characterId`. */
	roomId?: string;
}

const OPEN = 1;
/** Longest wait for the connection frame of a new socket. */
const HANDSHAKE_MS = 5000;
const RECONNECT_PAUSE_MS = 100;

export class Conversation {
	readonly turns: Turn[] = [];
	readonly sockets: ChatSocket[] = [];
	sessionId = "";
	reconnects = 0;
	resends = 0;
	/** Index into `wsPorts` of the current socket's node. */
	private node = 0;
	private stopping = false;

	constructor(private readonly opts: ConversationOptions) {}

	/** Opens a new session on `wsPorts[node]`. */
	async open(node: number): Promise<void> {
		await this.connect(node);
	}

	/** Talks until `stop()`; resolves once the turn under way has its answer. */
	async run(): Promise<void> {
		while (!this.stopping) {
			await sleep(Math.random() * this.opts.maxThinkMs);
			const turn: Turn = { content: `${this.opts.name} says hello #${this.turns.length + 1}`, sentAt: Date.now() };
			this.turns.push(turn);
			this.socket().send({ content: turn.content });
			const echo = await this.awaitFrame(
				(f) => f.type === "echo" && f.content === turn.content,
				() => this.resendIfLost(turn),
			);
			turn.echoId = echo.id;
			const answer = await this.awaitFrame(
				(f) => (f.type === "ai" || f.type === "error") && f.reply_to === turn.echoId,
			);
			if (answer.type === "error") turn.failed = answer.code as string;
			else turn.repliedAt = Date.now();
		}
	}

	stop(): void {
		this.stopping = true;
	}

	/** Every frame this user was shown, over all its sockets, in order. */
	frames(): Frame[] {
		return this.sockets.flatMap((s) => s.frames);
	}

	/**
	 * How many times each of this user's messages (`echo`), someone else's in a room (`message`) or reply (`ai`) id was
	 * shown; the greeting is no reply.
	 */
	shown(type: "echo" | "message" | "ai"): Map<string, number> {
		const counts = new Map<string, number>();
		for (const f of this.frames()) {
			if (f.type === type && (type !== "ai" || f.reply_to)) counts.set(f.id!, (counts.get(f.id!) ?? 0) + 1);
		}
		return counts;
	}

	/** The port of the node this user is connected to. */
	port(): number {
		return this.opts.wsPorts[this.node];
	}

	/** Deltas of the awaited reply arrived, its final frame not yet: a reply is being written for this user. */
	midReply(): boolean {
		const turn = this.turns.at(-1);
		if (!turn?.echoId || turn.repliedAt || turn.failed) return false;
		return this.socket().frames.some((f) => f.type === "ai.delta" && f.reply_to === turn.echoId);
	}

	/** Leaves, then comes back on `wsPorts[node]` after the last message shown; resolves with the connection frame. */
	async resume(node: number): Promise<void> {
		await this.socket().close();
		await this.connect(node);
	}

	async close(): Promise<void> {
		await this.sockets.at(-1)?.close();
	}

	private socket(): ChatSocket {
		const socket = this.sockets.at(-1);
		if (!socket) throw new Error(`${this.opts.name} is not connected`);
		return socket;
	}

	/** The newest message shown in full: where a resume starts. */
	private lastShownId(): string | undefined {
		return this.frames().findLast((f) => f.type === "echo" || f.type === "message" || f.type === "ai")?.id;
	}

	private async connect(node: number): Promise<void> {
		const after = this.lastShownId();
		const afterParam = after ? `&after=${after}` : "";
		const { roomId, characterId, token } = this.opts;
		const path = roomId
			? `/ws/session/${roomId}?token=${token}${afterParam}`
			: `/ws/${characterId}?token=${token}${this.sessionId ? `&session_id=${this.sessionId}${afterParam}` : ""}`;
		const socket = await ChatSocket.open(`ws://127.0.0.1:${this.opts.wsPorts[node]}${path}`);
		try {
			const closed = socket.closed.then((code) =>
				Promise.reject(new Error(`closed with ${code} before the connection frame`)),
			);
			const hello = await Promise.race([socket.next((f) => f.type === "connection", HANDSHAKE_MS), closed]);
			this.sessionId = hello.session_id as string;
		} catch (err) {
			socket.ws.terminate();
			throw err;
		}
		this.sockets.push(socket);
		this.node = node;
	}

	private async reconnect(deadline: number): Promise<void> {
		this.reconnects += 1;
		let node = this.node;
		let lastError: unknown;
		while (Date.now() < deadline) {
			node = (node + 1) % this.opts.wsPorts.length;
			try {
				return await this.connect(node);
			} catch (err) {
				lastError = err;
				await sleep(RECONNECT_PAUSE_MS);
			}
		}
		throw new Error(`${this.opts.name} could not reconnect: ${(lastError as Error)?.message}`);
	}

	/** The first frame matching `match`, on this socket or, after it drops, on the ones that resume the session. */
	private async awaitFrame(match: (f: Frame) => boolean, afterReconnect?: () => Promise<void>): Promise<Frame> {
		const deadline = Date.now() + this.opts.timeoutMs;
		for (;;) {
			const seen = this.frames().find(match);
			if (seen) return seen;
			const socket = this.socket();
			const remaining = deadline - Date.now();
			const frame =
				remaining > 0
					? await Promise.race([
							socket.next(match, remaining).catch(() => undefined),
							socket.closed.then(() => undefined),
						])
					: undefined;
			if (frame) return frame;
			if (socket.ws.readyState === OPEN || remaining <= 0) {
				throw new Error(
					`${this.opts.name}: no matching frame within ${this.opts.timeoutMs} ms; last frames ${JSON.stringify(this.frames().slice(-5))}`,
				);
			}
			await this.reconnect(deadline);
			await afterReconnect?.();
		}
	}

	/** After a reconnection: a message whose echo never came and that the server did not store is sent again. */
	private async resendIfLost(turn: Turn): Promise<void> {
		if (this.frames().some((f) => f.type === "echo" && f.content === turn.content)) return;
		// Stored: its echo comes with the replay.
		if (await this.opts.isStored(this.sessionId, turn.content)) return;
		this.resends += 1;
		this.socket().send({ content: turn.content });
	}
}
