import { describe, expect, it } from "vitest";
import { addressedIn, nextInTurn, roomHistory, roomSection, speakersFor } from "../../src/domain/rooms.js";
import {
	isUserMsgPayload,
	messageFrame,
	parseClientFrame,
	replyId,
	replyIdOf,
	replyPayload,
	failurePayload,
	serializeFrame,
	type UserMsgPayload,
} from "../../src/domain/chat-wire.js";

const seraphina = { id: "c1", name: "Seraphina" };
const kai = { id: "c2", name: "Kai" };
const sera = { id: "c3", name: "Sera" };
const cast = [seraphina, kai, sera];

describe("speakersFor: who answers a message", () => {
	it("should answer an addressed message with the characters it names, in the order named", () => {
		expect(speakersFor("addressed", cast, "Kai, what does Seraphina think?", null)).toEqual([kai, seraphina]);
	});

	it("should take the next in turn when an addressed message names nobody", () => {
		expect(speakersFor("addressed", cast, "Hello everyone", "c1")).toEqual([kai]);
		expect(speakersFor("addressed", cast, "Hello everyone", null)).toEqual([seraphina]);
	});

	it("should go round the cast in round_robin, wrapping after the last", () => {
		expect(speakersFor("round_robin", cast, "Kai!", "c3")).toEqual([seraphina]);
		expect(speakersFor("round_robin", cast, "hi", "c1")).toEqual([kai]);
	});

	it("should let every character answer in cast order in all, and nobody in manual", () => {
		expect(speakersFor("all", cast, "hi", "c2")).toEqual(cast);
		expect(speakersFor("manual", cast, "Kai!", null)).toEqual([]);
	});

	it("should start from the first when the last speaker left the cast", () => {
		expect(nextInTurn(cast, "gone")).toEqual(seraphina);
	});
});

describe("addressedIn: names as whole words", () => {
	it("should match a name in any case, but not inside a longer word", () => {
		expect(addressedIn(cast, "hey KAI")).toEqual([kai]);
		expect(addressedIn(cast, "the kaiju attacks")).toEqual([]);
	});

	it("should prefer the longer name where a shorter one is part of it", () => {
		expect(addressedIn(cast, "Seraphina, come here")).toEqual([seraphina]);
		expect(addressedIn(cast, "Sera and Seraphina")).toEqual([sera, seraphina]);
	});

	it("should read names next to punctuation and non-Latin letters as words", () => {
		const cast2 = [{ id: "x", name: "Élodie" }];
		expect(addressedIn(cast2, "«Élodie», viens")).toEqual(cast2);
		expect(addressedIn(cast2, "Élodies")).toEqual([]);
	});
});

describe("roomHistory: the story as the speaker reads it", () => {
	const lines = [
		{ id: "1", role: "ai" as const, content: "Welcome.", character_id: "c1" },
		{ id: "2", role: "user" as const, content: "Hi both", speaker: "Ann" },
		{ id: "3", role: "ai" as const, content: "Yo.", character_id: "c2" },
		{ id: "4", role: "user" as const, content: "And me", speaker: null },
	];
	const names = { character: (id: string) => (id === "c1" ? "Seraphina" : "Kai"), person: "Bob" };

	it("should keep the speaker's own lines and name everyone else's as user lines", () => {
		const history = roomHistory(lines, "c1", names);
		expect(history.map((e) => [e.role, e.content])).toEqual([
			["ai", "Welcome."],
			["user", "Ann: Hi both"],
			["user", "Kai: Yo."],
			["user", "Bob: And me"],
		]);
	});

	it("should describe the room to the speaker: the others and the people", () => {
		const text = roomSection("Kai", ["Seraphina"], ["Ann", "Bob"]);
		expect(text).toContain("with Seraphina");
		expect(text).toContain("Ann, Bob");
		expect(text).toContain("Write only Kai's next reply");
	});
});

describe("room frames and payloads", () => {
	const turnId = "7c1d1a52-3c1e-4c9e-9a55-5b8f2f1f0a11";
	const base: UserMsgPayload = {
		message_id: "6f1d1a52-3c1e-4c9e-9a55-5b8f2f1f0a11",
		session_id: "0a4c1c9e-8d1b-4b7a-b3a6-3b9f1e0f2c22",
		username: "ann",
		character_id: "9e2f4b1a-7c3d-4e5f-8a9b-1c2d3e4f5a33",
		content: "",
	};
	const turn = { ...base, room: { turn_id: turnId, owner: "bob", persona_id: null } };

	it("should derive a room reply's id from its turn, so two characters answering one message get two ids", () => {
		expect(replyIdOf(turn)).toBe(replyId(turnId, 0));
		expect(replyIdOf(turn)).not.toBe(replyIdOf(base));
		const usage = { input_tokens: 1, output_tokens: 1 };
		const reply = replyPayload(turn, { content: "x", stopped: false, model: "m", usage });
		expect(reply).toMatchObject({ id: replyId(turnId, 0), reply_to: base.message_id, turn_id: turnId });
		expect(failurePayload(turn, "ai_unavailable", "no")).toMatchObject({ turn_id: turnId });
	});

	it("should accept a room turn answering an empty reply, but not a room turn without its fields", () => {
		expect(isUserMsgPayload(turn)).toBe(true);
		expect(isUserMsgPayload(base)).toBe(false);
		expect(isUserMsgPayload({ ...turn, room: { turn_id: "x", owner: "bob", persona_id: null } })).toBe(false);
		expect(isUserMsgPayload({ ...turn, room: { turn_id: turnId, owner: "", persona_id: null } })).toBe(false);
	});

	it("should parse trigger and typing frames and refuse a trigger without a character id", () => {
		expect(parseClientFrame(JSON.stringify({ type: "typing" }), false, 100)).toEqual({
			ok: true,
			frame: { type: "typing" },
		});
		const trigger = { type: "trigger", character_id: turnId };
		expect(parseClientFrame(JSON.stringify(trigger), false, 100)).toEqual({ ok: true, frame: trigger });
		const bad = parseClientFrame(JSON.stringify({ type: "trigger", character_id: 7 }), false, 100);
		expect(bad).toMatchObject({ ok: false, error: { code: "invalid_message" } });
	});

	it("should show a member's stored message as an echo to them and as a named message to the others", () => {
		const row = {
			...{ id: "m1", role: "user" as const, username: "ann", character_id: "c1", content: "hi" },
			...{ created_at: new Date(0), reply_to: null, variant: 0, stopped: false, speaker: "Ann the Bold" },
		};
		expect(messageFrame(row, "ann").type).toBe("echo");
		expect(messageFrame(row, "bob")).toMatchObject({ type: "message", username: "ann", persona: "Ann the Bold" });
		// A one-character chat's message is an echo whoever reads it (its own user's other devices).
		expect(messageFrame({ ...row, speaker: null }, "bob").type).toBe("echo");
		// The echo and the message of one id are one message to a socket.
		expect(serializeFrame(messageFrame(row)).id).toBe(serializeFrame(messageFrame(row, "ann")).id);
		const reply = messageFrame({ ...row, role: "ai", character_id: "c2", speaker: null });
		expect(reply).toMatchObject({ type: "ai", character_id: "c2" });
	});
});
