import { describe, expect, it } from "vitest";
import { Validators } from "moleculer";
import { presetChange, presetParams, toPresetView } from "../../src/domain/chat-presets.js";

describe("chat presets", () => {
	const check = new Validators.Fastest().compile({
		$$strict: false,
		...presetParams({ maxTemperature: 1.5, maxOutputTokensLimit: 2048 }),
	});

	it("should take settings within the operator's bounds, and null to clear one", () => {
		expect(check({ temperature: 1.5, top_p: 0, max_output_tokens: 2048, model: "gpt-4o-mini" })).toBe(true);
		expect(check({ temperature: null, top_p: null, max_output_tokens: null, model: null })).toBe(true);
	});

	it("should refuse settings beyond the operator's bounds or of the wrong type", () => {
		for (const bad of [
			{ temperature: 1.6 },
			{ temperature: -0.1 },
			{ top_p: 1.01 },
			{ max_output_tokens: 2049 },
			{ max_output_tokens: 0 },
			{ max_output_tokens: 10.5 },
			{ model: "gpt 4; rm -rf /" },
			{ model: "" },
			{ temperature: "hot" },
		]) {
			expect(check(bad), JSON.stringify(bad)).not.toBe(true);
		}
	});

	it("should pick the preset fields given, nulls included, and nothing when none is", () => {
		expect(presetChange({ temperature: 0.4, model: null })).toEqual({ temperature: 0.4, model: null });
		expect(presetChange({})).toBeUndefined();
	});

	it("should show every field, null where the character's setting applies", () => {
		expect(toPresetView({ top_p: 0.9 })).toEqual({
			model: null,
			temperature: null,
			top_p: 0.9,
			max_output_tokens: null,
		});
		expect(toPresetView(undefined)).toEqual({ model: null, temperature: null, top_p: null, max_output_tokens: null });
	});
});
