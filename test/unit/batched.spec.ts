import { describe, expect, it } from "vitest";
import { setImmediate as nextTurn } from "node:timers/promises";
import { batched } from "../../src/adapters/batched.js";

/** A batched doubler that records the batches it ran; items below zero make a whole batch fail. */
function doubler(options: { maxBatchSize?: number; maxConcurrent?: number; conflictKey?: (n: number) => string } = {}) {
	const batches: number[][] = [];
	const double = batched(
		async (items: number[]) => {
			batches.push(items);
			if (items.some((n) => n < 0)) throw new Error(`negative in [${items.join(", ")}]`);
			return items.map((n) => n * 2);
		},
		{
			maxBatchSize: options.maxBatchSize ?? 100,
			maxConcurrent: options.maxConcurrent ?? 100,
			conflictKey: options.conflictKey,
		},
	);
	return { double, batches };
}

describe("batched", () => {
	it("runs the calls of one turn as one batch and answers each caller with its own result", async () => {
		const { double, batches } = doubler();
		await expect(Promise.all([1, 2, 3].map(double))).resolves.toEqual([2, 4, 6]);
		expect(batches).toEqual([[1, 2, 3]]);
	});

	it("joins calls made from separate callbacks of one turn, as socket events are", async () => {
		const { double, batches } = doubler();
		const results = await new Promise<number[]>((resolve) => {
			const pending: Promise<number>[] = [];
			// Two timers due at once fire in one timers phase, each a callback of its own.
			setTimeout(() => pending.push(double(1)), 1);
			setTimeout(() => {
				pending.push(double(2));
				void Promise.all(pending).then(resolve);
			}, 1);
		});
		expect(results).toEqual([2, 4]);
		expect(batches).toEqual([[1, 2]]);
	});

	it("runs a call of a later turn in a batch of its own", async () => {
		const { double, batches } = doubler();
		const first = double(1);
		await nextTurn();
		await nextTurn();
		const second = double(2);
		expect(await Promise.all([first, second])).toEqual([2, 4]);
		expect(batches).toEqual([[1], [2]]);
	});

	it("splits batches at the maximum size", async () => {
		const { double, batches } = doubler({ maxBatchSize: 2 });
		await Promise.all([1, 2, 3, 4, 5].map(double));
		expect(batches).toEqual([[1, 2], [3, 4], [5]]);
	});

	it("fails only the bad item when a batch fails", async () => {
		const { double, batches } = doubler();
		const results = await Promise.allSettled([1, -1, 3].map(double));
		expect(results.map((r) => (r.status === "fulfilled" ? r.value : "failed"))).toEqual([2, "failed", 6]);
		expect(batches).toEqual([[1, -1, 3], [1], [-1], [3]]);
	});

	it("runs items with the same conflict key in successive batches, in call order", async () => {
		const { double, batches } = doubler({ conflictKey: (n) => String(n % 10) });
		await expect(Promise.all([1, 11, 2, 21, 3].map(double))).resolves.toEqual([2, 22, 4, 42, 6]);
		expect(batches).toEqual([[1, 2, 3], [11], [21]]);
	});

	it("lets calls wait in the next batch while the maximum of batches runs, then runs them together", async () => {
		const batches: number[][] = [];
		let finish: (() => void)[] = [];
		const slow = batched(
			async (items: number[]) => {
				batches.push(items);
				await new Promise<void>((resolve) => finish.push(resolve));
				return items;
			},
			{ maxBatchSize: 100, maxConcurrent: 1 },
		);
		const first = slow(1);
		await nextTurn();
		await nextTurn();
		const later = [2, 3, 4].map((n) => slow(n));
		await nextTurn();
		await nextTurn();
		// The first batch still runs: the others wait, together.
		expect(batches).toEqual([[1]]);
		const release = () => {
			const pending = finish;
			finish = [];
			pending.forEach((resolve) => resolve());
		};
		release();
		await first;
		await nextTurn();
		expect(batches).toEqual([[1], [2, 3, 4]]);
		release();
		await expect(Promise.all(later)).resolves.toEqual([2, 3, 4]);
	});
});
