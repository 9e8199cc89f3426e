/**
 * Hostile-input cases for issue 14's personas routes (see hostile-cases.ts for the table's rules). `preparePersonas` sets
 * up, as the attacker and the victim, what the cases aim at; its ids land in `ctx.ids`.
 */
import { crc32 } from "node:zlib";
import sharp from "sharp";
import {
	INVALID_JSON,
	TOO_LARGE,
	VALIDATION,
	storedForm,
	tag,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
	restCase,
} from "./hostile-cases.js";

/** A request as one account: the spec's REST client. */
export type AsUser = (
	token: string,
	method: string,
	path: string,
	body?: unknown,
) => Promise<{ status: number; body: unknown }>;

/** A small real PNG, and one whose header claims 60000x60000 pixels (a decompression bomb), as `data:` URLs. */
let images: { png: string; bomb: string } | undefined;

export async function preparePersonas(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#a33" } })
		.png()
		.toBuffer();
	images = { png: dataUrl("image/png", png), bomb: dataUrl("image/png", claimingSize(png, 60_000, 60_000)) };
	const make = async (token: string, body: Record<string, unknown>) => {
		const made = await asUser(token, "POST", "/personas", body);
		if (made.status !== 201) throw new Error(`preparePersonas: ${made.status} ${JSON.stringify(made.body)}`);
		return (made.body as { id: string }).id;
	};
	const [victimPersonaId, attackerPersonaId] = await Promise.all([
		make(ctx.victim.token, { name: "Victim's secret self", description: "Private", avatar: images.png }),
		make(ctx.attacker.token, { name: "Attacker's mask" }),
	]);
	const victimList = await asUser(ctx.victim.token, "GET", "/personas");
	const victimDefaultId = (victimList.body as { id: string; is_default: boolean }[]).find((p) => p.is_default)!.id;
	return { victimPersonaId, victimDefaultId, attackerPersonaId };
}

