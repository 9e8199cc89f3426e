import { describe, expect, it } from "vitest";
import { chatHash, newChatHash, parseRoute } from "../../web/src/routes.js";

const character = "0b6c2a8e-4f3e-4d7a-9a55-1c2d3e4f5a6b";
const session = "5f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f";

describe("web routes", () => {
	it("should open a new chat with the greeting the address names, and only a new one", () => {
		expect(parseRoute(newChatHash(character, 2))).toEqual({ name: "chat", characterId: character, greeting: 2 });
		expect(newChatHash(character, 0)).toBe(chatHash(character));
		expect(parseRoute(`#/chat/${character}?greeting=0`)).toEqual({ name: "chat", characterId: character });
		// A session already has its greeting.
		expect(parseRoute(`#/chat/${character}/${session}?greeting=2`)).toEqual({
			name: "chat",
			characterId: character,
			sessionId: session,
		});
	});

	it("should ignore greetings that are not a card's (not a whole number from 1 to 100)", () => {
		for (const bad of ["-1", "1.5", "abc", "101", "1e2", ""]) {
			expect(parseRoute(`#/chat/${character}?greeting=${bad}`)).toEqual({ name: "chat", characterId: character });
		}
	});

	it("should still call anything but UUIDs not found", () => {
		expect(parseRoute("#/chat/not-a-uuid?greeting=1")).toEqual({ name: "not-found" });
	});
});
