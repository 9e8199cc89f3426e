/**
 * The load generator of `npm run bench`. bench/run.ts forks it as a process of its own, so it never shares an event
 * loop with the server it measures. It takes one job over IPC, writes progress to stderr, answers with its result
 * over IPC and exits when its parent goes away.
 *
 * - echo: sockets to a bare `ws` echo server; each sends its next frame as soon as the last one is back.
 * - chat: registers users, opens sockets to one character (round-robin over the chat-ws URLs), then runs a closed
 *   loop (each socket waits for its final `ai` before the next message) and an open loop at a fixed rate; then, with
 *   those sockets closed, one room of several members with that character (bench/room.ts).
 * - idle: opens authenticated sockets and keeps them open until bench/run.ts has read the server's memory.
 * - stalls: attacks that once froze the server, with /health probed meanwhile (bench/stalls.ts).
 */
import WebSocket from "ws";
import {
	LOST_MS,
	PAYLOADS,
	REGISTER_CONCURRENCY,
	WARMUP_MS,
	callJson,
	createAccounts,
	firstCharacter,
	log,
	openMany,
	openSocket,
	pool,
	round,
	sleep,
	summary,
	type Account,
} from "./common.js";
import { benchLoreEntries } from "./lorebook.js";
import { roomRun } from "./room.js";
import { stallsJob, type StallsJob } from "./stalls.js";

export interface EchoJob {
	kind: "echo";
	url: string;
	sockets: number;
	seconds: number;
}

export interface ChatJob {
	kind: "chat";
	api: string;
	/** chat-ws base URLs; sockets are spread over them round-robin. */
	ws: string[];
	users: number;
	sockets: number;
	jwtSecret: string;
	saturationSeconds: number;
	pacedSeconds: number;
	/** Messages per second over all sockets in the paced run. */
	rate: number;
	/** Entries of a lorebook active in every chat (bench/lorebook.ts); 0: none. */
	lorebookEntries: number;
	/** The room run after the paced one (bench/room.ts): its people, one socket each, and its measured seconds. */
	roomMembers: number;
	roomSeconds: number;
}

export interface IdleJob {
	kind: "idle";
	api: string;
	ws: string[];
	users: number;
	sockets: number;
	jwtSecret: string;
}

export type Job = EchoJob | ChatJob | IdleJob | StallsJob;

/** From bench/run.ts: a job, or `continue` after a checkpoint. */
export type ToLoad = Job | { type: "continue" };

/**
 * To bench/run.ts. `load` brackets the time messages flow (the RSS sampling window). At a `checkpoint` the generator
 * waits for `continue`, so the server's memory can be read at that point: `before` (accounts made, no socket open
 * yet) and `holding` (every idle socket open).
 */
export type FromLoad =
	| { type: "load"; active: boolean }
	| { type: "checkpoint"; name: "before" | "holding" }
	| { type: "result"; result: unknown }
	| { type: "failed"; error: string };

function send(message: FromLoad): void {
	process.send?.(message);
}

/** Reports a checkpoint and waits until bench/run.ts has looked. */
function checkpoint(name: "before" | "holding"): Promise<void> {
	return new Promise((resolve) => {
		const onMessage = (message: ToLoad) => {
			if (!("type" in message) || message.type !== "continue") return;
			process.off("message", onMessage);
			resolve();
		};
		process.on("message", onMessage);
		send({ type: "checkpoint", name });
	});
}

// ---------------------------------------------------------------------------------------------------------------
// Lorebook

/**
 * A public lorebook of `entries` entries, attached to every user's default persona: active in all their chats with
 * the bench character, as a card's own book would be.
 */
