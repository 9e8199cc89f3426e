/**
 * The `stalls` job of the bench's load generator: attacks by one account that once froze the whole server process,
 * each run while GET /health is asked every 10 ms (test/support/stalls.ts). Reported per attack: the slowest and the
 * 99th-percentile /health answer while it ran, how many answers that is, and what the server answered the attack.
 *
 * - none: nothing for a second, the reference: what the machine's other load costs /health anyway;
 * - cjk_message_4000: a chat message as long as allowed, 4,000 random CJK characters (one tokenizer piece);
 * - system_prompt_8000_no_space: a reply of a character whose system prompt is 8,000 such characters;
 * - gallery_20_cards_2mb: GET /characters (five page sizes, so no cached answer) after importing 20 cards of ~2 MB;
 * - png_250k_chunks_import: POST /characters/import of a PNG of 250,000 empty chunks carrying a card.
 *
 * A first message, not measured, builds the tokenizer's tables (~0.2 s, once per process) and runs its merge code
 * (twice as slow until the JIT compiles it): a server that has answered anything has done both.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { signAccessToken } from "../src/domain/access-tokens.js";
import { tinyChunksPng, v2Card } from "../test/support/hostile-cases.js";
import { probeHealth, randomCjk, type HealthLatency } from "../test/support/stalls.js";

export interface StallsJob {
	kind: "stalls";
	api: string;
	/** The chat-ws base URL. */
	ws: string;
	jwtSecret: string;
}

export interface StallResult extends HealthLatency {
	attack: string;
	/** What the server answered: `answered`, an error frame's code or an HTTP status. */
	outcome: string;
}

const GALLERY_CARDS = 20;
/** 100 alternate greetings of 20,000 characters (the card limits): a card just under the 2 MB import limit. */
const GREETINGS = 100;
const GREETING_CHARS = 20_000;
const PNG_CHUNKS = 250_000;
const REPLY_TIMEOUT_MS = 60_000;
/** Ordinary chat with rare words and a little CJK, whose tokens take the merge code's every path. */
const WARM_UP =
	"Hello! I read about the quetzalcoatlus and zygomorphic orchids today, 你好, and the keeper's logbook. ".repeat(20);

const log = (line: string) => process.stderr.write(`[stalls] ${line}\n`);

class Attacker {
	private constructor(
		private readonly job: StallsJob,
		private readonly token: string,
	) {}

	/** A new account; its token is signed here (see createAccounts in bench/load.ts). */
	static async register(job: StallsJob): Promise<Attacker> {
		const username = `stalls_${randomBytes(4).toString("hex")}`;
		const res = await fetch(`${job.api}/register`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ username, name: "Staller", password: randomBytes(12).toString("hex") }),
		});
		if (!res.ok) throw new Error(`POST /register: ${res.status} ${await res.text()}`);
		const user = (await res.json()) as { id: string; username: string };
		return new Attacker(job, signAccessToken({ userId: user.id, username: user.username }, job.jwtSecret, 3600));
	}

	/** An HTTP request as this account; throws only if the request itself failed. */
	async request(
		method: string,
		path: string,
		body?: { type: string; data: string | Buffer },
	): Promise<{ status: number; body: Buffer }> {
		const res = await fetch(`${this.job.api}${path}`, {
			method,
			headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": body.type } : {}) },
			body: body?.data,
		});
		return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
	}

	async createCharacter(systemPrompt: string): Promise<string> {
		const name = `Stalls ${randomBytes(3).toString("hex")}`;
		const res = await this.request("POST", "/characters", {
			type: "application/json",
			data: JSON.stringify({ name, system_prompt: systemPrompt, greeting: "Hello." }),
		});
		if (res.status !== 201) throw new Error(`POST /characters: ${res.status} ${res.body.toString("utf8", 0, 300)}`);
		return (JSON.parse(res.body.toString()) as { id: string }).id;
	}

	/** Sends `content` to `characterId` on a new socket; resolves with `answered` or the error frame's code. */
	chat(characterId: string, content: string): Promise<string> {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(`${this.job.ws}/ws/${characterId}?token=${encodeURIComponent(this.token)}`);
			const timer = setTimeout(
				() => finish(new Error(`no reply within ${REPLY_TIMEOUT_MS / 1000} s`)),
				REPLY_TIMEOUT_MS,
			);
			const finish = (outcome: string | Error) => {
				clearTimeout(timer);
				ws.terminate();
				if (outcome instanceof Error) reject(outcome);
				else resolve(outcome);
			};
			let echoId: string | undefined;
			ws.on("message", (data: Buffer) => {
				const frame = JSON.parse(data.toString()) as {
					type: string;
					id?: string;
					reply_to?: string | null;
					code?: string;
				};
				if (frame.type === "connection") ws.send(JSON.stringify({ content }));
				else if (frame.type === "echo") echoId = frame.id;
				else if (frame.type === "error") finish(`error ${frame.code}`);
				else if (frame.type === "ai" && echoId && frame.reply_to === echoId) finish("answered");
			});
			ws.once("unexpected-response", (_req, res) => finish(new Error(`handshake refused: HTTP ${res.statusCode}`)));
			ws.once("error", (err) => finish(err));
		});
	}
}

