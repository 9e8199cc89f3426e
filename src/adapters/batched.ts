/**
 * Many sockets and replies arrive in one turn of the event loop under load; one statement (one round trip, one
 * commit) for all of them costs PostgreSQL little more than one for each. `batched` turns a function of many items
 * into a function of one that joins the calls made in the same turn (DataLoader, scheduled on `setImmediate` so
 * calls from separate socket events join too). Nothing waits for a batch to fill: a lone call runs at once. While
 * `maxConcurrent` batches are running, the next one stays open and keeps taking calls, so under load batches grow
 * instead of statements queueing for connections (group commit, by hand).
 */
import DataLoader from "dataloader";

export interface BatchOptions<I> {
	maxBatchSize: number;
	/** Batches running at once; more calls wait in the next batch. */
	maxConcurrent: number;
	/**
	 * Items with the same key never share a statement (it could not see their effects on each other); they run in
	 * successive statements, in call order.
	 */
	conflictKey?: (item: I) => string;
}

/**
 * `run` gets the items of a batch and answers each, in order. A batch that fails is retried one item at a time, so
 * a bad item (a deleted session, say) fails alone and the rest go through.
 */
export function batched<I, O>(run: (items: I[]) => Promise<O[]>, options: BatchOptions<I>): (item: I) => Promise<O> {
	let running = 0;
	const ready: (() => void)[] = [];
	const loader = new DataLoader<I, O>(
		async (items) => {
			running += 1;
			try {
				return await runInRounds(items, run, options.conflictKey);
			} finally {
				running -= 1;
				ready.shift()?.();
			}
		},
		{
			cache: false,
			maxBatchSize: options.maxBatchSize,
			batchScheduleFn: (dispatch) =>
				setImmediate(() => (running < options.maxConcurrent ? dispatch() : ready.push(dispatch))),
		},
	);
	return (item) => loader.load(item);
}

async function runInRounds<I, O>(
	items: readonly I[],
	run: (items: I[]) => Promise<O[]>,
	conflictKey?: (item: I) => string,
): Promise<(O | Error)[]> {
	const results = new Array<O | Error>(items.length);
	let waiting = items.map((item, index) => ({ item, index }));
	while (waiting.length > 0) {
		const keys = new Set<string>();
		const round: typeof waiting = [];
		const later: typeof waiting = [];
		for (const entry of waiting) {
			const key = conflictKey?.(entry.item);
			if (key !== undefined && keys.has(key)) later.push(entry);
			else {
				if (key !== undefined) keys.add(key);
				round.push(entry);
			}
		}
		const answers = await runOrSplit(
			round.map((e) => e.item),
			run,
		);
		round.forEach((entry, i) => (results[entry.index] = answers[i]));
		waiting = later;
	}
	return results;
}

async function runOrSplit<I, O>(items: I[], run: (items: I[]) => Promise<O[]>): Promise<(O | Error)[]> {
	try {
		return await run(items);
	} catch (err) {
		if (items.length === 1) return [err as Error];
		return Promise.all(
			items.map((item) =>
				run([item]).then(
					([answer]) => answer,
					(e: Error) => e,
				),
			),
		);
	}
}
