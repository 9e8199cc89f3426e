import { describe, expect, it } from "vitest";
import {
	PERSONA_AVATAR_MAX_BYTES,
	PERSONA_NAME_MAX_CHARS,
	defaultPersonaName,
	parseAvatarDataUrl,
	toPersonaView,
} from "../../src/domain/personas.js";
import { parseChatHandshake } from "../../src/domain/chat-handshake.js";
import { toSessionView, type ListedSession } from "../../src/domain/session-view.js";

const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString("base64")}`;

describe("parseAvatarDataUrl", () => {
	it("should read the bytes of a PNG, JPEG or WebP data: URL, whatever the type's case", () => {
		const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
		for (const type of ["image/png", "image/jpeg", "image/webp", "IMAGE/PNG"]) {
			expect(parseAvatarDataUrl(dataUrl(type, bytes))).toEqual({ ok: true, bytes });
		}
	});

	it("should refuse other types, other URLs, bad base64 and nothing", () => {
		for (const url of [
			dataUrl("image/gif", Buffer.from("GIF89a")),
			dataUrl("image/svg+xml", Buffer.from("<svg/>")),
			"data:image/png,raw",
			"data:image/png;base64,@@",
			"data:image/png;base64,",
			"https://example.com/a.png",
			"",
		]) {
			expect(parseAvatarDataUrl(url), url).toMatchObject({ ok: false, detail: expect.any(String) });
			expect(parseAvatarDataUrl(url)).not.toHaveProperty("tooLarge");
		}
	});

	it("should take up to PERSONA_AVATAR_MAX_BYTES and refuse more as too large, without decoding a long URL", () => {
		expect(parseAvatarDataUrl(dataUrl("image/png", Buffer.alloc(PERSONA_AVATAR_MAX_BYTES, 1))).ok).toBe(true);
		expect(parseAvatarDataUrl(dataUrl("image/png", Buffer.alloc(PERSONA_AVATAR_MAX_BYTES + 1, 1)))).toMatchObject({
			ok: false,
			tooLarge: true,
		});
		expect(parseAvatarDataUrl(`data:image/png;base64,${"A".repeat(50_000_000)}`)).toMatchObject({ tooLarge: true });
	});
});

describe("defaultPersonaName", () => {
	it("should be the display name, trimmed and cut to a persona name's length by code points", () => {
		expect(defaultPersonaName("  Mira Vale ")).toBe("Mira Vale");
		const long = "🗡".repeat(100);
		expect(Array.from(defaultPersonaName(long))).toHaveLength(PERSONA_NAME_MAX_CHARS);
		expect(defaultPersonaName("   ")).toBe("User");
	});
});

describe("views", () => {
	it("should show a persona with its books and without its owner", () => {
		const at = new Date(0);
		const row = {
			id: "p1",
			user_id: "u1",
			name: "Vex",
			description: "A rogue",
			is_default: true,
			has_avatar: false,
			created_at: at,
			updated_at: at,
		};
		expect(toPersonaView(row, ["b1"])).toEqual({
			id: "p1",
			name: "Vex",
			description: "A rogue",
			is_default: true,
			has_avatar: false,
			lorebook_ids: ["b1"],
			created_at: at,
			updated_at: at,
		});
	});

	it("should show a session's persona, or null when the user has none, and its books", () => {
		const listed: ListedSession = {
			id: "s1",
			character_id: "c1",
			character_name: "Agnes",
			status: "active",
			title: null,
			created_at: new Date(0),
			branched_from_session_id: null,
			branched_from_message_id: null,
			revision: "0",
			first_user_message: null,
			last_message_at: null,
			last_message: null,
			persona_id: "p1",
			persona_name: "Vex",
			lorebook_ids: ["b1", "b2"],
		};
		expect(toSessionView(listed)).toMatchObject({ persona: { id: "p1", name: "Vex" }, lorebook_ids: ["b1", "b2"] });
		expect(toSessionView({ ...listed, persona_id: null, persona_name: null, lorebook_ids: [] })).toMatchObject({
			persona: null,
			lorebook_ids: [],
		});
	});
});

describe("handshake persona_id", () => {
	const id = "7b0a5f8e-1d0c-4c51-9a52-3d2f0b8a9c11";
	it("should read a persona id, and refuse one that is no UUID", () => {
		const ok = parseChatHandshake(`/ws/${id}?token=t&persona_id=${id}`);
		expect(ok).toMatchObject({ ok: true, value: { personaId: id } });
		expect(parseChatHandshake(`/ws/${id}?token=t`)).toMatchObject({ ok: true, value: { personaId: undefined } });
		expect(parseChatHandshake(`/ws/${id}?token=t&persona_id=../x`)).toMatchObject({
			ok: false,
			problem: "invalid_param",
		});
	});
});