/** Runs `attack` while /health is probed; an attack that fails is reported with its error as the outcome. */
async function measure(job: StallsJob, attack: string, run: () => Promise<string>): Promise<StallResult> {
	const probe = probeHealth(`${job.api}/health`);
	const outcome = await run().catch((err: Error) => `failed: ${err.message}`);
	const result = { attack, ...(await probe.stop()), outcome };
	log(
		`${attack}: /health max ${result.health_max_ms} ms, p99 ${result.health_p99_ms} ms (${result.samples} answers); ${outcome}`,
	);
	return result;
}

/** The `code` of an error answer, if it is one. */
function errorCode(body: Buffer): string {
	try {
		return String((JSON.parse(body.toString()) as { code?: unknown }).code ?? "");
	} catch {
		return "";
	}
}

/** A ~2 MB card: each greeting is ordinary prose, so it is the size that counts, not a tokenizer piece. */
function bigCard(name: string): string {
	const prose = "The keeper climbs the stairs at dusk and lights the lamp. ";
	const greeting = prose.repeat(Math.ceil(GREETING_CHARS / prose.length)).slice(0, GREETING_CHARS);
	return JSON.stringify(v2Card(name, { alternate_greetings: Array<string>(GREETINGS).fill(greeting) }));
}

export async function stallsJob(job: StallsJob): Promise<StallResult[]> {
	const attacker = await Attacker.register(job);
	const plain = await attacker.createCharacter("You keep the Skerry Light and speak in short, wry sentences.");
	await attacker.chat(plain, WARM_UP);
	const results: StallResult[] = [];

	results.push(
		await measure(job, "none", () => new Promise((resolve) => setTimeout(() => resolve("idle for 1 s"), 1000))),
	);

	results.push(await measure(job, "cjk_message_4000", () => attacker.chat(plain, randomCjk(4000))));

	const runOn = await attacker.createCharacter(randomCjk(8000, 2));
	results.push(await measure(job, "system_prompt_8000_no_space", () => attacker.chat(runOn, "Hello, who are you?")));

	const run = randomBytes(3).toString("hex");
	for (let i = 0; i < GALLERY_CARDS; i++) {
		const res = await attacker.request("POST", "/characters/import", {
			type: "application/json",
			data: bigCard(`Gallery ${run} ${i}`),
		});
		if (res.status !== 201)
			throw new Error(`POST /characters/import of a 2 MB card: ${res.status} ${res.body.toString("utf8", 0, 300)}`);
	}
	results.push(
		await measure(job, "gallery_20_cards_2mb", async () => {
			const sizes: number[] = [];
			for (let limit = 100; limit > 95; limit--) {
				const res = await attacker.request("GET", `/characters?limit=${limit}`);
				if (res.status !== 200) return `HTTP ${res.status}`;
				sizes.push(res.body.length);
			}
			return `HTTP 200, ${(Math.max(...sizes) / 1024 / 1024).toFixed(2)} MB`;
		}),
	);

	const png = tinyChunksPng(PNG_CHUNKS, `Chunks ${run}`);
	results.push(
		await measure(job, "png_250k_chunks_import", async () => {
			const res = await attacker.request("POST", "/characters/import", { type: "image/png", data: png });
			return `HTTP ${res.status} ${res.status === 201 ? "" : errorCode(res.body)}`.trim();
		}),
	);
	return results;
}
