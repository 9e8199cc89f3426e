import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../src/domain/chat-model.js";
import { OFFLINE_NOTICE, OfflineModel, offlineReply } from "../../src/domain/offline-model.js";
import { buildPrompt } from "../../src/domain/prompt.js";

const agnes = {
	name: "Agnes Thorne",
	system_prompt: "You keep the Skerry Light.",
	greeting: "Evening, and mind the gulls. They bite.",
	description: "",
};

const prompt = (content: string, character = agnes): ChatMessage[] =>
	buildPrompt(character, [{ id: "m1", role: "user", content }], "ada");

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
	const chunks: string[] = [];
	for await (const chunk of stream) chunks.push(chunk);
	return chunks;
}

describe("OfflineModel", () => {
	const model = new OfflineModel();

	it("should be called offline", () => {
		expect(model.name).toBe("offline");
	});

	it("should answer the same prompt with the same reply", async () => {
		const first = (await collect(model.stream(prompt("Will it storm tonight?")))).join("");
		const second = (await collect(new OfflineModel().stream(prompt("Will it storm tonight?")))).join("");
		expect(second).toBe(first);
	});

	it("should answer in character: the name and the user's words, without repeating the greeting", () => {
		const reply = offlineReply(prompt("Will it storm tonight?"));
		expect(reply.startsWith("Agnes Thorne ")).toBe(true);
		expect(reply).toContain('"Will it storm tonight?');
		expect(reply).not.toContain("mind the gulls");
	});

	it("should word a regeneration differently from every earlier variant", () => {
		const messages = prompt("Will it storm tonight?");
		const variants = Array.from({ length: 5 }, (_, v) => offlineReply(messages, v));
		expect(new Set(variants).size).toBe(5);
		expect(new Set(variants.map((r) => r.split(".")[0])).size).toBe(5);
	});

	it("should vary from turn to turn, even when the user repeats themselves", () => {
		const history = (turns: number) =>
			Array.from({ length: turns }, (_, i) => [
				{ id: `u${i}`, role: "user" as const, content: "And then?" },
				{ id: `a${i}`, role: "ai" as const, content: "Something." },
			])
				.flat()
				.slice(0, -1);
		const replies = [1, 2, 3, 4, 5, 6].map((turns) => offlineReply(buildPrompt(agnes, history(turns), "ada")));
		expect(new Set(replies).size).toBeGreaterThanOrEqual(4);
	});

	it("should stream a regeneration as its own variant", async () => {
		const messages = prompt("Go on.");
		expect((await collect(model.stream(messages, { variant: 2 }))).join("")).toBe(offlineReply(messages, 2));
	});

	it("should say plainly that it is an offline model", () => {
		expect(offlineReply(prompt("Are you real?")).endsWith(OFFLINE_NOTICE)).toBe(true);
		expect(OFFLINE_NOTICE).toContain("offline model");
	});

	it("should quote only the start of a long message, on one line", () => {
		const reply = offlineReply(prompt(`first line\n${"word ".repeat(100)}`));
		expect(reply).toContain('"first line word');
		expect(reply).toContain("…");
		expect(reply).not.toContain("\n");
		expect(reply.length).toBeLessThan(300);
	});

	it("should stream word by word, chunks concatenating to the whole reply", async () => {
		const messages = prompt("Tell me about the lens.");
		const chunks = await collect(model.stream(messages));
		expect(chunks.length).toBeGreaterThan(5);
		expect(chunks.join("")).toBe(offlineReply(messages));
		for (const chunk of chunks) expect(chunk).toMatch(/^\S+\s*$/);
	});

	it("should stop early when aborted", async () => {
		const controller = new AbortController();
		const chunks: string[] = [];
		const run = async () => {
			for await (const chunk of new OfflineModel({ chunkDelayMs: 1 }).stream(prompt("Go on."), {
				signal: controller.signal,
			})) {
				chunks.push(chunk);
				if (chunks.length === 2) controller.abort();
			}
		};
		await expect(run()).rejects.toMatchObject({ name: "AbortError" });
		expect(chunks).toHaveLength(2);
	});

	it("should not start when already aborted", async () => {
		await expect(collect(model.stream(prompt("Hi"), { signal: AbortSignal.abort() }))).rejects.toMatchObject({
			name: "AbortError",
		});
	});
});
