import { describe, expect, it } from "vitest";
import {
	CARD_EXTRA_KEY,
	CardError,
	MAX_CARD_BYTES,
	MAX_CARD_DEPTH,
	cardExtensions,
	characterFromCard,
	toCardV2,
	toCardV3,
	type CardCharacter,
	type CardV2,
	type CardV3,
} from "../../src/domain/character-card.js";

/** A V3 card using every field the spec has, plus an app's own field and nested extensions. */
function richV3(): CardV3 {
	return {
		spec: "chara_card_v3",
		spec_version: "3.0",
		data: {
			name: "Seraphina Vélez 🌙",
			description: "{{char}} is a forest guardian.\nShe speaks softly. 森の守護者.",
			personality: "gentle, protective, wry",
			scenario: "{{user}} wakes up in {{char}}'s glade after a storm.",
			first_mes: "*She kneels beside you.* You're awake. Good.",
			mes_example:
				"<START>\n{{user}}: Who are you?\n{{char}}: Seraphina. The glade's keeper.\n<START>\n{{user}}: Hi\n{{char}}: Hello.",
			creator_notes: "Works best with long replies.",
			system_prompt: "Write {{char}}'s next reply in a fictional chat. {{original}}",
			post_history_instructions: "Stay in third person. {{original}}",
			alternate_greetings: ["*The glade is quiet.* Ah, a visitor.", "You again?"],
			character_book: {
				name: "Glade lore",
				scan_depth: 4,
				token_budget: 512,
				recursive_scanning: false,
				extensions: {},
				entries: [
					{
						keys: ["glade"],
						content: "The glade is hidden.",
						extensions: {},
						enabled: true,
						insertion_order: 0,
						use_regex: false,
						id: 1,
					},
					{
						keys: ["storm"],
						content: "Storms come from the east.",
						extensions: { depth: 4 },
						enabled: false,
						insertion_order: 1,
						use_regex: true,
						constant: true,
					},
				],
			},
			tags: ["fantasy", "female", "guardian"],
			creator: "someone@example",
			character_version: "1.2",
			extensions: {
				talkativeness: "0.5",
				fav: false,
				world: "Glade",
				depth_prompt: { prompt: "Be kind.", depth: 4, role: "system" },
				risuai: { a: [{ b: { c: [1, 2, { d: null }] } }] },
			},
			assets: [
				{ type: "icon", uri: "ccdefault:", name: "main", ext: "png" },
				{ type: "emotion", uri: "embeded://assets/happy.png", name: "happy", ext: "png" },
			],
			nickname: "Sera",
			creator_notes_multilingual: { en: "Long replies.", ja: "長い返信。" },
			source: ["https://example.org/cards/seraphina"],
			group_only_greetings: ["*She nods to the group.*"],
			creation_date: 1_700_000_000,
			modification_date: 1_710_000_000,
			x_app_specific: { kept: true },
		},
	};
}

/** As the database gives it back: the JSON columns went through JSON text. */
const stored = (character: CardCharacter): CardCharacter => JSON.parse(JSON.stringify(character));

function refusal(card: unknown): CardError {
	try {
		characterFromCard(card);
	} catch (err) {
		if (err instanceof CardError) return err;
		throw err;
	}
	throw new Error("the card was accepted");
}

