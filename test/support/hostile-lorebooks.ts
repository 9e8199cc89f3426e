/**
 * Hostile-input cases for issue 14's lorebooks routes (see hostile-cases.ts for the table's rules). `prepareLorebooks` sets
 * up, as the attacker and the victim, what the cases aim at; its ids land in `ctx.ids`.
 */
import {
	INVALID_JSON,
	TOO_LARGE,
	VALIDATION,
	deepObject,
	storedForm,
	tag,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
	restCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";
import {
	MAX_ENTRY_CONTENT_CHARS,
	MAX_KEYS_PER_ENTRY,
	MAX_KEY_CHARS,
	MAX_LOREBOOK_NAME_CHARS,
	MAX_LORE_ENTRIES,
} from "../../src/domain/lorebook-format.js";

export async function prepareLorebooks(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const make = async (token: string, body: Record<string, unknown>) => {
		const made = await asUser(token, "POST", "/lorebooks", body);
		if (made.status !== 201) throw new Error(`prepareLorebooks: ${made.status} ${JSON.stringify(made.body)}`);
		return (made.body as { id: string }).id;
	};
	const secret = { keys: ["diary"], content: "The victim's secret lore" };
	const [victimPrivateLorebookId, victimPublicLorebookId, ownLorebookId] = await Promise.all([
		make(ctx.victim.token, { name: "Victim's private lore", entries: [secret] }),
		make(ctx.victim.token, { name: "Victim's shared lore", is_public: true, entries: [{ keys: ["map"] }] }),
		make(ctx.attacker.token, { name: "Attacker's lore", entries: [{ keys: ["mine"], content: "Mine." }] }),
	]);
	return { victimPrivateLorebookId, victimPublicLorebookId, ownLorebookId };
}

/** A world-info file of `entries` entries, each with these fields. */
const worldInfo = (entries: number, fields: Record<string, unknown> = {}) => ({
	entries: Object.fromEntries(
		Array.from({ length: entries }, (_, uid) => [String(uid), { uid, key: ["k"], content: "c", ...fields }]),
	),
});

export function lorebookRequests(ctx: HostileContext): RestCase[] {
	const { victimPrivateLorebookId, victimPublicLorebookId, ownLorebookId } = ctx.ids;
	if (!victimPrivateLorebookId) return [];
	const theirs = `/lorebooks/${victimPrivateLorebookId}`;
	const shared = `/lorebooks/${victimPublicLorebookId}`;
	const mine = `/lorebooks/${ownLorebookId}`;
	const notFound = { status: [404], code: ["LOREBOOK_NOT_FOUND"] };
	const forbidden = { status: [403], code: ["FORBIDDEN"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const newBook = (body: Record<string, unknown>) => ({ name: `Lore ${tag()}`, ...body });
	/** POST /lorebooks and PATCH /lorebooks/{own} with the same fields. */
	const bothWrites = (
		category: Category,
		name: string,
		body: Record<string, unknown>,
		expect: Pick<RestCase, "status" | "code" | "field">,
	) => [
		restCase(category, `/lorebooks ${name}`, "POST", "/lorebooks", newBook(body), expect),
		restCase(category, `/lorebooks/{own} ${name}`, "PATCH", mine, body, expect),
	];
	/** A book made with one entry of this content, read back exactly as PostgreSQL keeps it. */
	const storedContent = (category: Category, label: string, content: string): RestCase =>
		restCase(category, `/lorebooks with ${label}`, "POST", "/lorebooks", newBook({ entries: [{ content }] }), {
			...VALIDATION,
			ok: {
				status: 201,
				check: (b: Json) =>
					b?.entries?.[0]?.content === storedForm(content)
						? undefined
						: `content reads back as ${JSON.stringify(b?.entries?.[0]?.content)?.slice(0, 80)}`,
			},
		});
	let deepEntryExtensions: unknown = 1;
	for (let i = 0; i < 27; i++) deepEntryExtensions = { d: deepEntryExtensions };

	return [
		// Someone else's private book: as if it did not exist, on every route, and when attaching it.
		restCase("other_users", "/lorebooks/{theirs}", "GET", theirs, undefined, notFound),
		restCase(
			"other_users",
			"/lorebooks/{theirs, upper case}",
			"GET",
			`/lorebooks/${victimPrivateLorebookId.toUpperCase()}`,
			undefined,
			notFound,
		),
		restCase("other_users", "/lorebooks/{theirs}/export", "GET", `${theirs}/export`, undefined, notFound),
		restCase(
			"other_users",
			"/lorebooks/{theirs}/export as character_book",
			"GET",
			`${theirs}/export?format=character_book`,
			undefined,
			notFound,
		),
		restCase("other_users", "/lorebooks/{theirs} rename", "PATCH", theirs, { name: "Mine now" }, notFound),
		restCase("other_users", "/lorebooks/{theirs} make public", "PATCH", theirs, { is_public: true }, notFound),
		restCase("other_users", "/lorebooks/{theirs}", "DELETE", theirs, undefined, notFound),
		restCase(
			"other_users",
			"/characters/id/{own} with their private book",
			"PATCH",
			`/characters/id/${ctx.ownCharacterId}`,
			{ lorebook_ids: [ownLorebookId, victimPrivateLorebookId] },
			notFound,
		),
		restCase(
			"other_users",
			"/characters/id/{theirs} with my book",
			"PATCH",
			`/characters/id/${ctx.victimPublicCharacterId}`,
			{ lorebook_ids: [ownLorebookId] },
			forbidden,
		),
		restCase(
			"other_users",
			"/characters/id/{their private one} with my book",
			"PATCH",
			`/characters/id/${ctx.victimPrivateCharacterId}`,
			{ lorebook_ids: [ownLorebookId] },
			{ status: [404], code: ["CHARACTER_NOT_FOUND"] },
		),
		// Someone else's public book: readable, never writable.
		restCase("other_users", "/lorebooks/{their public one} rename", "PATCH", shared, { name: "Mine" }, forbidden),
		restCase("other_users", "/lorebooks/{their public one}", "DELETE", shared, undefined, forbidden),
		restCase("other_users", "/lorebooks/{their public one}", "GET", shared, undefined, {
			status: [200],
			ok: {
				status: 200,
				check: (b: Json) => (b?.is_own === false && b?.id === victimPublicLorebookId ? undefined : "not theirs"),
			},
		}),
		restCase("other_users", "/lorebooks lists no private book of theirs", "GET", "/lorebooks", undefined, {
			status: [200],
			ok: {
				status: 200,
				check: (b: Json) =>
					Array.isArray(b) && !b.some((book: Json) => book.id === victimPrivateLorebookId)
						? undefined
						: "lists their private book",
			},
		}),

		// Wrong types, each refused naming the field.
		...bothWrites("wrong_types", "name a number", { name: 42 }, invalid("name")),
		...bothWrites("wrong_types", "scan_depth a string", { scan_depth: "3" }, invalid("scan_depth")),
		...bothWrites("wrong_types", "is_public a string", { is_public: "true" }, invalid("is_public")),
		...bothWrites("wrong_types", "entries a string", { entries: "all of them" }, invalid("entries")),
		...bothWrites("wrong_types", "entries of numbers", { entries: [1, 2] }, invalid("entries")),
		...bothWrites("wrong_types", "keys a string", { entries: [{ keys: "dragon" }] }, invalid("entries[0].keys")),
		...bothWrites("wrong_types", "keys of objects", { entries: [{ keys: [{ $ne: "" }] }] }, invalid("entries[0].keys")),
		...bothWrites("wrong_types", "id a string", { entries: [{ id: "1" }] }, invalid("entries[0].id")),
		...bothWrites(
			"wrong_types",
			"position unknown",
			{ entries: [{ position: "at_depth" }] },
			invalid("entries[0].position"),
		),
		...bothWrites("wrong_types", "extensions a list", { extensions: ["x"] }, invalid("extensions")),
		...bothWrites(
			"wrong_types",
			"two entries with one id",
			{ entries: [{ id: 1 }, { id: 1 }] },
			invalid("entries[1].id"),
		),
		restCase("wrong_types", "/lorebooks/import a list", "POST", "/lorebooks/import", [{ key: ["x"] }], VALIDATION),
		restCase("wrong_types", "/lorebooks/import neither format", "POST", "/lorebooks/import", { hello: 1 }, VALIDATION),
		restCase(
			"wrong_types",
			"/lorebooks/import entries a number",
			"POST",
			"/lorebooks/import",
			{ entries: 5 },
			invalid("entries"),
		),
		restCase(
			"wrong_types",
			"/lorebooks/import world info with disable a string",
			"POST",
			"/lorebooks/import",
			{ entries: { "0": { key: ["k"], disable: "yes" } } },
			invalid("entries.0.disable"),
		),
		restCase(
			"wrong_types",
			"/lorebooks?scope=everyone",
			"GET",
			"/lorebooks?scope=everyone",
			undefined,
			invalid("scope"),
		),
		restCase(
			"wrong_types",
			"/lorebooks/{own}/export?format=xml",
			"GET",
			`${mine}/export?format=xml`,
			undefined,
			invalid("format"),
		),
		restCase(
			"wrong_types",
			"/characters/id/{own} lorebook_ids not ids",
			"PATCH",
			`/characters/id/${ctx.ownCharacterId}`,
			{ lorebook_ids: ["../../etc/passwd"] },
			invalid("lorebook_ids"),
		),
		restCase(
			"wrong_types",
			"/characters/id/{own} lorebook_ids a string",
			"PATCH",
			`/characters/id/${ctx.ownCharacterId}`,
			{ lorebook_ids: ownLorebookId },
			invalid("lorebook_ids"),
		),
		restCase(
			"malformed_json",
			"/lorebooks/import truncated",
			"POST",
			"/lorebooks/import",
			'{"entries": {"0": {',
			INVALID_JSON,
		),

		// Huge: the whole body (413), or past a cap (422).
		restCase(
			"huge_bodies",
			"/lorebooks/import over 2 MB",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { content: "x".repeat(2.1 * 1024 * 1024) }),
			TOO_LARGE,
		),
		restCase(
			"huge_bodies",
			"/lorebooks over 2 MB",
			"POST",
			"/lorebooks",
			newBook({ entries: [{ content: "x".repeat(2.1 * 1024 * 1024) }] }),
			TOO_LARGE,
		),
		restCase(
			"huge_bodies",
			`/lorebooks/import of ${MAX_LORE_ENTRIES + 1} entries`,
			"POST",
			"/lorebooks/import",
			worldInfo(MAX_LORE_ENTRIES + 1),
			invalid("entries"),
		),
		...bothWrites(
			"huge_bodies",
			`${MAX_LORE_ENTRIES + 1} entries`,
			{ entries: Array.from({ length: MAX_LORE_ENTRIES + 1 }, () => ({})) },
			invalid("entries"),
		),
		...bothWrites(
			"huge_bodies",
			"content over the cap",
			{ entries: [{ content: "x".repeat(MAX_ENTRY_CONTENT_CHARS + 1) }] },
			invalid("entries[0].content"),
		),
		...bothWrites(
			"huge_bodies",
			"too many keys",
			{ entries: [{ keys: Array.from({ length: MAX_KEYS_PER_ENTRY + 1 }, (_, i) => `k${i}`) }] },
			invalid("entries[0].keys"),
		),
		...bothWrites(
			"huge_bodies",
			"a key over the cap",
			{ entries: [{ secondary_keys: ["k".repeat(MAX_KEY_CHARS + 1)] }] },
			invalid("entries[0].secondary_keys[0]"),
		),
		...bothWrites(
			"huge_bodies",
			"name over the cap",
			{ name: "n".repeat(MAX_LOREBOOK_NAME_CHARS + 1) },
			invalid("name"),
		),
		restCase(
			"huge_bodies",
			"/lorebooks/import ?name= over the cap",
			"POST",
			`/lorebooks/import?name=${"n".repeat(MAX_LOREBOOK_NAME_CHARS + 1)}`,
			worldInfo(1),
			invalid("name"),
		),
		restCase(
			"huge_bodies",
			"/characters/id/{own} 21 books",
			"PATCH",
			`/characters/id/${ctx.ownCharacterId}`,
			{ lorebook_ids: Array.from({ length: 21 }, () => ownLorebookId) },
			invalid("lorebook_ids"),
		),

		// Nesting: past the gateway's limit, or past the books' own (below the gateway's).
		restCase(
			"deep_nesting",
			"/lorebooks/import nested 64 deep",
			"POST",
			"/lorebooks/import",
			`{"entries":{"0":${deepObject(64)}}}`,
			VALIDATION,
		),
		...bothWrites(
			"deep_nesting",
			"entry extensions nested 28 deep",
			{ entries: [{ extensions: deepEntryExtensions }] },
			VALIDATION,
		),

		// NUL: PostgreSQL cannot store it, in a value or a key.
		...bothWrites("null_bytes", "content with NUL", { entries: [{ content: "a\u0000b" }] }, VALIDATION),
		...bothWrites(
			"null_bytes",
			"an extension key with NUL",
			{ entries: [{ extensions: { "a\u0000b": 1 } }] },
			VALIDATION,
		),
		restCase(
			"null_bytes",
			"/lorebooks/import a key with NUL",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { key: ["dra\u0000gon"] }),
			VALIDATION,
		),
		restCase(
			"null_bytes",
			"/lorebooks/import a field name with NUL",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { "extra\u0000": true }),
			VALIDATION,
		),

		// Text PostgreSQL keeps as it is (or mends: half a surrogate pair becomes U+FFFD, even inside jsonb).
		storedContent("unicode", "a lone surrogate", "a\uD800b"),
		storedContent("unicode", "RTL override and zero-width joiners", "Safe\u202Egnp\u200D.exe"),
		storedContent("injection", "SQL", "'); DROP TABLE lorebooks;--"),
		restCase(
			"unicode",
			"/lorebooks/import an extension key with a lone surrogate",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { "note\uDC00": "x" }),
			{
				...VALIDATION,
				ok: {
					status: 201,
					check: (b: Json) => (b?.entries?.[0]?.extensions?.["note\uFFFD"] === "x" ? undefined : "not kept"),
				},
			},
		),

		// Pathological regular expressions: refused, or stored and matched in linear time.
		restCase(
			"injection",
			"/lorebooks/import a catastrophic regex key",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { key: ["/(a+)+$/", "/(x+x+)+y/i", "/^(([a-z])+.)+[A-Z]([a-z])+$/"] }),
			{
				...VALIDATION,
				ok: { status: 201, check: (b: Json) => (b?.entries?.[0]?.keys?.length === 3 ? undefined : "keys lost") },
			},
		),
		...bothWrites(
			"injection",
			"a backreference regex key",
			{ entries: [{ keys: ["/(a)\\1/"] }] },
			invalid("entries[0].keys[0]"),
		),
		restCase(
			"injection",
			"/lorebooks/import an unclosed regex key",
			"POST",
			"/lorebooks/import",
			worldInfo(1, { keysecondary: ["/[unclosed/"] }),
			invalid("entries[0].secondary_keys[0]"),
		),
		restCase(
			"injection",
			"/lorebooks/import regex keys slow to compile",
			"POST",
			"/lorebooks/import",
			worldInfo(3, { key: [`/${"\\pL{100}".repeat(22)}/`, `/${"[\\s\\S]{100}".repeat(16)}/`] }),
			invalid("entries[0].keys"),
		),
		restCase(
			"path_traversal",
			"/lorebooks/..%2f..%2fetc%2fpasswd",
			"GET",
			"/lorebooks/..%2f..%2fetc%2fpasswd",
			undefined,
			{ status: [404, 422] },
		),
	];
}
