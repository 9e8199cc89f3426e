/** The web client's conversation state: how every frame of the story controls changes what the page shows. */
import { describe, expect, it } from "vitest";
import {
	chatItems,
	chatReducer,
	emptyChat,
	errorSentence,
	type ChatAction,
	type ChatState,
	type HistoryMessage,
} from "../../web/src/chat/state.js";
import { PendingEdits } from "../../web/src/chat/edits.js";
import type { ErrorFrame, ServerFrame } from "../../src/domain/chat-frames.js";

const T = "2026-12-07T09:00:00.000Z";

function run(state: ChatState, ...actions: ChatAction[]): ChatState {
	return actions.reduce(chatReducer, state);
}

const frame = (f: ServerFrame): ChatAction => ({ type: "frame", frame: f });
const connection: ServerFrame = {
	type: "connection",
	message: "Connected to chat",
	session_id: "s1",
	username: "robin",
	character_id: "c1",
	character_name: "Odile",
	model: "offline",
	resumed: true,
	revision: 0,
};
const user = (id: string, content = `said ${id}`): HistoryMessage => ({
	id,
	role: "user",
	content,
	reply_to: null,
	reply_status: "replied",
	timestamp: T,
});
const reply = (id: string, replyTo: string, variant = 0, active = true): HistoryMessage => ({
	id,
	role: "ai",
	content: `reply ${id}`,
	reply_to: replyTo,
	variant,
	active,
	timestamp: T,
});
const history = (...messages: HistoryMessage[]): ChatAction => ({
	type: "history",
	messages,
	hasMore: false,
	older: false,
});

/** What a person sees: each row's shown text, in order. */
function shown(state: ChatState): string[] {
	return chatItems(state).map((item) => (item.kind === "user" ? item.message : item.variants[item.index]).content);
}

// u1 → a1 (variants a1, a1b; a1 active), u2 → a2
const story = run(
	emptyChat,
	history(user("u1"), reply("a1", "u1", 0, true), reply("a1b", "u1", 1, false), user("u2"), reply("a2", "u2")),
);

