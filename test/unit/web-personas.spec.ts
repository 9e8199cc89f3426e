import { describe, expect, it } from "vitest";
import { chatHash, lorebookHash, newChatHash, parseRoute } from "../../web/src/routes.js";
import { blankEntry, keysOf } from "../../web/src/lore.js";

const character = "0b6c2a8e-4f3e-4d7a-9a55-1c2d3e4f5a6b";
const session = "5f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
const persona = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

describe("web routes for personas and lorebooks", () => {
	it("should start a new chat as the persona the address names, and only a new one", () => {
		expect(parseRoute(newChatHash(character, 2, persona))).toEqual({
			name: "chat",
			characterId: character,
			greeting: 2,
			personaId: persona,
		});
		expect(parseRoute(newChatHash(character, 0, persona))).toEqual({
			name: "chat",
			characterId: character,
			personaId: persona,
		});
		expect(newChatHash(character, 0)).toBe(chatHash(character));
		// A session has its persona; the header switches it.
		expect(parseRoute(`#/chat/${character}/${session}?persona=${persona}`)).toEqual({
			name: "chat",
			characterId: character,
			sessionId: session,
		});
		expect(parseRoute(`#/chat/${character}?persona=not-a-uuid`)).toEqual({ name: "chat", characterId: character });
	});

	it("should read the personas and lorebooks pages, and a lorebook only by a UUID", () => {
		expect(parseRoute("#/personas")).toEqual({ name: "personas" });
		expect(parseRoute("#/lorebooks")).toEqual({ name: "lorebooks" });
		expect(parseRoute(lorebookHash(session))).toEqual({ name: "lorebook", lorebookId: session });
		expect(parseRoute("#/lorebooks/../personas")).toEqual({ name: "not-found" });
		expect(parseRoute("#/lorebooks/abc")).toEqual({ name: "not-found" });
		expect(parseRoute(`#/lorebooks/${session}/entries`)).toEqual({ name: "not-found" });
	});
});

describe("lorebook keys as typed", () => {
	it("should split keys on commas, keeping a /regex/'s own commas and flags", () => {
		expect(keysOf("dragon, /wyrms{1,2}/i , ")).toEqual(["dragon", "/wyrms{1,2}/i"]);
		expect(keysOf(" a ,, b c ")).toEqual(["a", "b c"]);
		expect(keysOf(String.raw`/a\/b,c/, d`)).toEqual([String.raw`/a\/b,c/`, "d"]);
		expect(keysOf("a/b, c")).toEqual(["a/b", "c"]);
		expect(keysOf("")).toEqual([]);
	});

	it("should add an entry after the last, with the next id and a later order", () => {
		const first = blankEntry([]);
		expect(first).toMatchObject({ id: 0, insertion_order: 10, enabled: true, position: "before_char" });
		const second = blankEntry([first, { ...first, id: 7, insertion_order: 40 }]);
		expect([second.id, second.insertion_order]).toEqual([8, 50]);
	});
});
