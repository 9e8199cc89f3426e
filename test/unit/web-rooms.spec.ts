/**
 * The web client's rooms, without a browser: other people's messages and several characters' replies in the
 * conversation state, presence and "is typing…", whose line is whose, the pace of typing frames, a removal told apart
 * from a disabled account, and the room and invite addresses.
 */
import { describe, expect, it } from "vitest";
import {
	chatItems,
	chatReducer,
	emptyChat,
	streamingReply,
	type ChatAction,
	type ChatState,
} from "../../web/src/chat/state.js";
import {
	castSpeaker,
	inviteUsesText,
	isMine,
	presenceOf,
	senderName,
	TypingSignal,
	typingAt,
	typingDone,
	typingFrom,
	typingText,
	TYPING_EVERY_MS,
	TYPING_SHOWN_MS,
} from "../../web/src/chat/room.js";
import { REMOVED_REASON, stopReason } from "../../web/src/chat/close-codes.js";
import { inviteLink, parseRoute, roomHash, sessionHash } from "../../web/src/routes.js";
import type { ServerFrame } from "../../src/domain/chat-frames.js";

const T = "2026-12-07T09:00:00.000Z";
const LATER = "2026-12-07T09:00:05.000Z";
const ROOM = "5f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
const frame = (f: ServerFrame): ChatAction => ({ type: "frame", frame: f });
const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);

const message = (id: string, username: string, persona: string | null = null): ServerFrame => ({
	type: "message",
	role: "user",
	id,
	username,
	persona,
	content: `${username} says ${id}`,
	timestamp: T,
});
const reply = (id: string, replyTo: string, characterId: string, variant = 0): ServerFrame => ({
	type: "ai",
	role: "ai",
	id,
	character_id: characterId,
	reply_to: replyTo,
	variant,
	content: `${characterId} answers ${replyTo}`,
	timestamp: LATER,
});

describe("web rooms: the conversation", () => {
	it("should show another person's message once, under their name, and not wait for a reply to it", () => {
		const state = run(
			emptyChat,
			frame(message("m1", "ana", "Captain Ana")),
			frame(message("m1", "ana", "Captain Ana")),
		);
		expect(state.order).toEqual(["m1"]);
		expect(state.byId.m1).toMatchObject({ role: "user", username: "ana", persona: "Captain Ana" });
		expect(state.pending).toBeNull();
		expect(isMine(state.byId.m1, "bo")).toBe(false);
		// Your own message from another tab comes as a `message` with your username.
		expect(isMine(state.byId.m1, "ANA")).toBe(true);
	});

	it("should keep each character's reply to one message in a row of its own, and a regeneration with its own", () => {
		const state = run(
			emptyChat,
			frame({ type: "echo", role: "user", id: "m1", content: "hello all", timestamp: T }),
			frame(reply("r1", "m1", "odile")),
			frame(reply("r2", "m1", "maud")),
			frame(reply("r3", "m1", "maud", 1)),
		);
		const rows = chatItems(state);
		expect(rows.map((r) => r.kind)).toEqual(["user", "ai", "ai"]);
		const [, odile, maud] = rows;
		expect(odile.kind === "ai" && odile.variants.map((v) => v.id)).toEqual(["r1"]);
		expect(maud.kind === "ai" && maud.variants.map((v) => v.id)).toEqual(["r2", "r3"]);
		expect(maud.kind === "ai" && maud.variants[maud.index].characterId).toBe("maud");
		expect(isMine(state.byId.m1, "bo")).toBe(true);
	});

	it("should read who said each line from the history", () => {
		const state = run(emptyChat, {
			type: "history",
			hasMore: false,
			older: false,
			messages: [
				{ id: "m1", role: "user", content: "hi", reply_to: null, timestamp: T, username: "ana", persona: null },
				{ id: "r1", role: "ai", content: "hey", reply_to: "m1", timestamp: T, character_id: "odile", variant: 0 },
			],
		});
		expect(state.byId.m1).toMatchObject({ username: "ana", persona: null });
		expect(state.byId.r1.characterId).toBe("odile");
	});

	it("should know which reply is being written, and by whom, from its deltas", () => {
		const delta: ServerFrame = {
			type: "ai.delta",
			id: "r1",
			reply_to: "m1",
			variant: 0,
			delta: "Hm",
			character_id: "maud",
		};
		const writing = run(emptyChat, frame(message("m1", "ana")), frame(delta));
		expect(streamingReply(writing)).toMatchObject({ id: "r1", characterId: "maud", content: "Hm" });
		expect(streamingReply(run(writing, frame(reply("r1", "m1", "maud"))))).toBeUndefined();
	});

	it("should leave the story alone on presence, typing and room changes", () => {
		const state = run(emptyChat, frame(message("m1", "ana")));
		for (const f of [
			{ type: "presence", members: [] },
			{ type: "typing", username: "ana", persona: null },
			{ type: "room.changed", session_id: ROOM },
		] as ServerFrame[]) {
			expect(chatReducer(state, frame(f))).toBe(state);
		}
	});

	it("should name people by persona, else their name in the room, else username; characters by the cast", () => {
		const members = [{ username: "ana", name: "Ana Lopes" }];
		const m = (persona: string | null, username = "ana") => ({
			id: "m",
			role: "user" as const,
			content: "",
			reply_to: null,
			variant: 0,
			stopped: false,
			streaming: false,
			username,
			persona,
		});
		expect(senderName(m("Captain"), members)).toBe("Captain");
		expect(senderName(m(null), members)).toBe("Ana Lopes");
		expect(senderName(m(null, "zed"), members)).toBe("zed");
		const cast = [{ id: "c1", name: "Odile", avatar_url: "/characters/id/c1/avatar" }];
		expect(castSpeaker(cast, "c1")).toMatchObject({ name: "Odile", has_avatar: true });
		expect(castSpeaker(cast, "gone")).toMatchObject({ name: "A character", has_avatar: false });
	});
});

