/**
 * The web client's revision of the story: what it has applied of the session's changes in place (edits, rewinds,
 * swipe choices, continued replies), so that a socket that resumes knows whether it missed some, and frames already
 * shown by a reloaded history are not applied again.
 */
import { describe, expect, it } from "vitest";
import {
	chatReducer,
	emptyChat,
	missedChanges,
	type ChatAction,
	type ChatState,
	type HistoryMessage,
} from "../../web/src/chat/state.js";
import type { ConnectionFrame, ServerFrame } from "../../src/domain/chat-frames.js";

const T = "2026-12-07T09:00:00.000Z";
const LATER = "2026-12-07T09:05:00.000Z";
const EARLIER = "2026-12-07T08:00:00.000Z";

const run = (state: ChatState, ...actions: ChatAction[]): ChatState => actions.reduce(chatReducer, state);
const frame = (f: ServerFrame): ChatAction => ({ type: "frame", frame: f });
const connection = (revision: number, resumed = true): ConnectionFrame => ({
	type: "connection",
	message: "Connected to chat",
	session_id: "s1",
	username: "robin",
	character_id: "c1",
	character_name: "Odile",
	model: "offline",
	resumed,
	revision,
});
const user = (id: string, content = `said ${id}`, timestamp = T): HistoryMessage => ({
	id,
	role: "user",
	content,
	reply_to: null,
	reply_status: "replied",
	timestamp,
});
const edited = (id: string, content: string, revision: number, edited_at = LATER): ChatAction =>
	frame({ type: "message.edited", id, content, edited_at, revision });

// The history as loaded at revision 3: u1, u2.
const loaded = run(emptyChat, {
	type: "history",
	messages: [user("u1"), user("u2")],
	hasMore: false,
	older: false,
	revision: 3,
});

describe("web chat revision", () => {
	it("should start from the revision of the history it loaded, or of a new chat's first connection", () => {
		expect(loaded.revision).toBe(3);
		expect(missedChanges(loaded, connection(3))).toBe(false);
		expect(missedChanges(loaded, connection(4))).toBe(true);
		const fresh = run(emptyChat, frame(connection(2, false)));
		expect(fresh.revision).toBe(2);
		expect(missedChanges(fresh, connection(2))).toBe(false);
	});

	it("should count each change it applies, and know it missed one when a revision never came", () => {
		const next = run(loaded, edited("u1", "one", 4), edited("u2", "two", 5));
		expect(next.revision).toBe(5);
		expect(missedChanges(next, connection(5))).toBe(false);
		// 6 was missed (the socket was closed), 7 arrived: still only 5 in full.
		const gap = run(next, frame({ type: "variant.selected", reply_to: "u1", id: "a1", variant: 0, revision: 7 }));
		expect(gap.revision).toBe(5);
		expect(missedChanges(gap, connection(7))).toBe(true);
		// Frames that come out of order still count once every revision up to them is in.
		const caught = run(gap, frame({ type: "messages.deleted", ids: ["u2"], revision: 6 }));
		expect(caught.revision).toBe(7);
		expect(caught.revisionsAhead).toEqual([]);
	});

	it("should ignore a change the reloaded history already shows", () => {
		const reloaded = run(loaded, {
			type: "resync",
			messages: [user("u1", "reloaded text")],
			hasMore: false,
			known: ["u1", "u2"],
			revision: 8,
		});
		expect(reloaded.revision).toBe(8);
		expect(reloaded.order).toEqual(["u1"]);
		// Sent before the reload was read: already in it. A later one is applied.
		expect(run(reloaded, edited("u1", "older text", 6))).toBe(reloaded);
		expect(run(reloaded, frame({ type: "messages.deleted", ids: ["u1"], revision: 8 }))).toBe(reloaded);
		expect(run(reloaded, edited("u1", "newer text", 9)).byId.u1.content).toBe("newer text");
	});

	it("should not take a message back to an older text when it is replayed", () => {
		const edit = run(loaded, edited("u1", "edited", 4));
		const replayed = run(edit, frame({ type: "echo", role: "user", id: "u1", content: "said u1", timestamp: T }));
		expect(replayed.byId.u1).toMatchObject({ content: "edited", edited_at: LATER });
		const newer = "2026-12-07T09:10:00.000Z";
		const again = frame({
			type: "echo",
			role: "user",
			id: "u1",
			content: "edited again",
			timestamp: T,
			edited_at: newer,
		});
		expect(run(edit, again).byId.u1).toMatchObject({ content: "edited again", edited_at: newer });
	});

	it("should leave out a replayed message older than everything shown (it belongs to an older page)", () => {
		const old = frame({ type: "echo", role: "user", id: "u0", content: "long ago", timestamp: EARLIER });
		expect(run(loaded, old).order).toEqual(["u1", "u2"]);
		const live = frame({ type: "echo", role: "user", id: "u3", content: "now", timestamp: LATER });
		expect(run(loaded, live).order).toEqual(["u1", "u2", "u3"]);
	});
});
