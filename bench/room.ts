/**
 * The room measurement of the bench's chat phases (issue 15), run by bench/load.ts after the saturation and paced
 * runs: one room (a session with several people) of `members` bench accounts, one socket each, spread round-robin
 * over the chat-ws URLs, with one character in reply mode "addressed". The messages name no character, so each gets
 * exactly one reply, from that character.
 *
 * The load is a closed loop per member: a member sends its next message once its last one has reached every socket
 * (the sender's `echo`, everyone else's `message`) and that message's final `ai` has too. That is a room of people
 * who each wait for the answer before writing again, as fast as the room lets them: a room generates its replies one
 * at a time, in order, so the room's own queue (at most one message per member) sets the pace, and its rate is the
 * room's capacity. A paced rate would measure the same queue only as long as the rate stays below that capacity, which
 * is not known beforehand, and beyond it the queue, and so every latency, grows without bound with the run's length.
 * The latencies therefore include waiting behind up to `members - 1` other members' replies: what a busy room feels.
 */
import WebSocket from "ws";
import {
	LOST_MS,
	PAYLOADS,
	WARMUP_MS,
	callJson,
	createAccounts,
	log,
	openMany,
	openSocket,
	round,
	sleep,
	summary,
	type Account,
} from "./common.js";

export interface RoomOptions {
	api: string;
	/** chat-ws base URLs; the members' sockets are spread over them round-robin. */
	ws: string[];
	jwtSecret: string;
	/** Accounts to seat in the room, the first as its owner; more are registered if there are fewer than `members`. */
	accounts: Account[];
	characterId: string;
	members: number;
	/** Measured time, after WARMUP_MS. */
	seconds: number;
}

/** One member's socket. */
interface Member {
	index: number;
	ws: WebSocket;
	/** Sent, `echo` not yet seen: the server handles a socket's frames in order, so echoes (or errors) come in order. */
	pending: Sent[];
	/** `echo`/`message` ids and final `ai` ids this socket showed, to catch duplicates. */
	shown: Set<string>;
	/** Messages this socket saw a final `ai` for, to catch a second reply to one message. */
	answered: Set<string>;
}

interface Sent {
	member: Member;
	sentAt: number;
}

/** One message, by its id, from whichever of its frames arrives first (another member's `message` may beat the `echo`). */
interface Track {
	sent?: Sent;
	/** Sockets that showed the message (`echo` or `message`), and when the last of them did. */
	delivered: number;
	deliveredAt: number;
	/** Sockets that showed its reply's final `ai`, and when the last of them did. */
	replied: number;
	repliedAt: number;
}

class RoomLoad {
	members: Member[] = [];
	private readonly tracks = new Map<string, Track>();
	/** Ids settled (complete, failed or lost): frames arriving for them later count, but track nothing. */
	private readonly settled = new Set<string>();
	private frame = 0;
	private running = false;
	from = Infinity;
	to = Infinity;

	sent = 0;
	/** Messages whose reply reached every socket within [from, to). */
	completed = 0;
	/** `echo`, `message` and final `ai` frames that arrived within [from, to), over all sockets. */
	deliveries = 0;
	duplicated = 0;
	extraReplies = 0;
	errors = 0;
	errorCodes: Record<string, number> = {};
	lost = { no_echo: 0, message_not_at_all: 0, reply_not_at_all: 0 };
	closedByServer = 0;
	toAll: number[] = [];
	replyToAll: number[] = [];
	private readonly sweeper = setInterval(() => this.sweep(), 250);

	send(member: Member): void {
		if (!this.running || member.ws.readyState !== WebSocket.OPEN) return;
		member.pending.push({ member, sentAt: performance.now() });
		this.sent += 1;
		member.ws.send(PAYLOADS[this.frame++ % PAYLOADS.length]);
	}

	onFrame(member: Member, data: Buffer): void {
		const now = performance.now();
		const frame = JSON.parse(data.toString()) as { type: string; id?: string; reply_to?: string | null; code?: string };
		if (frame.type === "echo" || frame.type === "message" || frame.type === "ai") {
			if (now >= this.from && now < this.to) this.deliveries += 1;
			const key = `${frame.type === "ai" ? "ai" : "message"}:${frame.id}`;
			if (member.shown.has(key)) {
				this.duplicated += 1;
				return;
			}
			member.shown.add(key);
		}
		switch (frame.type) {
			case "echo": {
				const sent = member.pending.shift();
				const track = this.track(frame.id!);
				if (!track) return;
				track.sent = sent;
				this.delivered(frame.id!, track, now);
				return;
			}
			case "message": {
				const track = this.track(frame.id!);
				if (track) this.delivered(frame.id!, track, now);
				return;
			}
			case "ai": {
				const replyTo = frame.reply_to ?? "";
				if (member.answered.has(replyTo)) this.extraReplies += 1;
				member.answered.add(replyTo);
				const track = this.track(replyTo);
				if (!track) return;
				track.replied += 1;
				if (track.replied === this.members.length) track.repliedAt = now;
				this.check(replyTo, track);
				return;
			}
			case "error": {
				this.errors += 1;
				this.errorCodes[frame.code!] = (this.errorCodes[frame.code!] ?? 0) + 1;
				// An error about a reply names the message; any other one took the place of the oldest frame's echo.
				if (frame.reply_to) {
					const track = this.tracks.get(frame.reply_to);
					if (track) this.settle(frame.reply_to, track);
				} else {
					const sent = member.pending.shift();
					if (sent) this.send(sent.member);
				}
				return;
			}
		}
	}

