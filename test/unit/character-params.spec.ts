import { describe, expect, it } from "vitest";
import {
	CHARACTER_FIELDS,
	OPTIONAL_CHARACTER_FIELDS,
	noChangesRefusal,
	nullFieldsRefusal,
	uploadChoiceRefusal,
} from "../../src/domain/character-params.js";
import { EDITABLE_FIELDS } from "../../src/domain/characters.js";

describe("character field rules", () => {
	it("should have a rule for every editable field, each optional in the update's copy", () => {
		expect(Object.keys(CHARACTER_FIELDS).sort()).toEqual([...EDITABLE_FIELDS].sort());
		for (const rule of Object.values(OPTIONAL_CHARACTER_FIELDS)) expect(rule).toMatchObject({ optional: true });
	});

	it("should trim the seed's text fields but keep card fields as written", () => {
		expect(CHARACTER_FIELDS.name).toMatchObject({ trim: true });
		expect((CHARACTER_FIELDS as Record<string, object>).mes_example).not.toHaveProperty("trim");
	});
});

describe("nullFieldsRefusal", () => {
	it("should let the model settings be null and refuse null for every other field, naming each", () => {
		expect(nullFieldsRefusal({ llm_model: null, temperature: null, max_output_tokens: null })).toBeUndefined();
		expect(nullFieldsRefusal({ name: "Ada", greeting: "" })).toBeUndefined();
		expect(nullFieldsRefusal({ name: null, tags: null, temperature: null })).toEqual({
			detail: "name, tags may not be null",
			errors: [
				{ type: "required", field: "name", message: "The 'name' field may not be null" },
				{ type: "required", field: "tags", message: "The 'tags' field may not be null" },
			],
		});
	});
});

describe("noChangesRefusal", () => {
	it("should refuse an update without a field to change", () => {
		expect(noChangesRefusal({ name: "Ada" })).toBeUndefined();
		expect(noChangesRefusal({})).toEqual({
			detail: "Give at least one field to change",
			errors: [
				{ type: "required", field: EDITABLE_FIELDS.join("|"), message: expect.stringMatching(/^One of name, /) },
			],
		});
	});
});

describe("uploadChoiceRefusal", () => {
	it("should take exactly one of card and png", () => {
		expect(uploadChoiceRefusal({ card: {} })).toBeUndefined();
		expect(uploadChoiceRefusal({ png: "iVBO" })).toBeUndefined();
		for (const params of [{}, { card: {}, png: "iVBO" }]) {
			expect(uploadChoiceRefusal(params)?.errors).toEqual([
				{ type: "required", field: "card|png", message: "Exactly one of card, png is required" },
			]);
		}
	});
});
