/**
 * Password hashing with scrypt (memory-hard), OWASP parameters N=2^17, r=8, p=1.
 * Passwords are NFKC-normalised first (NIST SP 800-63B), so the same characters typed differently still match.
 * Stored form: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`, so the parameters can change later and old hashes
 * still verify (`needsRehash` tells when to upgrade one).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptParams {
	logN: number;
	r: number;
	p: number;
}

export const DEFAULT_PARAMS: ScryptParams = { logN: 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 64;
// Bounds on what a stored hash may ask for, so a corrupted row cannot make us allocate gigabytes.
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;
// scrypt needs 128 * N * r bytes; Node's default maxmem (32 MiB) is below the 128 MiB that N=2^17, r=8 takes.
const memoryFor = (p: ScryptParams) => 128 * 2 ** p.logN * p.r + 16 * 1024 * 1024;

/** Refusal of a hash when the queue is full: the caller answers 503 rather than keep a client waiting for minutes. */
export class HashingBusyError extends Error {
	constructor() {
		super("Too many password checks are waiting");
		this.name = "HashingBusyError";
	}
}

export interface HashingLimits {
	/** Hashes computed at once. */
	concurrency: number;
	/** Hashes waiting for a free slot; one more is refused with HashingBusyError. */
	maxWaiting: number;
}

// Each hash holds 128 MiB and a libuv thread (shared with fs and dns) for a few hundred ms: bound the parallelism, and
// the queue, so a login flood costs a bounded wait rather than growing one (an unbounded queue made an 82 s login).
// One queue per process, because those are per-process resources.
let limits: HashingLimits = { concurrency: 2, maxWaiting: 8 };
let running = 0;
const waiting: (() => void)[] = [];

/** Sets the process's hashing bounds (the auth service does, from AUTH_HASH_CONCURRENCY and AUTH_HASH_QUEUE). */
export function setHashingLimits(next: HashingLimits): void {
	limits = { ...next };
}

async function limited<T>(fn: () => Promise<T>): Promise<T> {
	if (running >= limits.concurrency) {
		if (waiting.length >= limits.maxWaiting) throw new HashingBusyError();
		await new Promise<void>((resolve) => waiting.push(resolve));
	} else running += 1;
	try {
		return await fn();
	} finally {
		const next = waiting.shift();
		if (next) next();
		else running -= 1;
	}
}

function derive(plain: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const options = { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: memoryFor(params) };
		scrypt(plain.normalize("NFKC"), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
	});
}

function format(params: ScryptParams, salt: Buffer, hash: Buffer): string {
	return `scrypt$${params.logN}$${params.r}$${params.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

interface Parsed {
	params: ScryptParams;
	salt: Buffer;
	hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parse(stored: unknown): Parsed | undefined {
	if (typeof stored !== "string") return undefined;
	const parts = stored.split("$");
	if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
	const [logN, r, p] = parts.slice(1, 4).map((s) => (/^\d{1,3}$/.test(s) ? Number(s) : NaN));
	if (!(logN >= 1 && logN <= MAX_LOG_N && r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
	if (!B64.test(parts[4]) || !B64.test(parts[5])) return undefined;
	const salt = Buffer.from(parts[4], "base64");
	const hash = Buffer.from(parts[5], "base64");
	if (salt.length < 8 || hash.length < 16 || hash.length > 128) return undefined;
	return { params: { logN, r, p }, salt, hash };
}

export async function hashPassword(plain: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
	const salt = randomBytes(SALT_BYTES);
	return format(params, salt, await limited(() => derive(plain, salt, KEY_BYTES, params)));
}

/**
 * True when `plain` matches `stored`; false for a wrong password or a malformed stored hash. Throws only
 * HashingBusyError (as hashPassword does), when the queue is full.
 */
export async function verifyPassword(plain: string, stored: string): Promise<boolean> {
	const parsed = parse(stored);
	if (!parsed || typeof plain !== "string") return false;
	return limited(async () => {
		try {
			const candidate = await derive(plain, parsed.salt, parsed.hash.length, parsed.params);
			return timingSafeEqual(candidate, parsed.hash);
		} catch {
			return false;
		}
	});
}

/** True when `stored` was made with other parameters than the current ones (or is unreadable). */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_PARAMS): boolean {
	const parsed = parse(stored);
	if (!parsed) return true;
	const p = parsed.params;
	return p.logN !== params.logN || p.r !== params.r || p.p !== params.p || parsed.hash.length !== KEY_BYTES;
}

// A hash of nothing anyone knows: random salt and key in the current format. Verifying against it costs exactly what
// a real verification costs, and it needs no hashing at start.
const DUMMY_HASH = format(DEFAULT_PARAMS, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));

/**
 * Spends the time of one real verification and returns false. Login calls it for an unknown username so that
 * "no such user" and "wrong password" take the same time (no user enumeration by timing).
 */
export async function dummyVerify(plain: string): Promise<false> {
	await verifyPassword(plain, DUMMY_HASH);
	return false;
}