export function personaRequests(ctx: HostileContext): RestCase[] {
	const { victimPersonaId, victimDefaultId, attackerPersonaId } = ctx.ids;
	if (!victimPersonaId || !images) return [];
	const theirs = `/personas/${victimPersonaId}`;
	const mine = `/personas/${attackerPersonaId}`;
	const session = `/sessions/${ctx.ownSessionId}`;
	const personaNotFound = { status: [404], code: ["PERSONA_NOT_FOUND"] };
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const invalidImage = { status: [422], code: ["INVALID_IMAGE"] };
	/** POST /personas and PATCH /personas/{own} with the same body. */
	const bothWrites = (
		category: Category,
		name: string,
		body: Record<string, unknown>,
		expect: Pick<RestCase, "status" | "code" | "field">,
	) => [
		restCase(category, `/personas ${name}`, "POST", "/personas", { name: `Persona ${tag()}`, ...body }, expect),
		restCase(category, `/personas/{own} ${name}`, "PATCH", mine, body, expect),
	];
	/** A persona made with this name, read back exactly as PostgreSQL keeps it. */
	const named = (category: Category, label: string, name: string): RestCase =>
		restCase(
			category,
			`/personas named ${label}`,
			"POST",
			"/personas",
			{ name },
			{
				...VALIDATION,
				ok: { status: 201, check: (b: Json) => readsBack(b?.name, storedForm(name).trim()) },
			},
		);

	const wrongTypes: [string, unknown][] = [
		["number", 42],
		["boolean", true],
		["array", ["x"]],
		["operator object", { $ne: "" }],
	];
	const cases: RestCase[] = [
		// Someone else's persona: as if it did not exist, on every route, and in a session of mine.
		restCase("other_users", "/personas/{theirs}", "GET", theirs, undefined, personaNotFound),
		restCase(
			"other_users",
			"/personas/{theirs, upper case}",
			"GET",
			theirs.toUpperCase().replace("/PERSONAS", "/personas"),
			undefined,
			personaNotFound,
		),
		restCase("other_users", "/personas/{theirs} rename", "PATCH", theirs, { name: "Mine now" }, personaNotFound),
		restCase("other_users", "/personas/{theirs} make default", "PATCH", theirs, { is_default: true }, personaNotFound),
		restCase("other_users", "/personas/{theirs} avatar", "PATCH", theirs, { avatar: null }, personaNotFound),
		restCase(
			"other_users",
			"/personas/{their default}",
			"DELETE",
			`/personas/${victimDefaultId}`,
			undefined,
			personaNotFound,
		),
		restCase("other_users", "/personas/{theirs}", "DELETE", theirs, undefined, personaNotFound),
		restCase("other_users", "/personas/{theirs}/avatar", "GET", `${theirs}/avatar`, undefined, personaNotFound),
		restCase(
			"other_users",
			"/sessions/{own} with their persona",
			"PATCH",
			session,
			{ persona_id: victimPersonaId },
			personaNotFound,
		),
		restCase(
			"other_users",
			"/sessions/{theirs} with my persona",
			"PATCH",
			`/sessions/${ctx.victimSessionId}`,
			{ persona_id: attackerPersonaId },
			{ status: [404], code: ["SESSION_NOT_FOUND"] },
		),
		restCase("other_users", "/personas lists mine only", "GET", "/personas", undefined, {
			status: [200],
			ok: {
				status: 200,
				check: (b: Json) =>
					Array.isArray(b) && b.every((p) => p.id !== victimPersonaId && p.id !== victimDefaultId)
						? undefined
						: "lists the victim's personas",
			},
		}),

		// Wrong types, for every field of a persona, and for a session's persona and books.
		...wrongTypes.flatMap(([kind, value]) => [
			...bothWrites("wrong_types", `name as ${kind}`, { name: value }, invalid("name")),
			...bothWrites("wrong_types", `description as ${kind}`, { description: value }, invalid("description")),
			...bothWrites("wrong_types", `avatar as ${kind}`, { avatar: value }, invalid("avatar")),
			...bothWrites(
				"wrong_types",
				`is_default as ${kind}`,
				{ is_default: kind === "boolean" ? "true" : value },
				invalid("is_default"),
			),
			...bothWrites(
				"wrong_types",
				`lorebook_ids as ${kind}`,
				{ lorebook_ids: kind === "array" ? [42] : value },
				invalid("lorebook_ids"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own} persona_id as ${kind}`,
				"PATCH",
				session,
				{ persona_id: value },
				invalid("persona_id"),
			),
			restCase(
				"wrong_types",
				`/sessions/{own} lorebook_ids as ${kind}`,
				"PATCH",
				session,
				{ lorebook_ids: kind === "array" ? [true] : value },
				invalid("lorebook_ids"),
			),
		]),
		...bothWrites("wrong_types", "name null", { name: null }, invalid("name")),
		...bothWrites("wrong_types", "description null", { description: null }, invalid("description")),
		...bothWrites("wrong_types", "lorebook_ids of non-UUIDs", { lorebook_ids: ["../../etc"] }, invalid("lorebook_ids")),
		restCase("wrong_types", "/personas/{not a uuid}", "GET", "/personas/not-a-uuid", undefined, invalid("id")),
		restCase("wrong_types", "/personas/{not a uuid}/avatar", "GET", "/personas/12345/avatar", undefined, invalid("id")),
		restCase(
			"wrong_types",
			"/personas/{own}/avatar?size=huge",
			"GET",
			`${mine}/avatar?size=99999`,
			undefined,
			invalid("size"),
		),
		restCase("wrong_types", "/sessions/{own} with nothing to change", "PATCH", session, {}, VALIDATION),
		restCase(
			"wrong_types",
			"/sessions/{own} persona_id not a uuid",
			"PATCH",
			session,
			{ persona_id: "default" },
			invalid("persona_id"),
		),
		restCase(
			"wrong_types",
			"/sessions/{own} unknown persona",
			"PATCH",
			session,
			{ persona_id: crypto.randomUUID() },
			personaNotFound,
		),
		restCase("malformed_json", "/personas truncated", "POST", "/personas", '{"name": "Trunc', INVALID_JSON),
		restCase(
			"malformed_json",
			"/personas/{own} two documents",
			"PATCH",
			mine,
			'{"name": "a"}{"name": "b"}',
			INVALID_JSON,
		),

		// Huge fields and bodies.
		...bothWrites("huge_bodies", "name of 65 characters", { name: "n".repeat(65) }, invalid("name")),
		...bothWrites("huge_bodies", "name of 60 000 characters", { name: "n".repeat(60_000) }, invalid("name")),
		...bothWrites(
			"huge_bodies",
			"description of 4001 characters",
			{ description: "d".repeat(4001) },
			invalid("description"),
		),
		...bothWrites(
			"huge_bodies",
			"description of 600 000 characters",
			{ description: "d".repeat(600_000) },
			invalid("description"),
		),
		...bothWrites("huge_bodies", "21 lorebooks", { lorebook_ids: uuids(21) }, invalid("lorebook_ids")),
		...bothWrites("huge_bodies", "15 000 lorebooks", { lorebook_ids: uuids(15_000) }, invalid("lorebook_ids")),
		...bothWrites(
			"huge_bodies",
			"avatar over 512 kB",
			{ avatar: dataUrl("image/png", Buffer.alloc(530_000)) },
			{ status: [413], code: ["CARD_TOO_LARGE"] },
		),
		...bothWrites(
			"huge_bodies",
			"avatar of 4 MB",
			{ avatar: dataUrl("image/png", Buffer.alloc(3 * 1024 * 1024)) },
			TOO_LARGE,
		),
		restCase(
			"huge_bodies",
			"/sessions/{own} 1000 lorebooks",
			"PATCH",
			session,
			{ lorebook_ids: uuids(1000) },
			invalid("lorebook_ids"),
		),

		// Text the database cannot store.
		...bothWrites("null_bytes", "name with NUL", { name: "a\u0000b" }, invalid("name")),
		...bothWrites("null_bytes", "description with NUL", { description: "line\u0000line" }, invalid("description")),
		...bothWrites(
			"null_bytes",
			"avatar with NUL",
			{ avatar: `data:image/png;base64,\u0000${images.png.slice(22)}` },
			invalid("avatar"),
		),

		// Names stored as plain text, exactly.
		named("unicode", "with emoji, RTL and combining marks", "Zoë 🗡️ \u202Eevil\u202C ע̈"),
		named("unicode", "with a lone surrogate", "half \uD83D pair"),
		named("injection", "as SQL", "'); DROP TABLE personas; --"),
		named("injection", "as a template", "{{char}} ${process.env} <script>alert(1)</script>"),

		// Avatars that are not a PNG, JPEG or WebP image in a data: URL.
		...bothWrites(
			"png_bombs",
			"avatar declaring 60000x60000 pixels",
			{ avatar: images.bomb },
			{ status: [422], code: ["IMAGE_TOO_LARGE"] },
		),
		...bothWrites(
			"png_bombs",
			"avatar of text typed PNG",
			{ avatar: dataUrl("image/png", Buffer.from("just words")) },
			invalidImage,
		),
		...bothWrites("png_bombs", "avatar of a truncated PNG", { avatar: images.png.slice(0, 60) }, invalidImage),
		...bothWrites(
			"png_bombs",
			"avatar typed SVG",
			{ avatar: dataUrl("image/svg+xml", Buffer.from("<svg onload='x()'/>")) },
			invalid("avatar"),
		),
		...bothWrites("png_bombs", "avatar not base64", { avatar: "data:image/png,%89PNG" }, invalid("avatar")),
		...bothWrites("png_bombs", "avatar with bad base64", { avatar: "data:image/png;base64,@@@@" }, invalid("avatar")),
		...bothWrites("png_bombs", "avatar empty", { avatar: "data:image/png;base64," }, invalid("avatar")),
		...bothWrites("injection", "avatar as a javascript: URL", { avatar: "javascript:alert(1)" }, invalid("avatar")),
		...bothWrites("path_traversal", "avatar as a file: URL", { avatar: "file:///etc/passwd" }, invalid("avatar")),
		...bothWrites("path_traversal", "avatar as a path", { avatar: "../../../etc/passwd" }, invalid("avatar")),
		restCase("path_traversal", "/personas/{..}", "GET", "/personas/..%2F..%2Fetc%2Fpasswd", undefined, {
			status: [404, 422],
		}),
		restCase("path_traversal", "/personas/{..}/avatar", "GET", "/personas/..%2Fsessions/avatar", undefined, {
			status: [404, 422],
		}),
	];
	return cases;
}

/** A `data:` URL of `bytes` typed `type`. */
function dataUrl(type: string, bytes: Buffer): string {
	return `data:${type};base64,${bytes.toString("base64")}`;
}

/** The PNG with its header claiming `width` x `height` pixels (its checksum mended, so only the size is wrong). */
function claimingSize(png: Buffer, width: number, height: number): Buffer {
	const bomb = Buffer.from(png);
	bomb.writeUInt32BE(width, 16);
	bomb.writeUInt32BE(height, 20);
	bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)) >>> 0, 29);
	return bomb;
}

function uuids(count: number): string[] {
	return Array.from({ length: count }, () => crypto.randomUUID());
}

function readsBack(actual: unknown, expected: string): string | undefined {
	return actual === expected ? undefined : `name reads back as ${JSON.stringify(actual)}`;
}