describe("web rooms: presence and typing", () => {
	it("should keep who is online by username, whatever its case", () => {
		expect(
			presenceOf({
				type: "presence",
				members: [
					{ username: "Ana", online: true },
					{ username: "bo", online: false },
				],
			}),
		).toEqual({ ana: true, bo: false });
	});

	it("should show another person typing for a few seconds, never yourself, and stop once their message is in", () => {
		const typing = (username: string, persona: string | null = null) =>
			({ type: "typing", username, persona }) as const;
		let typists = typingFrom([], typing("ana", "Captain Ana"), "bo", 1000);
		expect(typingFrom(typists, typing("BO"), "bo", 1000)).toBe(typists);
		typists = typingFrom(typists, typing("cy"), "bo", 2000);
		// A second frame from the same person moves their time on, without a second entry.
		typists = typingFrom(typists, typing("ana", "Captain Ana"), "bo", 3000);
		expect(typists.map((t) => t.name)).toEqual(["cy", "Captain Ana"]);
		expect(typingAt(typists, 2000 + TYPING_SHOWN_MS).map((t) => t.username)).toEqual(["ana"]);
		expect(typingAt(typists, 3000 + TYPING_SHOWN_MS)).toEqual([]);
		expect(typingDone(typists, "Ana").map((t) => t.username)).toEqual(["cy"]);
	});

	it("should say who is typing as a sentence", () => {
		expect(typingText([])).toBe("");
		expect(typingText(["Ana"])).toBe("Ana is typing…");
		expect(typingText(["Ana", "Bo"])).toBe("Ana and Bo are typing…");
		expect(typingText(["Ana", "Bo", "Cy"])).toBe("Several people are typing…");
	});

	it("should tell the others you type at most every few seconds, and afresh after a message", () => {
		const signal = new TypingSignal();
		expect(signal.due(0)).toBe(true);
		expect(signal.due(TYPING_EVERY_MS - 1)).toBe(false);
		expect(signal.due(TYPING_EVERY_MS)).toBe(true);
		signal.reset();
		expect(signal.due(TYPING_EVERY_MS + 1)).toBe(true);
	});
});

describe("web rooms: closes and addresses", () => {
	it("should tell a removal from the room from a disabled account, both 4003", () => {
		expect(stopReason({ code: 4003, reason: REMOVED_REASON })).toBe("removed");
		expect(stopReason({ code: 4003, reason: "Account disabled" })).toBe("disabled");
		expect(stopReason({ code: 1006, reason: "" })).toBeUndefined();
	});

	it("should open rooms and invites from the address, and nothing from a tampered one", () => {
		expect(parseRoute(roomHash(ROOM))).toEqual({ name: "room", sessionId: ROOM });
		expect(parseRoute("#/invite/Ab-9_xYz")).toEqual({ name: "invite", code: "Ab-9_xYz" });
		expect(parseRoute("#/rooms/not-a-uuid")).toEqual({ name: "not-found" });
		expect(parseRoute("#/invite/a%20b")).toEqual({ name: "not-found" });
		expect(inviteLink("https://cameo.example", "Ab-9")).toBe("https://cameo.example/#/invite/Ab-9");
		expect(parseRoute(new URL(inviteLink("https://x.example", "Ab-9")).hash)).toEqual({ name: "invite", code: "Ab-9" });
	});

	it("should say what is left of an invite link", () => {
		expect(inviteUsesText({ max_uses: 1, uses: 0 })).toBe("1 use left");
		expect(inviteUsesText({ max_uses: 10, uses: 3 })).toBe("7 uses left");
		expect(inviteUsesText({ max_uses: 2, uses: 5 })).toBe("0 uses left");
		expect(inviteUsesText({ max_uses: null, uses: 1 })).toBe("any number of uses · used once");
		expect(inviteUsesText({ max_uses: null, uses: 4 })).toBe("any number of uses · used 4 times");
	});

	it("should open a listed room as a room, and a chat with its character", () => {
		expect(sessionHash({ id: ROOM, character_id: "c", reply_mode: "manual" })).toBe(roomHash(ROOM));
		expect(sessionHash({ id: ROOM, character_id: "c", reply_mode: null })).toBe(`#/chat/c/${ROOM}`);
	});
});