	private track(id: string): Track | undefined {
		if (this.settled.has(id)) return undefined;
		let track = this.tracks.get(id);
		if (!track) this.tracks.set(id, (track = { delivered: 0, deliveredAt: 0, replied: 0, repliedAt: 0 }));
		return track;
	}

	private delivered(id: string, track: Track, now: number): void {
		track.delivered += 1;
		if (track.delivered === this.members.length) track.deliveredAt = now;
		this.check(id, track);
	}

	/** Complete once the message and its reply are at every socket and the sender's echo said when it was sent. */
	private check(id: string, track: Track): void {
		const all = this.members.length;
		if (!track.sent || track.delivered < all || track.replied < all) return;
		if (track.repliedAt >= this.from && track.repliedAt < this.to) {
			this.completed += 1;
			this.toAll.push(track.deliveredAt - track.sent.sentAt);
			this.replyToAll.push(track.repliedAt - track.sent.sentAt);
		}
		this.settle(id, track);
	}

	private settle(id: string, track: Track): void {
		this.tracks.delete(id);
		this.settled.add(id);
		if (track.sent) this.send(track.sent.member);
	}

	private sweep(): void {
		const now = performance.now();
		for (const member of this.members) {
			while (member.pending.length && now - member.pending[0].sentAt >= LOST_MS) {
				this.lost.no_echo += 1;
				this.send(member.pending.shift()!.member);
			}
		}
		for (const [id, track] of this.tracks) {
			if (!track.sent || now - track.sent.sentAt < LOST_MS) continue;
			if (track.delivered < this.members.length) this.lost.message_not_at_all += 1;
			else this.lost.reply_not_at_all += 1;
			this.settle(id, track);
		}
	}

	/** Sends until `to`, then waits until every message is settled (the sweep bounds this to LOST_MS). */
	async run(seconds: number): Promise<void> {
		this.from = performance.now() + WARMUP_MS;
		this.to = this.from + seconds * 1000;
		this.running = true;
		for (const member of this.members) this.send(member);
		await sleep(this.to - performance.now());
		this.running = false;
		while (this.members.some((m) => m.pending.length) || [...this.tracks.values()].some((t) => t.sent)) await sleep(50);
	}

	close(): void {
		clearInterval(this.sweeper);
		for (const member of this.members) member.ws.terminate();
	}
}

export async function roomRun(options: RoomOptions) {
	const { api, members: size } = options;
	const accounts = options.accounts.slice(0, size);
	if (accounts.length < size) accounts.push(...(await createAccounts(api, size - accounts.length, options.jwtSecret)));
	const [owner, ...others] = accounts;
	const room = await callJson<{ id: string }>("POST", `${api}/sessions`, owner.token, {
		character_ids: [options.characterId],
		reply_mode: "addressed",
	});
	for (const member of others)
		await callJson("POST", `${api}/sessions/${room.id}/members`, owner.token, { username: member.username });
	const load = new RoomLoad();
	const { opened, firstError } = await openMany(size, async (i) => {
		const member: Member = {
			index: i,
			ws: undefined as unknown as WebSocket,
			pending: [],
			shown: new Set(),
			answered: new Set(),
		};
		const url = `${options.ws[i % options.ws.length]}/ws/session/${room.id}?token=${accounts[i].token}`;
		member.ws = await openSocket(url, (data) => load.onFrame(member, data), true);
		member.ws.on("close", () => (load.closedByServer += 1));
		return member;
	});
	load.members = opened;
	try {
		// Every member must hear everything: with a socket missing, "delivered to all" would mean fewer.
		if (opened.length < size) throw new Error(`room: ${opened.length}/${size} sockets opened: ${firstError}`);
		log(`room: ${size} members, ${options.seconds} s after ${WARMUP_MS / 1000} s warm-up`);
		await load.run(options.seconds);
		const lost = load.lost.no_echo + load.lost.message_not_at_all + load.lost.reply_not_at_all;
		const result = {
			members: size,
			sockets_per_node: options.ws.map((_, n) => opened.filter((m) => m.index % options.ws.length === n).length),
			seconds: options.seconds,
			sent: load.sent,
			messages: load.completed,
			messages_per_s: round(load.completed / options.seconds, 1),
			deliveries_per_s: round(load.deliveries / options.seconds, 1),
			send_to_all_ms: summary(load.toAll),
			send_to_reply_all_ms: summary(load.replyToAll),
			errors: load.errors,
			error_codes: load.errorCodes,
			lost,
			lost_detail: load.lost,
			duplicated: load.duplicated,
			extra_replies: load.extraReplies,
			sockets_closed_by_server: load.closedByServer,
		};
		log(
			`room: ${result.deliveries_per_s} deliveries/s, send->all p99 ${result.send_to_all_ms.p99} ms, ` +
				`send->reply at all p99 ${result.send_to_reply_all_ms.p99} ms`,
		);
		return result;
	} finally {
		load.close();
	}
}