describe("characterFromCard", () => {
	it("should map a V3 card onto our columns and park the rest under the reserved extension", () => {
		const card = richV3();
		const character = characterFromCard(card);
		expect(character).toMatchObject({
			name: card.data.name,
			description: card.data.description,
			personality: card.data.personality,
			scenario: card.data.scenario,
			greeting: card.data.first_mes,
			mes_example: card.data.mes_example,
			system_prompt: card.data.system_prompt,
			post_history_instructions: card.data.post_history_instructions,
			alternate_greetings: card.data.alternate_greetings,
			creator_notes: card.data.creator_notes,
			creator: card.data.creator,
			character_version: card.data.character_version,
			tags: card.data.tags,
		});
		expect(cardExtensions(character.extensions)).toEqual(card.data.extensions);
		const extra = character.extensions[CARD_EXTRA_KEY] as { fields: Record<string, unknown> };
		expect(Object.keys(extra.fields).sort()).toEqual([
			"assets",
			"character_book",
			"creation_date",
			"creator_notes_multilingual",
			"group_only_greetings",
			"modification_date",
			"nickname",
			"source",
			"x_app_specific",
		]);
	});

	it("should read a V2 card and a V1 card", () => {
		const v2 = characterFromCard({
			spec: "chara_card_v2",
			spec_version: "2.0",
			data: { name: "Two", first_mes: "Hi", tags: ["a"], system_prompt: "Be two." },
		});
		expect(v2).toMatchObject({
			name: "Two",
			greeting: "Hi",
			tags: ["a"],
			system_prompt: "Be two.",
			description: "",
			alternate_greetings: [],
		});

		const v1 = characterFromCard({
			name: "One",
			description: "d",
			personality: "curious",
			scenario: "s",
			first_mes: "Hello",
			mes_example: "<START>",
			chat: "ignored",
		});
		expect(v1).toMatchObject({
			name: "One",
			description: "d",
			personality: "curious",
			scenario: "s",
			greeting: "Hello",
			mes_example: "<START>",
		});
		expect(v1.system_prompt).toBe("You are One.\n\ncurious");
	});

	it("should derive a system prompt when the card has none, and give the empty one back on export", () => {
		const character = characterFromCard({ spec: "chara_card_v2", data: { name: " Quiet ", system_prompt: "  " } });
		expect(character.name).toBe("Quiet");
		expect(character.system_prompt).toBe("You are Quiet.");
		expect(toCardV2(stored(character)).data.system_prompt).toBe("");
		// Once the user writes their own, it is theirs to export.
		expect(toCardV2({ ...stored(character), system_prompt: "Be quiet." }).data.system_prompt).toBe("Be quiet.");
	});

	it("should treat null fields as not filled in", () => {
		const character = characterFromCard({
			spec: "chara_card_v2",
			data: { name: "N", description: null, tags: null, extensions: null, character_book: null },
		});
		expect(character).toMatchObject({
			description: "",
			tags: [],
			extensions: { [CARD_EXTRA_KEY]: { fields: { character_book: null } } },
		});
	});
});

describe("round trip", () => {
	it("should give back every field of a rich V3 card", () => {
		const card = richV3();
		expect(toCardV3(stored(characterFromCard(card)))).toEqual(card);
		// And keeps doing so through a second import.
		expect(toCardV3(stored(characterFromCard(toCardV3(stored(characterFromCard(card))))))).toEqual(card);
	});

	it("should give back every field of a rich V2 card, as V2 and as V3", () => {
		const v3Only = new Set([
			"assets",
			"nickname",
			"creator_notes_multilingual",
			"source",
			"group_only_greetings",
			"creation_date",
			"modification_date",
		]);
		const v2data = Object.fromEntries(
			Object.entries(richV3().data).filter(([field]) => !v3Only.has(field)),
		) as CardV2["data"];
		const card: CardV2 = { spec: "chara_card_v2", spec_version: "2.0", data: v2data };
		const character = stored(characterFromCard(card));
		expect(toCardV2(character)).toEqual(card);
		expect(toCardV3(character)).toEqual({
			spec: "chara_card_v3",
			spec_version: "3.0",
			data: { ...v2data, group_only_greetings: [] },
		});
	});

	it("should keep V3-only fields in a V2 export, where V2 readers ignore them", () => {
		const card = richV3();
		const v2 = toCardV2(stored(characterFromCard(card)));
		expect(v2).toEqual({ spec: "chara_card_v2", spec_version: "2.0", data: card.data });
	});

	it("should keep keys like __proto__ and toString as data without polluting prototypes", () => {
		const card = JSON.parse(
			'{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"P","toString":"t","constructor":1,"__proto__":{"polluted":true},"extensions":{"__proto__":{"x":1}}}}',
		);
		const character = characterFromCard(card);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		const exported = toCardV2(stored(character));
		expect(Object.getPrototypeOf(exported.data)).toBe(Object.prototype);
		const data = JSON.parse(JSON.stringify(exported)).data;
		expect(Object.getOwnPropertyDescriptor(data, "__proto__")?.value).toEqual({ polluted: true });
		expect([data.toString, data.constructor]).toEqual(["t", 1]);
		expect(JSON.stringify(exported.data.extensions)).toBe('{"__proto__":{"x":1}}');
	});
});

