/**
 * What the load generator's jobs share (bench/load.ts for echo, chat and idle; bench/room.ts for the room): the
 * progress log, percentile summaries, bounded concurrency, bench accounts and sockets. It runs in the load
 * generator's process and imports nothing of the bench's own, so any job module may import it.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { signAccessToken } from "../src/domain/access-tokens.js";

/** Closed loops start measuring after this, so connection setup and JIT warm-up stay out of the rate. */
export const WARMUP_MS = 2000;
/** A message without its final `ai` this long after it was sent is lost. */
export const LOST_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Handshakes in flight at once: enough to open 10,000 sockets quickly without a thundering herd. */
const OPEN_CONCURRENCY = 64;
/** Registration hashes a password with scrypt (~0.5 s of CPU); more at once only queue in the server's thread pool. */
export const REGISTER_CONCURRENCY = 4;
/** Minted tokens outlive any run. */
const TOKEN_TTL_SECONDS = 4 * 3600;

/** Chat-sized frames, serialized once: the generator spends its CPU on sockets, not on JSON. */
export const PAYLOADS = [
	"Hello! I have been wondering about the old lighthouse on the hill. Who used to keep it?",
	"That is fascinating. Did anyone ever see the light come on again after it was closed?",
	"Tell me more about the storm that year, and about the ship that nearly ran aground.",
	"What would you do if you found the keeper's logbook hidden under the floorboards?",
].map((content) => JSON.stringify({ content }));

export const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Statistics

export function summary(samples: number[]) {
	const sorted = Float64Array.from(samples).sort();
	const at = (p: number) =>
		sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]) : null;
	return { samples: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

export function round(value: number, digits = 2): number {
	return Number(value.toFixed(digits));
}

/** Runs `fn(0..count-1)` with at most `concurrency` calls in flight. */
export async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
	const out = new Array<T>(count);
	let next = 0;
	const worker = async () => {
		while (next < count) {
			const i = next++;
			out[i] = await fn(i);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
	return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Accounts and sockets

export interface Account {
	username: string;
	token: string;
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
	const res = await fetch(url, {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify(body),
	});
	if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

/**
 * Registers `count` users over REST. Their tokens are signed here with the run's secret rather than fetched from
 * /login: a login is one more scrypt hash per user, minutes of setup at 200 users on a small machine.
 */
export async function createAccounts(api: string, count: number, jwtSecret: string): Promise<Account[]> {
	const run = randomBytes(3).toString("hex");
	const password = randomBytes(12).toString("hex");
	const started = performance.now();
	const accounts = await pool(count, REGISTER_CONCURRENCY, async (i) => {
		const username = `bench_${run}_${i}`;
		const user = await postJson<{ id: string; username: string }>(`${api}/register`, {
			username,
			name: `Bench ${i}`,
			password,
		});
		return {
			username: user.username,
			token: signAccessToken({ userId: user.id, username: user.username }, jwtSecret, TOKEN_TTL_SECONDS),
		};
	});
	log(`registered ${count} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
	return accounts;
}

export async function callJson<T>(method: string, url: string, token: string, body?: unknown): Promise<T> {
	const res = await fetch(url, {
		method,
		headers: {
			Authorization: `Bearer ${token}`,
			...(body === undefined ? {} : { "Content-Type": "application/json" }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

export async function firstCharacter(api: string, token: string): Promise<string> {
	const [character] = await callJson<{ id: string }[]>("GET", `${api}/characters`, token);
	if (!character) throw new Error("no character to talk to");
	return character.id;
}

/**
 * Opens a socket; resolves once it is usable: at `open`, or with `untilConnectionFrame` at the server's `connection`
 * frame (the session exists and the server listens). `onFrame` is attached before either.
 */
export function openSocket(
	url: string,
	onFrame: (data: Buffer) => void,
	untilConnectionFrame: boolean,
): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, {
			perMessageDeflate: false,
			skipUTF8Validation: true,
			handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
		});
		let ready = false;
		ws.on("message", (data: Buffer) => {
			if (!ready && untilConnectionFrame) {
				ready = true;
				return resolve(ws);
			}
			onFrame(data);
		});
		ws.once("open", () => {
			if (untilConnectionFrame) return;
			ready = true;
			resolve(ws);
		});
		ws.on("error", (err) => {
			if (!ready) reject(err);
		});
		ws.once("unexpected-response", (_req, res) => {
			ws.terminate();
			reject(new Error(`handshake refused: HTTP ${res.statusCode}`));
		});
	});
}

/** Opens `count` sockets with bounded concurrency; failures are counted, not fatal. */
export async function openMany<T>(
	count: number,
	open: (i: number) => Promise<T>,
): Promise<{ opened: T[]; failed: number; firstError?: string; seconds: number }> {
	const started = performance.now();
	let failed = 0;
	let firstError: string | undefined;
	let done = 0;
	const results = await pool(count, OPEN_CONCURRENCY, async (i) => {
		try {
			return await open(i);
		} catch (err) {
			failed += 1;
			firstError ??= (err as Error).message;
			return undefined;
		} finally {
			done += 1;
			if (count >= 2000 && done % 1000 === 0) log(`${done}/${count} sockets`);
		}
	});
	const seconds = round((performance.now() - started) / 1000);
	const opened = results.filter((r): r is Awaited<T> => r !== undefined);
	log(`opened ${opened.length}/${count} sockets in ${seconds} s${failed ? ` (${failed} failed: ${firstError})` : ""}`);
	return { opened, failed, firstError, seconds };
}
