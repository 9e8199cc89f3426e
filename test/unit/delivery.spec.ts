import { describe, expect, it } from "vitest";
import { setImmediate as nextTurn } from "node:timers/promises";
import { coalescedDeltas } from "../../src/adapters/delivery.js";
import type { AiDeltaFrame } from "../../src/domain/chat-wire.js";

const delta = (text: string): AiDeltaFrame => ({ type: "ai.delta", id: "r1", reply_to: "u1", variant: 0, delta: text });

describe("coalescedDeltas", () => {
	it("sends the deltas of one turn as one frame, with their text in order", async () => {
		const sent: string[] = [];
		const stream = coalescedDeltas((frame) => sent.push(frame.json));
		for (const text of ["Hel", "lo", ", ", "world"]) stream.push(delta(text));
		expect(sent).toEqual([]);
		await nextTurn();
		expect(sent.map((f) => JSON.parse(f))).toEqual([delta("Hello, world")]);
	});

	it("sends deltas of later turns as frames of their own, so a slow stream still streams", async () => {
		const sent: string[] = [];
		const stream = coalescedDeltas((frame) => sent.push(frame.json));
		for (const text of ["one ", "two ", "three"]) {
			stream.push(delta(text));
			await nextTurn();
		}
		expect(sent.map((f) => (JSON.parse(f) as AiDeltaFrame).delta)).toEqual(["one ", "two ", "three"]);
	});

	it("does not change the frames it was given", async () => {
		const first = delta("a");
		const stream = coalescedDeltas(() => undefined);
		stream.push(first);
		stream.push(delta("b"));
		await nextTurn();
		expect(first.delta).toBe("a");
	});
});
