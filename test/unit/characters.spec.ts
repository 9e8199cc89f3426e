import { describe, expect, it } from "vitest";
import {
	FALLBACK_SLUG,
	SLUG_MAX_LENGTH,
	SUMMARY_TEXT_CHARS,
	canEdit,
	canView,
	characterBytes,
	containsPattern,
	nextFreeSlug,
	pickChanges,
	previewText,
	slugCandidate,
	slugFamilyPrefix,
	slugify,
	toCharacterView,
	type CharacterRecord,
	type Viewer,
} from "../../src/domain/characters.js";
import { SEED_CHARACTERS } from "../../src/domain/seed-characters.js";

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

describe("slugify", () => {
	it("should lowercase and join words with single hyphens", () => {
		expect(slugify("Agnes  Thorne")).toBe("agnes-thorne");
		expect(slugify("  --Hello, World!--  ")).toBe("hello-world");
		expect(slugify("R2-D2 & C-3PO")).toBe("r2-d2-c-3po");
	});

	it("should drop apostrophes instead of splitting on them", () => {
		expect(slugify("Captain's Log")).toBe("captains-log");
		expect(slugify("Rosie’s Diner")).toBe("rosies-diner");
	});

	it("should strip accents and transliterate Latin letters NFKD keeps", () => {
		expect(slugify("Élodie's Café")).toBe("elodies-cafe");
		expect(slugify("Lucía Ferrer")).toBe("lucia-ferrer");
		expect(slugify("Straße Æther Søren Łódź")).toBe("strasse-aether-soren-lodz");
		expect(slugify("ﬁve ①")).toBe("five-1");
	});

	it("should fall back when nothing Latin is left", () => {
		expect(slugify("クロ")).toBe(FALLBACK_SLUG);
		expect(slugify("🙂🙂")).toBe(FALLBACK_SLUG);
		expect(slugify("Кот Борис 2")).toBe("2");
	});

	it("should cut long names to the limit without a trailing hyphen", () => {
		const slug = slugify(`${"a".repeat(79)} b`);
		expect(slug).toBe("a".repeat(79));
		expect(slugify("word ".repeat(40)).length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
		expect(slugify("word ".repeat(40))).toMatch(SLUG);
	});
});

describe("derived slug candidates", () => {
	it("should number candidates from 2 and stay within the limit", () => {
		expect(slugCandidate("chef", 1)).toBe("chef");
		expect(slugCandidate("chef", 2)).toBe("chef-2");
		const long = `${"a".repeat(78)}-b`;
		expect(slugCandidate(long, 12)).toBe(`${"a".repeat(77)}-12`);
		expect(slugCandidate(long, 12).length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
	});

	it("should pick the first free one", () => {
		expect(nextFreeSlug("chef", new Set())).toBe("chef");
		expect(nextFreeSlug("chef", new Set(["chef", "chef-2", "chef-4"]))).toBe("chef-3");
	});

	it("should have a family prefix shared by every candidate", () => {
		for (const base of ["chef", "a".repeat(80), `${"a".repeat(75)}---b`, `${"ab-".repeat(26)}ab`]) {
			const prefix = slugFamilyPrefix(base);
			for (const n of [1, 2, 9, 10, 99, 100, 999]) expect(slugCandidate(base, n).startsWith(prefix)).toBe(true);
		}
	});
});

describe("containsPattern", () => {
	it("should escape LIKE wildcards", () => {
		expect(containsPattern("ab")).toBe("%ab%");
		expect(containsPattern("100%_\\")).toBe("%100\\%\\_\\\\%");
	});
});

describe("visibility rules", () => {
	const owner: Viewer = { id: "u-owner", role: "user" };
	const other: Viewer = { id: "u-other", role: "user" };
	const admin: Viewer = { id: "u-admin", role: "admin" };
	const character = (is_public: boolean, is_active: boolean, created_by: string | null = owner.id) => ({
		is_public,
		is_active,
		hidden: false,
		nsfw: false,
		created_by,
	});

	it("should show public active characters to everyone, anonymous callers included", () => {
		for (const user of [owner, other, admin, undefined, null]) expect(canView(character(true, true), user)).toBe(true);
	});

	it("should hide private or inactive characters from everyone but the creator and admins", () => {
		for (const c of [character(false, true), character(true, false), character(false, false)]) {
			expect(canView(c, owner)).toBe(true);
			expect(canView(c, admin)).toBe(true);
			expect(canView(c, other)).toBe(false);
			expect(canView(c, undefined)).toBe(false);
		}
	});

	it("should let only the creator and admins edit", () => {
		expect(canEdit(character(true, true), owner)).toBe(true);
		expect(canEdit(character(true, true), admin)).toBe(true);
		expect(canEdit(character(true, true), other)).toBe(false);
		expect(canEdit(character(true, true), undefined)).toBe(false);
	});

	it("should make seed characters (no creator) admin-only, and never match a missing user id", () => {
		const seed = character(true, true, null);
		expect(canEdit(seed, admin)).toBe(true);
		expect(canEdit(seed, other)).toBe(false);
		expect(canEdit(seed, { id: null as unknown as string, role: "user" })).toBe(false);
		expect(canView(character(false, true, null), other)).toBe(false);
	});

	it("should show a hidden character to its creator and admins only, whatever else it is", () => {
		const hidden = { ...character(true, true), hidden: true };
		expect(canView(hidden, owner)).toBe(true);
		expect(canView(hidden, admin)).toBe(true);
		expect(canView(hidden, other)).toBe(false);
		expect(canView(hidden, { ...other, show_nsfw: true })).toBe(false);
		expect(canView(hidden, undefined)).toBe(false);
	});

	it("should show an NSFW character only to users who opted in, besides its creator and admins", () => {
		const nsfw = { ...character(true, true), nsfw: true };
		expect(canView(nsfw, other)).toBe(false);
		expect(canView(nsfw, { ...other, show_nsfw: false })).toBe(false);
		expect(canView(nsfw, { ...other, show_nsfw: true })).toBe(true);
		expect(canView(nsfw, undefined)).toBe(false);
		expect(canView(nsfw, owner)).toBe(true);
		expect(canView(nsfw, admin)).toBe(true);
		// Opting in shows NSFW characters, never private ones.
		expect(canView({ ...nsfw, is_public: false }, { ...other, show_nsfw: true })).toBe(false);
	});
});

describe("pickChanges and toCharacterView", () => {
	it("should keep only given editable fields", () => {
		const picked = pickChanges({
			name: "N",
			is_public: false,
			greeting: undefined,
			...{ created_by: "x", id: "y" },
		} as never);
		expect(picked).toEqual({ name: "N", is_public: false });
	});

	it("should produce the snake_case wire shape with ISO timestamps", () => {
		const card = {
			personality: "pe",
			scenario: "sc",
			mes_example: "<START>",
			post_history_instructions: "ph",
			alternate_greetings: ["hey"],
			creator_notes: "cn",
			creator: "cr",
			character_version: "1",
			tags: ["t"],
			has_avatar: true,
			llm_model: null,
			temperature: 0.5,
			max_output_tokens: null,
		};
		const row: CharacterRecord & { extra: string; avatar: Buffer } = {
			id: "id-1",
			name: "N",
			slug: "n",
			description: "d",
			system_prompt: "p",
			greeting: "g",
			is_active: true,
			is_public: false,
			hidden: true,
			nsfw: false,
			created_by: null,
			created_at: new Date("2024-01-02T03:04:05Z"),
			updated_at: "2024-02-03T04:05:06.000Z",
			extra: "not on the wire",
			...card,
			extensions: { world: "w", cameo_card_extra: { fields: { nickname: "n" } } },
			avatar: Buffer.from("not on the wire"),
		};
		expect(toCharacterView(row)).toEqual({
			id: "id-1",
			name: "N",
			slug: "n",
			description: "d",
			system_prompt: "p",
			greeting: "g",
			is_active: true,
			is_public: false,
			hidden: true,
			nsfw: false,
			created_by: null,
			created_at: "2024-01-02T03:04:05.000Z",
			updated_at: "2024-02-03T04:05:06.000Z",
			...card,
			extensions: { world: "w" },
		});
	});
});

describe("seed characters", () => {
	it("should be well-formed, with unique valid slugs and substantial prompts", () => {
		expect(SEED_CHARACTERS.length).toBeGreaterThanOrEqual(4);
		expect(SEED_CHARACTERS.length).toBeLessThanOrEqual(6);
		expect(new Set(SEED_CHARACTERS.map((c) => c.slug)).size).toBe(SEED_CHARACTERS.length);
		for (const c of SEED_CHARACTERS) {
			expect(c.slug).toMatch(SLUG);
			expect(c.name.length).toBeLessThanOrEqual(80);
			expect(c.description.length).toBeGreaterThan(20);
			expect(c.description.length).toBeLessThanOrEqual(2000);
			expect(c.system_prompt.length).toBeGreaterThan(500);
			expect(c.system_prompt.length).toBeLessThanOrEqual(20_000);
			expect(c.greeting.length).toBeGreaterThan(20);
			expect(c.greeting.length).toBeLessThanOrEqual(5000);
		}
	});
});

describe("list summaries", () => {
	it("should cut a preview at a code point, marking the cut", () => {
		expect(previewText("short")).toBe("short");
		expect(previewText("x".repeat(SUMMARY_TEXT_CHARS))).toBe("x".repeat(SUMMARY_TEXT_CHARS));
		expect(previewText("x".repeat(SUMMARY_TEXT_CHARS + 1))).toBe(`${"x".repeat(SUMMARY_TEXT_CHARS - 1)}…`);
		// An emoji straddling the cut is dropped whole, not halved.
		const cut = previewText(`${"x".repeat(SUMMARY_TEXT_CHARS - 2)}\u{1F600}tail`);
		expect(cut).toBe(`${"x".repeat(SUMMARY_TEXT_CHARS - 2)}…`);
		expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false);
	});
});

describe("characterBytes", () => {
	it("should count text in UTF-8, lists and extensions as JSON, and the avatar", () => {
		expect(characterBytes({})).toBe(0);
		expect(characterBytes({ name: "é", description: "ab" })).toBe(4);
		expect(characterBytes({ tags: ["a"], extensions: {} })).toBe('["a"]'.length + 2);
		expect(characterBytes({ name: "a" }, Buffer.alloc(1000))).toBe(1001);
	});
});
