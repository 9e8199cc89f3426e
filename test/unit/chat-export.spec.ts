import { describe, expect, it } from "vitest";
import {
	ChatImportError,
	MAX_EXTRA_DEPTH,
	exportFileName,
	groupTurns,
	parseChatFile,
	parseSendDate,
	toCameoExport,
	toSillyTavernJsonl,
	type ChatNames,
	type StoredChatMessage,
} from "../../src/domain/chat-export.js";
import { messageRows } from "../../src/adapters/chat-transfer-store.js";
import { replyId } from "../../src/domain/chat-wire.js";

const limits = { maxMessages: 100 };
const jsonl = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n");

function refusal(text: string, max = limits.maxMessages): ChatImportError {
	try {
		parseChatFile(text, { maxMessages: max });
	} catch (err) {
		if (err instanceof ChatImportError) return err;
		throw err;
	}
	throw new Error("the file was read");
}

describe("parseSendDate", () => {
	it("should read the three forms SillyTavern versions wrote", () => {
		expect(parseSendDate("2026-11-24T20:44:09.156Z")?.toISOString()).toBe("2026-11-24T20:44:09.156Z");
		expect(parseSendDate("November 24, 2026 8:44pm")?.toISOString()).toBe("2026-11-24T20:44:00.000Z");
		expect(parseSendDate("November 24, 2026 12:05am")?.toISOString()).toBe("2026-11-24T00:05:00.000Z");
		expect(parseSendDate(1795552449156)?.toISOString()).toBe("2026-11-24T20:34:09.156Z");
		expect(parseSendDate("1795552449156")?.toISOString()).toBe("2026-11-24T20:34:09.156Z");
		expect(parseSendDate("2026-11-24@20h44m09s")?.toISOString()).toBe("2026-11-24T20:44:09.000Z");
		expect(parseSendDate("2023-5-14 @16h 22m 10s 123ms")?.toISOString()).toBe("2023-05-14T16:22:10.123Z");
	});

	it("should give null for what is no date", () => {
		for (const value of [
			"",
			"yesterday",
			"February 31, 2026 8:44pm",
			"November 24, 2026 13:44pm",
			NaN,
			1e20,
			null,
			{},
			"x".repeat(100),
		])
			expect(parseSendDate(value)).toBeNull();
	});
});

describe("parseChatFile (SillyTavern)", () => {
	const header = {
		user_name: "unused",
		character_name: "unused",
		create_date: "2026-11-24@20h44m09s",
		chat_metadata: { note_prompt: "x" },
	};

	it("should read swipes, skip system lines, keep unknown data, and take every date form", () => {
		const chat = parseChatFile(
			jsonl(
				header,
				{
					name: "Agnes",
					is_user: false,
					is_system: false,
					send_date: "November 24, 2026 8:44pm",
					mes: "Hello there",
					extra: {},
				},
				{ name: "Ann", is_user: true, is_system: false, send_date: 1795552449156, mes: "Hi", extra: { bias: "b" } },
				{ name: "System", is_user: false, is_system: true, send_date: "2026-11-24T20:45:00.000Z", mes: "/sys note" },
				{
					name: "Agnes",
					is_user: false,
					send_date: "2026-11-24T20:46:00.000Z",
					mes: "Second",
					swipe_id: 1,
					swipes: ["First", "Second", "Third"],
					swipe_info: [{ send_date: "2026-11-24T20:45:30.000Z", extra: {} }, {}, {}],
					extra: { api: "openai", model: "m" },
					force_avatar: "a.png",
				},
			),
			limits,
		);
		expect(chat.chat_metadata).toEqual({ note_prompt: "x" });
		expect(chat.turns.map((t) => t.role)).toEqual(["ai", "user", "ai"]);
		expect(chat.turns[0].variants[0].created_at.toISOString()).toBe("2026-11-24T20:44:00.000Z");
		expect(chat.turns[1].variants[0].created_at.toISOString()).toBe("2026-11-24T20:34:09.156Z");
		expect(chat.turns[1].leftover).toEqual({ name: "Ann", extra: { bias: "b" } });
		const reply = chat.turns[2];
		expect(reply.variants.map((v) => v.content)).toEqual(["First", "Second", "Third"]);
		expect(reply.active).toBe(1);
		expect(reply.variants[0].created_at.toISOString()).toBe("2026-11-24T20:45:30.000Z");
		expect(reply.leftover).toMatchObject({
			force_avatar: "a.png",
			swipe_info: [{}, {}, {}].map((_, i) => (i === 0 ? expect.anything() : {})),
		});
	});

	it("should read the minimal form other apps write, without a header or a final newline", () => {
		const chat = parseChatFile(jsonl({ mes: "Hi", is_user: true }, { mes: "Hello" }), limits);
		expect(chat.turns.map((t) => [t.role, t.variants[0].content])).toEqual([
			["user", "Hi"],
			["ai", "Hello"],
		]);
		expect(parseChatFile(`${jsonl(header, { mes: "a", is_user: true })}\r\n\r\n`, limits).turns).toHaveLength(1);
	});

	it("should name the line at fault", () => {
		const bad = refusal(`${JSON.stringify(header)}\n{"mes":"ok"}\n{"mes": oops}`);
		expect([bad.problem, bad.line]).toEqual(["malformed", 3]);
		expect(bad.message).toContain("Line 3");
		expect(refusal(jsonl(header, { mes: 42 })).line).toBe(2);
		expect(refusal(jsonl(header, { mes: "x", is_user: "yes" })).line).toBe(2);
		expect(refusal(jsonl(header, { mes: "x", swipes: ["a"], swipe_id: 4 })).line).toBe(2);
		expect(refusal(jsonl(header, [1, 2])).line).toBe(2);
		expect(refusal(`${JSON.stringify(header)}\n{"mes":"a\\u0000b"}`).line).toBe(2);
	});

	it("should refuse deep nesting, empty files and too many lines", () => {
		let deep: unknown = "x";
		for (let i = 0; i < MAX_EXTRA_DEPTH + 5; i++) deep = { d: deep };
		expect(refusal(jsonl(header, { mes: "x", extra: deep })).line).toBe(2);
		expect(refusal("   \n\n").problem).toBe("empty");
		expect(refusal(JSON.stringify(header)).problem).toBe("empty");
		expect(refusal(jsonl(header, { mes: "a" }, { mes: "b" }, { mes: "c" }), 2).problem).toBe("too_large");
		// 100,000 lines are refused by counting, before any is parsed.
		const started = performance.now();
		expect(refusal(`${JSON.stringify(header)}\n${'{"mes":"x"}\n'.repeat(100_000)}`).problem).toBe("too_large");
		expect(performance.now() - started).toBeLessThan(1000);
	});

	it("should make lone surrogates storable", () => {
		const chat = parseChatFile('{"mes":"a\\ud800b"}', limits);
		expect(chat.turns[0].variants[0].content).toBe("a\ufffdb");
	});
});

