/**
 * Event-loop stalls: inputs that once froze a whole process, and the probe that measures a freeze as the slowest
 * `/health` answer while it lasts. Shared by the tests and the bench's `stalls` phase.
 */

/** `length` random CJK ideographs, the same for the same seed, without spaces: one piece to a tokenizer. */
export function randomCjk(length: number, seed = 1): string {
	let state = seed;
	return Array.from({ length }, () => {
		state = (state * 1_103_515_245 + 12_345) & 0x7fffffff; // a fixed LCG: a seed names one text
		return String.fromCharCode(0x4e00 + (state % 20_902));
	}).join("");
}

export interface HealthLatency {
	health_max_ms: number;
	health_p99_ms: number;
	samples: number;
}

export interface HealthProbe {
	/** Stops asking; resolves once the last request is answered, rejects if one failed. Again: the same answer. */
	stop(): Promise<HealthLatency>;
}

/**
 * Asks `url` every `everyMs` ms (`everyMs` after the previous answer) until stopped. Each latency counts from when the
 * request was due, not from when it went out: a probe in the process it measures is frozen with it, and its timer
 * fires late by as much as its request would have waited.
 */
export function probeHealth(url: string, everyMs = 10): HealthProbe {
	const latencies: number[] = [];
	let stopped = false;
	const running = (async () => {
		for (;;) {
			const due = performance.now() + everyMs;
			await new Promise((resolve) => setTimeout(resolve, everyMs));
			if (stopped) {
				// How late this wait ended counts too: a freeze may have ended just before the stop.
				latencies.push(performance.now() - due);
				return;
			}
			// Once more on a new connection: a server frozen past its keep-alive timeout resets the idle one on waking.
			const res = await fetch(url)
				.catch(() => fetch(url))
				.catch((err: Error) => {
					throw new Error(`GET ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
				});
			await res.arrayBuffer();
			if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
			latencies.push(performance.now() - due);
		}
	})();
	running.catch(() => undefined); // reported by stop(), not as an unhandled rejection meanwhile
	let stopping: Promise<HealthLatency> | undefined;
	const finish = async (): Promise<HealthLatency> => {
		stopped = true;
		await running;
		const sorted = latencies.sort((a, b) => a - b);
		const at = (fraction: number) =>
			Number((sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0).toFixed(1));
		return { health_max_ms: at(1), health_p99_ms: at(0.99), samples: sorted.length };
	};
	return { stop: () => (stopping ??= finish()) };
}
