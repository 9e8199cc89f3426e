import { describe, expect, it } from "vitest";
import { parseClientFrame, serializeFrame, type ServerFrame } from "../../src/domain/chat-wire.js";

const id = "6f1d1a52-3c1e-4c9e-9a55-5b8f2f1f0a11";
const parse = (frame: unknown, max = 20) => parseClientFrame(JSON.stringify(frame), false, max);
const refusal = (frame: unknown, max = 20) => {
	const result = parse(frame, max);
	return result.ok ? "accepted" : result.error.code;
};

describe("parseClientFrame: edit", () => {
	it("should accept a message id and trimmed content", () => {
		expect(parse({ type: "edit", id, content: "  New text \n" })).toStrictEqual({
			ok: true,
			frame: { type: "edit", id, content: "New text" },
		});
	});

	it("should check the content exactly like a message's: non-empty, not too long, no NUL", () => {
		expect(refusal({ type: "edit", id, content: " \t\n" })).toBe("empty_content");
		expect(refusal({ type: "edit", id, content: "x".repeat(21) })).toBe("content_too_long");
		expect(refusal({ type: "edit", id, content: ` ${"x".repeat(20)} ` })).toBe("accepted");
		expect(refusal({ type: "edit", id, content: "a\u0000b" })).toBe("invalid_message");
		for (const message of [{ content: " " }, { content: "x".repeat(21) }, { content: "a\u0000b" }]) {
			expect(refusal({ type: "edit", id, ...message })).toBe(refusal(message));
		}
	});

	it("should refuse an id that is not a UUID and content that is not a string", () => {
		for (const bad of [undefined, "", "m1", 42, [id], { id }, `${id} `]) {
			expect(refusal({ type: "edit", id: bad, content: "Hi" })).toBe("invalid_message");
		}
		for (const bad of [undefined, 42, null, ["Hi"], { text: "Hi" }]) {
			expect(refusal({ type: "edit", id, content: bad })).toBe("invalid_message");
		}
	});
});

describe("parseClientFrame: select_variant", () => {
	it("should accept a reply id, and nothing else", () => {
		expect(parse({ type: "select_variant", id, extra: 1 })).toStrictEqual({
			ok: true,
			frame: { type: "select_variant", id },
		});
		for (const bad of [undefined, "", "r1", 7, null, [id]]) {
			expect(refusal({ type: "select_variant", id: bad })).toBe("invalid_message");
		}
	});
});

describe("serializeFrame: de-duplication keys", () => {
	const timestamp = new Date(0).toISOString();
	const ai: ServerFrame = { type: "ai", role: "ai", id, reply_to: null, variant: 0, content: "Hello", timestamp };
	const key = (frame: ServerFrame) => serializeFrame(frame).id;

	it("should key a message's echo, reply and deltas by its id", () => {
		expect(key({ type: "echo", role: "user", id, content: "Hi", timestamp })).toBe(id);
		expect(key(ai)).toBe(id);
		expect(key({ type: "ai.delta", id, reply_to: null, variant: 0, delta: "He" })).toBe(id);
	});

	it("should key a continued reply by its revision, its deltas apart from the reply's, and an edit by its time", () => {
		expect(key({ ...ai, continued: true, content: "Hello there", revision: 3 })).toBe(`${id}@r3`);
		expect(key({ ...ai, continued: true, content: "Hello there", revision: 4 })).toBe(`${id}@r4`);
		expect(key({ ...ai, continued: true, content: "Hello there" })).toBe(`${id}@11`);
		expect(key({ type: "ai.delta", id, reply_to: null, variant: 0, delta: " th", continued: true })).toBe(
			`${id}@continue`,
		);
		const edited_at = "2026-12-07T10:00:00.000Z";
		expect(key({ type: "message.edited", id, content: "Hi", edited_at })).toBe(`${id}@${edited_at}`);
	});

	it("should give no key to news that must always arrive", () => {
		const always: ServerFrame[] = [
			{ type: "messages.deleted", ids: [id] },
			{ type: "variant.selected", reply_to: id, id, variant: 1 },
			{ type: "impersonation.delta", delta: "I" },
			{ type: "impersonation", content: "I wave." },
			{ type: "error", code: "reply_in_progress", message: "Wait", reply_to: id },
		];
		for (const frame of always) expect(key(frame)).toBeUndefined();
	});
});