async function attachLorebook(api: string, accounts: Account[], entries: number): Promise<void> {
	const started = performance.now();
	const book = await callJson<{ id: string }>("POST", `${api}/lorebooks`, accounts[0].token, {
		name: "Bench world",
		is_public: true,
		entries: benchLoreEntries(entries),
	});
	await pool(accounts.length, REGISTER_CONCURRENCY, async (i) => {
		const [persona] = await callJson<{ id: string }[]>("GET", `${api}/personas`, accounts[i].token);
		await callJson("PATCH", `${api}/personas/${persona.id}`, accounts[i].token, { lorebook_ids: [book.id] });
	});
	log(`lorebook of ${entries} entries attached in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------------------------
// echo: round trips per second against a bare ws server

async function echoJob(job: EchoJob) {
	let counted = 0;
	let from = Infinity;
	let to = Infinity;
	let frame = 0;
	const next = (ws: WebSocket) => ws.send(PAYLOADS[frame++ % PAYLOADS.length]);
	const { opened, failed } = await openMany(job.sockets, async () => {
		const ws: WebSocket = await openSocket(
			job.url,
			() => {
				const now = performance.now();
				if (now >= from && now < to) counted += 1;
				if (now < to) next(ws);
			},
			false,
		);
		return ws;
	});
	if (opened.length === 0) throw new Error("no socket opened");
	from = performance.now() + WARMUP_MS;
	to = from + job.seconds * 1000;
	send({ type: "load", active: true });
	for (const ws of opened) next(ws);
	await sleep(to - performance.now());
	send({ type: "load", active: false });
	for (const ws of opened) ws.terminate();
	return {
		sockets: opened.length,
		sockets_failed: failed,
		seconds: job.seconds,
		round_trips_per_s: Math.round(counted / job.seconds),
	};
}

// ---------------------------------------------------------------------------------------------------------------
// chat: closed-loop saturation, then an open loop at a fixed rate

interface Conn {
	ws: WebSocket;
	/** Sent, echo not yet seen: the server handles a socket's frames in order, so echoes (or errors) come in this order. */
	pending: Sent[];
	/** Final `ai` ids this socket showed, to catch duplicates. */
	shown: Set<string>;
}

interface Sent {
	conn: Conn;
	stats: Stats;
	id: string;
	sentAt: number;
	echoAt: number;
	deltaAt: number;
	done: boolean;
}

class Stats {
	sent = 0;
	/** Final `ai` frames whose arrival falls in [from, to). */
	completed = 0;
	lost = 0;
	duplicated = 0;
	errors = 0;
	errorCodes: Record<string, number> = {};
	echo: number[] = [];
	delta: number[] = [];
	ai: number[] = [];
	constructor(
		readonly from = 0,
		readonly to = Infinity,
	) {}

	report() {
		return {
			sent: this.sent,
			errors: this.errors,
			error_codes: this.errorCodes,
			lost: this.lost,
			duplicated: this.duplicated,
			send_to_echo_ms: summary(this.echo),
			send_to_first_delta_ms: summary(this.delta),
			send_to_ai_ms: summary(this.ai),
		};
	}
}

class ChatLoad {
	conns: Conn[] = [];
	/** Echo id -> message, until its final `ai`. */
	private readonly byId = new Map<string, Sent>();
	private readonly inflight = new Set<Sent>();
	private stats = new Stats();
	/** Closed loop: a socket sends its next message as soon as the last one is settled. */
	private closedLoop = false;
	private frame = 0;
	closedByServer = 0;
	private readonly sweeper = setInterval(() => this.sweep(), 250);

	/** False when the socket is closed. */
	send(conn: Conn): boolean {
		if (conn.ws.readyState !== WebSocket.OPEN) return false;
		const message: Sent = {
			conn,
			stats: this.stats,
			id: "",
			sentAt: performance.now(),
			echoAt: 0,
			deltaAt: 0,
			done: false,
		};
		conn.pending.push(message);
		this.inflight.add(message);
		this.stats.sent += 1;
		conn.ws.send(PAYLOADS[this.frame++ % PAYLOADS.length]);
		return true;
	}

	onFrame(conn: Conn, data: Buffer): void {
		const now = performance.now();
		const frame = JSON.parse(data.toString()) as { type: string; id?: string; reply_to?: string | null; code?: string };
		switch (frame.type) {
			case "echo": {
				const message = conn.pending.shift();
				if (!message || message.done) return;
				message.id = frame.id!;
				message.echoAt = now;
				this.byId.set(message.id, message);
				return;
			}
			case "ai.delta": {
				const message = this.byId.get(frame.reply_to ?? "");
				if (message && !message.deltaAt) message.deltaAt = now;
				return;
			}
			case "ai": {
				if (conn.shown.has(frame.id!)) this.stats.duplicated += 1;
				conn.shown.add(frame.id!);
				const message = this.byId.get(frame.reply_to ?? "");
				if (message) this.settle(message, now, true);
				return;
			}
			case "error": {
				this.stats.errors += 1;
				this.stats.errorCodes[frame.code!] = (this.stats.errorCodes[frame.code!] ?? 0) + 1;
				// An error about a reply names the message; any other one took the place of the oldest frame's echo.
				const message = frame.reply_to ? this.byId.get(frame.reply_to) : conn.pending.shift();
				if (message) this.settle(message, now, false);
				return;
			}
		}
	}

	private settle(message: Sent, at: number, replied: boolean): void {
		if (message.done) return;
		message.done = true;
		this.inflight.delete(message);
		this.byId.delete(message.id);
		const { stats } = message;
		if (replied && at >= stats.from && at < stats.to) {
			stats.completed += 1;
			stats.echo.push(message.echoAt - message.sentAt);
			if (message.deltaAt) stats.delta.push(message.deltaAt - message.sentAt);
			stats.ai.push(at - message.sentAt);
		}
		if (this.closedLoop) this.send(message.conn);
	}

	private sweep(): void {
		const now = performance.now();
		for (const message of this.inflight) {
			if (now - message.sentAt < LOST_MS) continue;
			message.stats.lost += 1;
			this.settle(message, now, false);
		}
	}

	/** Waits until every message is settled; the sweep bounds this to LOST_MS. */
	private async drain(): Promise<void> {
		while (this.inflight.size > 0) await sleep(50);
	}

	private openConns(): Conn[] {
		const open = this.conns.filter((c) => c.ws.readyState === WebSocket.OPEN);
		if (open.length === 0) throw new Error("every socket was closed by the server");
		return open;
	}

	async saturation(seconds: number) {
		const from = performance.now() + WARMUP_MS;
		this.stats = new Stats(from, from + seconds * 1000);
		this.closedLoop = true;
		for (const conn of this.openConns()) this.send(conn);
		await sleep(this.stats.to - performance.now());
		this.closedLoop = false;
		const stats = this.stats;
		await this.drain();
		return { seconds, ai_round_trips_per_s: round(stats.completed / seconds, 1), ...stats.report() };
	}

	async paced(seconds: number, rate: number) {
		const stats = (this.stats = new Stats());
		const conns = this.openConns();
		const started = performance.now();
		let next = 0;
		await new Promise<void>((resolve) => {
			// A 1 ms tick sends whatever is due, so the rate holds even when timers fire late.
			const timer = setInterval(() => {
				const elapsed = Math.min(performance.now() - started, seconds * 1000);
				const due = Math.floor((elapsed / 1000) * rate);
				// Closed sockets are skipped; once none is left, the rate is simply not reached.
				for (let skipped = 0; stats.sent < due && skipped < conns.length;)
					skipped = this.send(conns[next++ % conns.length]) ? 0 : skipped + 1;
				if (elapsed >= seconds * 1000) {
					clearInterval(timer);
					resolve();
				}
			}, 1);
		});
		const achieved = stats.sent / ((performance.now() - started) / 1000);
		await this.drain();
		return { seconds, target_rate: rate, achieved_rate: round(achieved, 1), ...stats.report() };
	}

	close(): void {
		clearInterval(this.sweeper);
		for (const conn of this.conns) conn.ws.terminate();
	}
}

async function chatJob(job: ChatJob) {
	const registerStarted = performance.now();
	const accounts = await createAccounts(job.api, job.users, job.jwtSecret);
	const registerSeconds = round((performance.now() - registerStarted) / 1000);
	if (job.lorebookEntries > 0) await attachLorebook(job.api, accounts, job.lorebookEntries);
	const characterId = await firstCharacter(job.api, accounts[0].token);
	const load = new ChatLoad();
	const { opened, failed, firstError, seconds } = await openMany(job.sockets, async (i) => {
		const conn: Conn = { ws: undefined as unknown as WebSocket, pending: [], shown: new Set() };
		const url = `${job.ws[i % job.ws.length]}/ws/${characterId}?token=${accounts[i % accounts.length].token}`;
		conn.ws = await openSocket(url, (data) => load.onFrame(conn, data), true);
		conn.ws.on("close", () => (load.closedByServer += 1));
		return conn;
	});
	if (opened.length === 0) throw new Error(`no socket opened: ${firstError}`);
	load.conns = opened;
	try {
		send({ type: "load", active: true });
		log(`saturation: ${opened.length} sockets, ${job.saturationSeconds} s after ${WARMUP_MS / 1000} s warm-up`);
		const saturation = await load.saturation(job.saturationSeconds);
		log(`saturation: ${saturation.ai_round_trips_per_s} AI round trips/s`);
		log(`paced: ${job.rate} msg/s for ${job.pacedSeconds} s`);
		const paced = await load.paced(job.pacedSeconds, job.rate);
		log(`paced: send->ai p50 ${paced.send_to_ai_ms.p50} ms, p99 ${paced.send_to_ai_ms.p99} ms`);
		// Only the bench closes sockets before this point: anything counted here was closed by the server.
		const closedByServer = load.closedByServer;
		// The room is measured on its own: the one-character chats' sockets are closed first.
		load.close();
		const room = await roomRun({
			api: job.api,
			ws: job.ws,
			jwtSecret: job.jwtSecret,
			accounts,
			characterId,
			members: job.roomMembers,
			seconds: job.roomSeconds,
		});
		send({ type: "load", active: false });
		return {
			users: job.users,
			lorebook_entries: job.lorebookEntries,
			sockets: opened.length,
			sockets_failed: failed,
			sockets_closed_by_server: closedByServer,
			register_s: registerSeconds,
			connect_s: seconds,
			saturation,
			paced,
			room,
		};
	} finally {
		load.close();
	}
}

// ---------------------------------------------------------------------------------------------------------------
// idle: authenticated sockets that only stay open

async function idleJob(job: IdleJob) {
	const accounts = await createAccounts(job.api, job.users, job.jwtSecret);
	const characterId = await firstCharacter(job.api, accounts[0].token);
	await checkpoint("before");
	const { opened, failed, firstError, seconds } = await openMany(job.sockets, (i) =>
		openSocket(
			`${job.ws[i % job.ws.length]}/ws/${characterId}?token=${accounts[i % accounts.length].token}`,
			() => undefined,
			true,
		),
	);
	await checkpoint("holding");
	const stillOpen = opened.filter((ws) => ws.readyState === WebSocket.OPEN).length;
	for (const ws of opened) ws.terminate();
	return { opened: opened.length, failed, first_error: firstError ?? null, still_open: stillOpen, connect_s: seconds };
}

// ---------------------------------------------------------------------------------------------------------------

process.on("disconnect", () => process.exit(0));
process.once("message", (job: Job) => {
	const run =
		job.kind === "echo"
			? echoJob(job)
			: job.kind === "chat"
				? chatJob(job)
				: job.kind === "idle"
					? idleJob(job)
					: stallsJob(job);
	run.then(
		(result) => send({ type: "result", result }),
		(err: Error) => send({ type: "failed", error: err.stack ?? String(err) }),
	);
});
