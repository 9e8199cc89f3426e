import { describe, expect, it } from "vitest";
import {
	INVITE_DEFAULT_TTL_SECONDS,
	inviteState,
	inviteTerms,
	roomChange,
	roomHasSpace,
	toInviteView,
	toRoomView,
	type RoomDetails,
} from "../../src/domain/room-view.js";
import type { ListedSession } from "../../src/domain/session-view.js";

const listed: ListedSession = {
	id: "s1",
	character_id: "c1",
	character_name: "Agnes",
	status: "active",
	title: null,
	created_at: new Date("2026-01-01T00:00:00Z"),
	branched_from_session_id: null,
	branched_from_message_id: null,
	revision: "0",
	first_user_message: null,
	last_message_at: null,
	last_message: null,
	persona_id: "p1",
	persona_name: "Olive",
	owner: "olive",
	reply_mode: "addressed",
};

const room: RoomDetails = {
	characters: [
		{ id: "c2", name: "Bert", has_avatar: true },
		{ id: "c1", name: "Agnes", has_avatar: false },
	],
	people: [
		{ username: "bee", name: "Bee", role: "member", persona_id: null, persona_name: null },
		{ username: "olive", name: "Olive", role: "owner", persona_id: "p1", persona_name: "Olive" },
		{ username: "cat", name: "Cat", role: "member", persona_id: "p3", persona_name: "Kitty" },
	],
};

describe("toRoomView", () => {
	it("should add the owner, reply mode, the cast in order with picture paths, and the people owner first", () => {
		const view = toRoomView({ ...listed, reply_mode: "round_robin" }, room);
		expect(view).toMatchObject({ id: "s1", title: "Agnes", owner: "olive", reply_mode: "round_robin" });
		expect(view.characters).toEqual([
			{ id: "c2", name: "Bert", avatar_url: "/characters/id/c2/avatar" },
			{ id: "c1", name: "Agnes", avatar_url: null },
		]);
		expect(view.members).toEqual([
			{ username: "olive", name: "Olive", persona: { id: "p1", name: "Olive" }, role: "owner" },
			{ username: "bee", name: "Bee", persona: null, role: "member" },
			{ username: "cat", name: "Cat", persona: { id: "p3", name: "Kitty" }, role: "member" },
		]);
	});

	it("should show a one-character chat with reply_mode null", () => {
		const plain = toRoomView({ ...listed, reply_mode: null }, { ...room, people: [room.people[1]] });
		expect(plain.reply_mode).toBeNull();
		expect(plain.members.map((m) => m.role)).toEqual(["owner"]);
	});
});

describe("inviteState", () => {
	const now = new Date("2026-06-01T12:00:00Z");
	const later = new Date(now.getTime() + 1000);
	const earlier = new Date(now.getTime() - 1000);

	it("should be live before its expiry with uses left, unlimited uses never running out", () => {
		expect(inviteState({ max_uses: 1, uses: 0, expires_at: later }, now)).toBe("live");
		expect(inviteState({ max_uses: null, uses: 1_000_000, expires_at: later }, now)).toBe("live");
		expect(inviteState({ max_uses: 3, uses: 2, expires_at: null }, now)).toBe("live");
	});

	it("should expire at its expiry, to the millisecond, and be used up at max_uses", () => {
		expect(inviteState({ max_uses: 1, uses: 0, expires_at: earlier }, now)).toBe("expired");
		expect(inviteState({ max_uses: 1, uses: 0, expires_at: now }, now)).toBe("expired");
		expect(inviteState({ max_uses: 1, uses: 1, expires_at: later }, now)).toBe("used_up");
		expect(inviteState({ max_uses: 2, uses: 5, expires_at: later }, now)).toBe("used_up");
	});
});

describe("inviteTerms", () => {
	it("should default to one use for a week, keep null as unlimited", () => {
		expect(inviteTerms({})).toEqual({ maxUses: 1, ttlSeconds: INVITE_DEFAULT_TTL_SECONDS });
		expect(INVITE_DEFAULT_TTL_SECONDS).toBe(604_800);
		expect(inviteTerms({ max_uses: null, expires_in_seconds: 60 })).toEqual({ maxUses: null, ttlSeconds: 60 });
		expect(inviteTerms({ max_uses: 7 })).toMatchObject({ maxUses: 7 });
	});

	it("should show an invite with exactly its public fields", () => {
		const row = {
			code: "abc",
			session_id: "s1",
			max_uses: null,
			uses: 2,
			expires_at: null,
			created_at: new Date(0),
			created_by: "olive",
		};
		expect(toInviteView(row)).toEqual({
			code: "abc",
			session_id: "s1",
			max_uses: null,
			uses: 2,
			expires_at: null,
			created_at: new Date(0),
		});
	});
});

describe("roomHasSpace", () => {
	it("should count the owner: a cap of 3 takes an owner and two members", () => {
		expect(roomHasSpace(1, 3)).toBe(true);
		expect(roomHasSpace(2, 3)).toBe(true);
		expect(roomHasSpace(3, 3)).toBe(false);
		expect(roomHasSpace(1, 1)).toBe(false);
	});
});

describe("roomChange", () => {
	it("should change nothing when neither reply mode nor cast is asked for", () => {
		expect(roomChange({ reply_mode: null, character_ids: ["a"] }, {}, "addressed")).toBeNull();
	});

	it("should make a one-character chat a room: the default mode, or its character as the cast", () => {
		expect(roomChange({ reply_mode: null, character_ids: ["a"] }, { character_ids: ["b", "a"] }, "addressed")).toEqual({
			reply_mode: "addressed",
			character_ids: ["b", "a"],
		});
		expect(roomChange({ reply_mode: null, character_ids: ["a"] }, { reply_mode: "all" }, "addressed")).toEqual({
			reply_mode: "all",
			character_ids: ["a"],
		});
	});

	it("should keep what a room's change leaves out", () => {
		const current = { reply_mode: "manual" as const, character_ids: ["a", "b"] };
		expect(roomChange(current, { character_ids: ["b"] }, "addressed")).toEqual({
			reply_mode: "manual",
			character_ids: ["b"],
		});
		expect(roomChange(current, { reply_mode: "round_robin" }, "addressed")).toEqual({
			reply_mode: "round_robin",
			character_ids: ["a", "b"],
		});
	});
});