describe("validation", () => {
	const v2 = (data: Record<string, unknown>) => ({
		spec: "chara_card_v2",
		spec_version: "2.0",
		data: { name: "Valid", ...data },
	});
	const nested = (depth: number): unknown => (depth === 0 ? "leaf" : { n: nested(depth - 1) });

	it.each([
		["null", null, /must be a JSON object/],
		["an array", [{ name: "x" }], /must be a JSON object/],
		["a string", "chara", /must be a JSON object/],
		["an unknown spec", { spec: "chara_card_v9", data: { name: "x" } }, /Unknown card spec "chara_card_v9"/],
		["a spec that is not text", { spec: { evil: true }, data: {} }, /Unknown card spec object/],
		["a V2 card without data", { spec: "chara_card_v2" }, /^data must be an object/],
		["an object that is not a card", { hello: "world" }, /Not a character card/],
		["a missing name", v2({ name: undefined }), /no name \(data\.name\)/],
		["an empty name", v2({ name: "   " }), /no name/],
		["a V1 card with an empty name", { name: "" }, /no name \(name\)/],
		["a name that is not text", v2({ name: 42 }), /^data\.name must be a string/],
		["a long name", v2({ name: "x".repeat(81) }), /data\.name is longer than 80/],
		["a long description", v2({ description: "x".repeat(20_001) }), /data\.description is longer than 20000/],
		["tags as text", v2({ tags: "a,b" }), /data\.tags must be an array/],
		["a tag that is not text", v2({ tags: ["ok", 7] }), /data\.tags\[1\] must be a string/],
		["too many tags", v2({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }), /data\.tags has more than 100/],
		[
			"a long alternate greeting",
			v2({ alternate_greetings: ["x".repeat(20_001)] }),
			/alternate_greetings\[0\] is longer/,
		],
		["extensions as an array", v2({ extensions: [] }), /data\.extensions must be an object/],
		["the reserved extension", v2({ extensions: { [CARD_EXTRA_KEY]: {} } }), /cameo_card_extra is reserved/],
		[
			"a character book that is not an object",
			v2({ character_book: "lore" }),
			/data\.character_book must be an object/,
		],
		[
			"a malformed asset",
			{ spec: "chara_card_v3", data: { name: "x", assets: [{ type: 1, uri: "u", name: "n", ext: "png" }] } },
			/data\.assets\[0\]\.type must be a string/,
		],
		[
			"a creation date that is not a number",
			{ spec: "chara_card_v3", data: { name: "x", creation_date: "yesterday" } },
			/creation_date must be a number/,
		],
		["deeply nested extensions", v2({ extensions: nested(MAX_CARD_DEPTH) }), /nested more than 20 levels/],
	])("should refuse %s with a reason", (_what, card, reason) => {
		const err = refusal(card);
		expect(err.problem).toBe("invalid_card");
		expect(err.message).toMatch(reason);
	});

	it("should name the field at fault", () => {
		expect(refusal(v2({ tags: ["ok", 7] })).field).toBe("data.tags[1]");
		expect(refusal(v2({ name: "" })).field).toBe("data.name");
	});

	it("should accept nesting up to the limit", () => {
		// card > data > extensions take three levels.
		expect(() => characterFromCard(v2({ extensions: nested(MAX_CARD_DEPTH - 3) }))).not.toThrow();
	});

	it("should refuse absurd nesting without overflowing the stack", () => {
		const deep = JSON.parse(`${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`);
		expect(refusal(v2({ extensions: deep })).message).toMatch(/nested more than/);
	});

	it("should refuse a card over the total size cap as too large", () => {
		const err = refusal(v2({ extensions: { blob: "x".repeat(MAX_CARD_BYTES) } }));
		expect(err.problem).toBe("too_large");
		expect(err.message).toMatch(/at most 2097152/);
	});
});
