/**
 * Measures chat round trips against a running cameo (embedded or cluster): registers a throwaway user, opens one
 * socket to the first character, sends N messages one after another and prints JSON with the send->echo and
 * send->`ai` latency percentiles. Loopback only; bounded by N and a per-message timeout.
 *
 *   npm run bench:round-trip -- [--messages 200] [--api http://localhost:8000] [--ws ws://localhost:8004]
 *
 * Start the target with CHAT_MESSAGES_PER_MINUTE raised, or the per-socket limit answers `rate_limited`.
 */
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";

const { values } = parseArgs({
	options: {
		messages: { type: "string", default: "200" },
		api: { type: "string", default: "http://localhost:8000" },
		ws: { type: "string", default: "ws://localhost:8004" },
	},
});
const count = Number(values.messages);
const TIMEOUT_MS = 10_000;

async function json<T>(url: string, init: RequestInit): Promise<T> {
	const res = await fetch(url, init);
	if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

function percentile(sorted: number[], p: number): number {
	return sorted.length
		? Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2))
		: NaN;
}

function summary(samples: number[]) {
	const sorted = [...samples].sort((a, b) => a - b);
	return {
		p50: percentile(sorted, 50),
		p95: percentile(sorted, 95),
		p99: percentile(sorted, 99),
		max: percentile(sorted, 100),
	};
}

async function main() {
	const username = `bench_${randomBytes(4).toString("hex")}`;
	const password = randomBytes(12).toString("hex");
	const post = { method: "POST", headers: { "Content-Type": "application/json" } };
	await json(`${values.api}/register`, { ...post, body: JSON.stringify({ username, name: "Bench", password }) });
	const { access_token } = await json<{ access_token: string }>(`${values.api}/login`, {
		...post,
		body: JSON.stringify({ username, password }),
	});
	const auth = { headers: { Authorization: `Bearer ${access_token}` } };
	const [character] = await json<{ id: string }[]>(`${values.api}/characters`, auth);

	const ws = new WebSocket(`${values.ws}/ws/${character.id}?token=${access_token}`);
	const waiting = new Map<string, (frame: Record<string, unknown>) => void>();
	// Echo and reply can arrive in one read, before the reply's waiter exists: keep early arrivals (with their time).
	const early = new Map<string, { frame: Record<string, unknown>; at: number }>();
	let errors = 0;
	let model = "";
	ws.on("message", (data) => {
		const frame = JSON.parse(data.toString()) as Record<string, unknown>;
		if (frame.type === "connection") model = String(frame.model);
		if (frame.type === "error") errors += 1;
		const key = frame.type === "echo" ? `echo:${frame.content}` : frame.type === "ai" ? `ai:${frame.reply_to}` : "";
		const waiter = waiting.get(key);
		if (waiter) waiter(frame);
		else if (key) early.set(key, { frame, at: performance.now() });
	});
	await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));

	const until = (key: string) =>
		new Promise<{ frame: Record<string, unknown>; at: number }>((resolve, reject) => {
			const arrived = early.get(key);
			if (arrived) {
				early.delete(key);
				return resolve(arrived);
			}
			const timer = setTimeout(() => reject(new Error(`timeout waiting for ${key}`)), TIMEOUT_MS);
			waiting.set(key, (frame) => {
				clearTimeout(timer);
				waiting.delete(key);
				resolve({ frame, at: performance.now() });
			});
		});

	const echoMs: number[] = [];
	const aiMs: number[] = [];
	let lost = 0;
	for (let i = 0; i < count; i++) {
		const content = `bench message ${i}`;
		const echoed = until(`echo:${content}`);
		const started = performance.now();
		ws.send(JSON.stringify({ content }));
		try {
			const echo = await echoed;
			echoMs.push(echo.at - started);
			const reply = await until(`ai:${echo.frame.id}`);
			aiMs.push(reply.at - started);
		} catch {
			lost += 1;
		}
	}
	ws.close();
	console.log(
		JSON.stringify(
			{
				target: values.ws,
				model,
				messages: count,
				lost,
				errors,
				send_to_echo_ms: summary(echoMs),
				send_to_ai_ms: summary(aiMs),
			},
			null,
			2,
		),
	);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
