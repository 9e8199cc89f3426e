import { describe, expect, it } from "vitest";
import { applyMacros } from "../../src/domain/macros.js";
import { pickGreeting, tokenExpiry } from "../../src/domain/chat-handshake.js";
import { signAccessToken } from "../../src/domain/access-tokens.js";

describe("applyMacros", () => {
	it("should fill {{char}} and {{user}} in any case and with inner spaces, and the legacy <BOT>/<USER>", () => {
		expect(applyMacros("{{User}}, {{CHAR}} greets you; {{ user }} and {{char}}.", "Agnes", "Mira")).toBe(
			"Mira, Agnes greets you; Mira and Agnes.",
		);
		expect(applyMacros("<USER> meets <bot>", "Agnes", "Mira")).toBe("Mira meets Agnes");
	});

	it("should leave other braces alone", () => {
		expect(applyMacros("{{random}} {user} {{users}}", "Agnes", "Mira")).toBe("{{random}} {user} {{users}}");
	});
});

describe("pickGreeting", () => {
	const card = {
		name: "Agnes",
		greeting: "Shut the door behind you, {{user}}.",
		alternate_greetings: ["", "{{CHAR}} nods at {{User}}."],
	};

	it("should fill the chosen greeting, and fall back to the first non-empty one", () => {
		expect(pickGreeting(card, 0, "Mira")).toBe("Shut the door behind you, Mira.");
		expect(pickGreeting(card, 2, "Mira")).toBe("Agnes nods at Mira.");
		expect(pickGreeting(card, 1, "Mira")).toBe("Shut the door behind you, Mira.");
		expect(pickGreeting({ name: "Agnes", greeting: "" }, 0, "Mira")).toBe("");
	});
});

describe("tokenExpiry", () => {
	it("should read a token's exp in milliseconds, and nothing from garbage", () => {
		const token = signAccessToken(
			{ userId: "00000000-0000-4000-8000-000000000001", username: "mira" },
			"x".repeat(32),
			60,
		);
		expect(Math.abs(tokenExpiry(token)! - (Date.now() + 60_000))).toBeLessThan(2000);
		expect(tokenExpiry("garbage")).toBeUndefined();
	});
});