describe("web chat state", () => {
	it("should show the active variant from the history, not the newest", () => {
		expect(shown(story)).toEqual(["said u1", "reply a1", "said u2", "reply a2"]);
	});

	it("should replace the text of an edited message and mark it edited", () => {
		const next = run(story, frame({ type: "message.edited", id: "a1", content: "better", edited_at: T }));
		expect(next.byId.a1).toMatchObject({ content: "better", edited_at: T });
		expect(shown(next)[1]).toBe("better");
		expect(run(story, frame({ type: "message.edited", id: "nope", content: "x", edited_at: T }))).toBe(story);
	});

	it("should remove rewound messages and keep a late frame of theirs from bringing them back", () => {
		const failed = run(story, frame({ type: "error", code: "ai_unavailable", message: "down", reply_to: "u2" }));
		expect(failed.failures.u2).toBe("down");
		const next = run(failed, frame({ type: "messages.deleted", ids: ["u2", "a2"] }));
		expect(next.order).toEqual(["u1", "a1", "a1b"]);
		expect(next.failures).toEqual({});
		const late = run(
			next,
			frame({ type: "ai.delta", id: "a3", reply_to: "u2", variant: 1, delta: "late" }),
			frame({ type: "ai", role: "ai", id: "a2", content: "late", reply_to: "u2", variant: 0, timestamp: T }),
			frame({ type: "echo", role: "user", id: "u2", content: "again", timestamp: T }),
		);
		expect(late.order).toEqual(["u1", "a1", "a1b"]);
	});

	it("should show a reply made again under the id of a rewound one", () => {
		const rewound = run(story, frame({ type: "messages.deleted", ids: ["a2"] }));
		const later = "2026-12-07T09:05:00.000Z";
		const again = (f: ChatState) =>
			run(
				f,
				frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: "anew" }),
				frame({ type: "ai", role: "ai", id: "a2", content: "anew!", reply_to: "u2", variant: 0, timestamp: later }),
			);
		// Asked for here: streamed as usual.
		const asked = run(
			rewound,
			{ type: "regenerate", replyTo: "u2" },
			frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: "an" }),
		);
		expect(asked.byId.a2).toMatchObject({ content: "an", streaming: true });
		// Asked for on another device: its deltas look like the deleted reply's, its stored reply does not.
		expect(again(rewound).byId.a2).toMatchObject({ content: "anew!", streaming: false });
		expect(again(rewound).deleted).toEqual({});
		const replayed = run(
			rewound,
			frame({ type: "ai", role: "ai", id: "a2", content: "reply a2", reply_to: "u2", variant: 0, timestamp: T }),
		);
		expect(replayed.order).toEqual(["u1", "a1", "a1b", "u2"]);
	});

	it("should keep the edit stored last when two devices' frames cross", () => {
		const later = "2026-12-07T09:05:00.000Z";
		const next = run(
			story,
			frame({ type: "message.edited", id: "u1", content: "second", edited_at: later }),
			frame({ type: "message.edited", id: "u1", content: "first", edited_at: T }),
		);
		expect(next.byId.u1).toMatchObject({ content: "second", edited_at: later });
	});

	it("should catch up after a reconnect with what was edited, rewound and chosen meanwhile", () => {
		const known = [...story.order];
		// Arrived on the socket after the page was asked for: not in it, and kept.
		const live = run(story, frame({ type: "echo", role: "user", id: "u3", content: "live", timestamp: T }));
		const page = [
			user("u1", "edited meanwhile"),
			reply("a1", "u1", 0, false),
			reply("a1b", "u1", 1, true),
			// u2 and a2 were rewound
		];
		const next = run(live, { type: "resync", messages: page, hasMore: false, known });
		expect(next.order).toEqual(["u1", "a1", "a1b", "u3"]);
		expect(shown(next)).toEqual(["edited meanwhile", "reply a1b", "live"]);
		// A late frame of a rewound message stays away.
		const late = run(
			next,
			frame({ type: "ai", role: "ai", id: "a2", content: "x", reply_to: "u2", variant: 0, timestamp: T }),
		);
		expect(late.order).toEqual(next.order);
	});

	it("should leave messages older than a resync's page, and a reply being continued, as they are", () => {
		const older = "2026-12-07T08:00:00.000Z";
		const withOld = run(story, {
			type: "history",
			messages: [{ ...user("u0", "long ago"), timestamp: older }],
			hasMore: false,
			older: true,
		});
		const continuing = run(
			withOld,
			frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: "+", continued: true }),
		);
		const page = [user("u2"), { ...reply("a2", "u2"), content: "stale" }];
		const next = run(continuing, { type: "resync", messages: page, hasMore: true, known: [...continuing.order] });
		expect(next.order).toEqual(continuing.order);
		expect(next.byId.u0?.content).toBe("long ago");
		expect(next.byId.a2).toMatchObject({ content: "reply a2+", streaming: true });
	});

	it("should end a reply being written when its message is rewound", () => {
		const writing = run(story, { type: "regenerate", replyTo: "u2" }, { type: "stop" });
		expect(writing.pending).toEqual({ replyTo: "u2" });
		const next = run(writing, frame({ type: "messages.deleted", ids: ["u2", "a2"] }));
		expect(next.pending).toBeNull();
		expect(next.stopSent).toBe(false);
	});

	it("should rewind locally like the server: a reply with its sibling variants and everything after", () => {
		expect(run(story, { type: "rewound", id: "a1b" }).order).toEqual(["u1"]);
		expect(run(story, { type: "rewound", id: "u2" }).order).toEqual(["u1", "a1", "a1b"]);
		const forgotten = run(story, { type: "rewound", id: "a1" });
		expect(forgotten.selected).toEqual({});
		expect(run(story, { type: "rewound", id: "unknown" }).order).toEqual(story.order);
	});

	it("should show the variant the server selected, and a new variant as it starts arriving", () => {
		const chosen = run(story, frame({ type: "variant.selected", reply_to: "u1", id: "a1b", variant: 1 }));
		expect(shown(chosen)[1]).toBe("reply a1b");
		const back = run(chosen, frame({ type: "variant.selected", reply_to: "u1", id: "a1", variant: 0 }));
		expect(shown(back)[1]).toBe("reply a1");
		const regenerated = run(back, frame({ type: "ai.delta", id: "a1c", reply_to: "u1", variant: 2, delta: "new" }));
		expect(shown(regenerated)[1]).toBe("new");
	});

	it("should append continued deltas to the finished reply, then take the longer text of its ai frame", () => {
		const asked = run(story, { type: "continue", id: "a2" });
		expect(asked.pending).toEqual({ continues: "a2" });
		const streaming = run(
			asked,
			frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: " and", continued: true }),
			frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: " more", continued: true }),
		);
		expect(streaming.byId.a2).toMatchObject({ content: "reply a2 and more", streaming: true });
		const done = run(
			streaming,
			frame({
				type: "ai",
				role: "ai",
				id: "a2",
				content: "reply a2 and more.",
				reply_to: "u2",
				variant: 0,
				timestamp: T,
				continued: true,
			}),
		);
		expect(done.byId.a2).toMatchObject({ content: "reply a2 and more.", streaming: false });
		expect(done.pending).toBeNull();
		expect(done.order).toEqual(story.order);
		const stopped = run(
			streaming,
			{ type: "stop" },
			frame({ type: "ai", role: "ai", id: "a2", content: "reply a2 and", reply_to: "u2", variant: 0, timestamp: T }),
		);
		expect(stopped).toMatchObject({ pending: null, stopSent: false });
	});

	it("should show another device's continue as writing, and a failed one as ended with the text it had", () => {
		const watching = run(
			story,
			frame({ type: "ai.delta", id: "a2", reply_to: "u2", variant: 0, delta: "!", continued: true }),
		);
		expect(watching.pending).toEqual({ continues: "a2" });
		const failed = run(watching, frame({ type: "error", code: "ai_unavailable", message: "down", reply_to: "a2" }));
		expect(failed.pending).toBeNull();
		expect(failed.byId.a2).toMatchObject({ content: "reply a2!", streaming: false });
		expect(failed.failures).toEqual({});
	});

	it("should fill the impersonation (never the transcript) and keep its final text", () => {
		const writing = run(
			story,
			{ type: "impersonate" },
			frame({ type: "impersonation.delta", delta: "I open" }),
			frame({ type: "impersonation.delta", delta: " the map" }),
		);
		expect(writing.impersonation).toEqual({ content: "I open the map", done: false });
		const done = run(writing, frame({ type: "impersonation", content: "I open the map." }));
		expect(done.impersonation).toEqual({ content: "I open the map.", done: true });
		expect(done.order).toEqual(story.order);
		const refused = run(writing, frame({ type: "error", code: "cannot_impersonate", message: "no model" }));
		expect(refused.impersonation).toBeNull();
		// The socket dropped: what was written is left to edit, not waited for.
		const reconnected = run(writing, frame(connection));
		expect(reconnected.impersonation).toEqual({ content: "I open the map", done: true });
	});

	it("should leave a reply being written alone when an edit or a choice of variant is refused", () => {
		const writing = run(story, { type: "regenerate", replyTo: "u2" });
		for (const code of ["reply_in_progress", "message_not_found", "cannot_select"] as const) {
			expect(run(writing, frame({ type: "error", code, message: "no" })).pending).toEqual({ replyTo: "u2" });
		}
		expect(
			run(story, { type: "continue", id: "a2" }, frame({ type: "error", code: "cannot_continue", message: "no" }))
				.pending,
		).toBeNull();
	});

	it("should say the story controls' refusals as sentences", () => {
		expect(errorSentence({ type: "error", code: "reply_in_progress", message: "Reply in progress" })).toMatch(
			/still being written/,
		);
		expect(errorSentence({ type: "error", code: "invalid_message", message: "Content is required" })).toBe(
			"Content is required",
		);
	});
});

describe("web chat pending edits", () => {
	const refusal = (code: ErrorFrame["code"], extra: Partial<ErrorFrame> = {}): ErrorFrame => ({
		type: "error",
		code,
		message: "no",
		...extra,
	});

	it("should settle an edit when its message shows it, and the oldest waiting one when an edit is refused", async () => {
		const edits = new PendingEdits();
		const settled: string[] = [];
		for (const id of ["m1", "m2", "m3"]) void edits.add(id).then((saved) => settled.push(`${id} ${saved}`));
		const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
		edits.edited("m2");
		// Not an edit's refusal: a failed reply, a quota.
		edits.refused(refusal("ai_unavailable", { reply_to: "u1" }));
		edits.refused(refusal("quota_exceeded"));
		await flush();
		expect(settled).toEqual(["m2 true"]);
		edits.refused(refusal("reply_in_progress"));
		await flush();
		expect(settled).toEqual(["m2 true", "m1 false"]);
		edits.dropAll();
		await flush();
		expect(settled).toEqual(["m2 true", "m1 false", "m3 false"]);
	});
});
