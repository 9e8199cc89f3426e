import { describe, expect, it } from "vitest";
import { chatHash, newChatHash, parseRoute } from "../../web/src/router.js";
import { validationText } from "../../web/src/api.js";

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

describe("refused fields as sentences", () => {
	it("should speak of a list once, whichever of its items were refused", () => {
		const errors = [
			{ field: "alternate_greetings[2]", message: "too long" },
			{ field: "alternate_greetings[7]", message: "too long" },
			{ field: "name", message: "required" },
		];
		const sentences = { alternate_greetings: "Greetings are at most 20,000 characters.", name: "A name is needed." };
		expect(validationText(errors, sentences)).toBe("Greetings are at most 20,000 characters. A name is needed.");
	});
});
