/**
 * A new character row under a slug that is free among its owner's characters (slugs are unique per owner). A slug
 * derived from the name takes the next free number in its family, looking again when a concurrent create takes it
 * first; a slug the caller gave is theirs to change when taken (409).
 */
import { ForeignKeyConstraintError, Op, UniqueConstraintError, type CreationAttributes } from "sequelize";
import type { Character } from "../../models/index.js";
import { SlugTaken, Unauthorized } from "../errors.js";
import { nextFreeSlug, slugFamilyPrefix, slugify } from "../domain/characters.js";

/** A character's columns, the slug aside. */
export type NewCharacter = Omit<CreationAttributes<Character>, "slug">;

const DERIVED_SLUG_ATTEMPTS = 5;

export async function insertCharacter(
	characters: typeof Character,
	data: NewCharacter,
	explicitSlug: string | undefined,
): Promise<Character> {
	const base = explicitSlug ?? slugify(data.name);
	// A derived slug can lose a race with a concurrent create between our read and our insert: look again.
	for (let attempt = 0; attempt < DERIVED_SLUG_ATTEMPTS; attempt += 1) {
		let slug = base;
		if (!explicitSlug) {
			// Slugs are unique per owner: others' characters, private ones included, never show here.
			const family = await characters.findAll({
				attributes: ["slug"],
				where: { created_by: data.created_by, slug: { [Op.startsWith]: slugFamilyPrefix(base) } },
			});
			slug = nextFreeSlug(base, new Set(family.map((row) => row.slug)));
		}
		try {
			return await characters.create({ ...data, slug });
		} catch (err) {
			if (err instanceof ForeignKeyConstraintError) throw Unauthorized("Your account no longer exists");
			if (!(err instanceof UniqueConstraintError)) throw err;
			if (explicitSlug) throw SlugTaken(explicitSlug);
		}
	}
	throw SlugTaken(base);
}