function stored(
	partial: Partial<StoredChatMessage> & Pick<StoredChatMessage, "id" | "role" | "content">,
): StoredChatMessage {
	return {
		reply_to: null,
		character_id: "c1",
		username: "ann",
		variant: 0,
		active: true,
		stopped: false,
		model: null,
		created_at: new Date("2026-11-24T20:44:00.000Z"),
		edited_at: null,
		pinned_at: null,
		speaker: null,
		extra: null,
		...partial,
	};
}

describe("export", () => {
	const names: ChatNames = { user: "Ann", character: "Agnes", characters: new Map([["c1", "Agnes"]]) };
	const oneCharacter = { characterId: "c1", room: null };
	const messages = [
		stored({ id: "g", role: "ai", content: "Welcome" }),
		stored({ id: "u", role: "user", content: "Hi" }),
		stored({ id: "r0", role: "ai", content: "One", reply_to: "u", active: false }),
		stored({ id: "r1", role: "ai", content: "Two", reply_to: "u", variant: 1 }),
	];

	it("should write SillyTavern's lines, a reply's variants as swipes, no newline at the end", () => {
		const text = toSillyTavernJsonl(
			{ created_at: new Date("2026-11-24T20:44:09Z"), chat_metadata: null },
			messages,
			names,
		);
		expect(text.endsWith("\n")).toBe(false);
		const [head, ...lines] = text.split("\n").map((l) => JSON.parse(l));
		expect(head).toEqual({
			user_name: "Ann",
			character_name: "Agnes",
			create_date: "2026-11-24@20h44m09s",
			chat_metadata: {},
		});
		expect(lines[0]).toEqual({
			name: "Agnes",
			is_user: false,
			is_system: false,
			send_date: "2026-11-24T20:44:00.000Z",
			mes: "Welcome",
			extra: {},
		});
		expect(lines[1]).toMatchObject({ name: "Ann", is_user: true, mes: "Hi" });
		expect(lines[2]).toMatchObject({ mes: "Two", swipe_id: 1, swipes: ["One", "Two"] });
		expect(lines).toHaveLength(3);
	});

	it("should give back what it reads: the same lines after a round trip through the import's rows", () => {
		const text = toSillyTavernJsonl({ created_at: new Date(0), chat_metadata: { a: 1 } }, messages, names);
		const rows = [...messageRows(parseChatFile(text, limits), oneCharacter)];
		expect(rows.map((r) => [r.role, r.content, r.variant, r.active, r.reply_status])).toEqual([
			["ai", "Welcome", 0, true, "none"],
			["user", "Hi", 0, true, "replied"],
			["ai", "One", 0, false, "none"],
			["ai", "Two", 1, true, "none"],
		]);
		expect(rows[2].id).toBe(replyId(rows[1].id, 0));
		expect(rows[3].id).toBe(replyId(rows[1].id, 1));
		const again = rows.map((r) => stored({ ...r, pinned_at: null, username: "ann", character_id: "c1" }));
		expect(toSillyTavernJsonl({ created_at: new Date(0), chat_metadata: { a: 1 } }, again, names)).toBe(text);
	});

	it("should keep a reply with no message before it, and a user message left unanswered, away from the model", () => {
		const rows = [
			...messageRows(
				parseChatFile(jsonl({ mes: "a" }, { mes: "b", swipes: ["b", "c"] }, { mes: "q", is_user: true }), limits),
				oneCharacter,
			),
		];
		expect(rows.map((r) => [r.role, r.reply_to, r.reply_status])).toEqual([
			["ai", null, "none"],
			["ai", null, "none"],
			["user", null, "none"],
		]);
		expect(rows[1].extra).toEqual({ swipes: ["b", "c"], swipe_id: 0 });
	});

	it("should write cameo's form with every variant and read it back to the same turns", () => {
		const file = toCameoExport(
			{
				id: "s",
				title: "T",
				created_at: new Date(0),
				character_id: "c1",
				persona: null,
				lorebook_ids: [],
				summary_base: "So far",
				summary: null,
				reply_mode: null,
				members: [],
				chat_metadata: null,
			},
			[messages[0], messages[1], messages[3], messages[2]],
			names,
		);
		expect(file).toMatchObject({ format: "cameo.chat", version: 1 });
		const chat = parseChatFile(JSON.stringify(file, null, 2), limits);
		expect(chat).toMatchObject({ format: "cameo", title: "T", summary: "So far" });
		expect(chat.turns[2].variants.map((v) => v.content)).toEqual(["One", "Two"]);
		expect(chat.turns[2].active).toBe(1);
		expect(groupTurns(messages).map((t) => t.map((m) => m.id))).toEqual([["g"], ["u"], ["r0", "r1"]]);
	});

	it("should read a room's export back as a room: each reply its character's, each message its speaker's", () => {
		const cast: ChatNames = {
			user: "Ann",
			character: "Agnes",
			characters: new Map([
				["c1", "Agnes"],
				["c2", "Bram"],
			]),
		};
		const room = [
			stored({ id: "g1", role: "ai", content: "I am Agnes" }),
			stored({ id: "g2", role: "ai", content: "I am Bram", character_id: "c2" }),
			stored({ id: "u", role: "user", content: "Hello both", username: "bo", speaker: "Bo" }),
			stored({ id: "a0", role: "ai", content: "Hi Bo", reply_to: "u", active: false }),
			stored({ id: "a1", role: "ai", content: "Hello Bo", reply_to: "u", variant: 1 }),
			stored({ id: "b0", role: "ai", content: "Evening", reply_to: "u", character_id: "c2" }),
			stored({ id: "u2", role: "user", content: "Bye" }),
		];
		const session = {
			id: "s",
			title: null,
			created_at: new Date(0),
			character_id: "c1",
			persona: null,
			lorebook_ids: [],
			summary_base: null,
			summary: null,
			reply_mode: "all",
			members: [],
			chat_metadata: null,
		};
		const chat = parseChatFile(JSON.stringify(toCameoExport(session, room, cast)), limits);
		expect(chat.room).toEqual({ character_ids: ["c1", "c2"], reply_mode: "all" });
		const rows = [...messageRows(chat, { characterId: "c1", room: { characterIds: ["c1", "c2"], replyMode: "all" } })];
		expect(
			rows.map((r) => [r.role, r.character_id, r.content, r.variant, r.active, r.speaker, r.reply_status]),
		).toEqual([
			["ai", "c1", "I am Agnes", 0, true, null, "none"],
			["ai", "c2", "I am Bram", 0, true, null, "none"],
			["user", "c1", "Hello both", 0, true, "Bo", "replied"],
			["ai", "c1", "Hi Bo", 0, false, null, "none"],
			["ai", "c1", "Hello Bo", 1, true, null, "none"],
			["ai", "c2", "Evening", 2, true, null, "none"],
			["user", "c1", "Bye", 0, true, "Ann", "none"],
		]);
		expect(rows.slice(3, 6).map((r) => r.reply_to)).toEqual([rows[2].id, rows[2].id, rows[2].id]);
		expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);

		// Bram left out of the new cast (the importer may not see him): his lines are Agnes's, standing alone.
		const narrowed = [...messageRows(chat, { characterId: "c1", room: { characterIds: ["c1"], replyMode: "all" } })];
		expect(narrowed.map((r) => [r.character_id, r.reply_to === null])).toEqual([
			["c1", true],
			["c1", true],
			["c1", true],
			["c1", false],
			["c1", false],
			["c1", true],
			["c1", true],
		]);
		expect(narrowed[5].extra).toMatchObject({ name: "Bram" });
		// A one-character import of the same file keeps no speakers.
		expect([...messageRows(chat, oneCharacter)].every((r) => r.speaker === null && r.character_id === "c1")).toBe(true);
	});

	it("should make safe download names", () => {
		expect(exportFileName('Agnes "Thorne"\r\n; x', new Date(0), "jsonl")).toBe("Agnes-Thorne-x-1970-01-01.jsonl");
		expect(exportFileName("林昭", new Date(0), "json")).toBe("chat-1970-01-01.json");
	});
});
