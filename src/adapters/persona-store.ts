/**
 * PostgreSQL access for personas. One default per user (the partial unique index ux_personas_default): making one
 * default unsets the other in the same transaction, and a user with none gets one, named after them, when one is
 * first needed (sign-up, the list, a chat) — concurrent first needs make one, the index settles the race.
 */
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { defaultPersonaName, type PersonaRow } from "../domain/personas.js";

export type { PersonaRow } from "../domain/personas.js";

/** Whose persona: the user's id, and the display name a default is named after. */
export interface PersonaOwner {
	id: string;
	name: string;
}

export interface PersonaFields {
	name?: string;
	description?: string;
	/** The stored PNG, or null to remove it. */
	avatar?: Buffer | null;
	/** Only `true` means something: a default is replaced by making another one default. */
	is_default?: boolean;
}

/** What removing a persona came to. */
export type PersonaRemoval = "removed" | "not_found" | "only_persona";

const COLUMNS = `id, user_id, name, description, is_default, avatar IS NOT NULL AS has_avatar, created_at, updated_at`;

export class PersonaStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** The session's persona if it still exists and is the user's, else the user's default (made if missing). */
	async forSession(personaId: string | null, user: PersonaOwner): Promise<PersonaRow> {
		if (personaId) {
			const persona = await this.get(user.id, personaId);
			if (persona) return persona;
		}
		return this.defaultFor(user);
	}

	/** The user's default persona, made (named after them) when they have none. */
	async defaultFor(user: PersonaOwner): Promise<PersonaRow> {
		for (;;) {
			const [found] = await this.query(`SELECT ${COLUMNS} FROM personas WHERE user_id = $1 AND is_default`, [user.id]);
			if (found) return found;
			const [made] = await this.query(
				`INSERT INTO personas (user_id, name, is_default) VALUES ($1, $2, true)
				 ON CONFLICT (user_id) WHERE is_default DO NOTHING RETURNING ${COLUMNS}`,
				[user.id, defaultPersonaName(user.name)],
			);
			if (made) return made;
			// Another request made it meanwhile (or changed which one is default): read it again.
		}
	}

	/** The user's personas, the default first, then oldest first; a user without one gets their default now. */
	async list(user: PersonaOwner): Promise<PersonaRow[]> {
		await this.defaultFor(user);
		return this.query(`SELECT ${COLUMNS} FROM personas WHERE user_id = $1 ORDER BY is_default DESC, created_at, id`, [
			user.id,
		]);
	}

	/** One of the user's personas, or null (unknown or someone else's). */
	async get(userId: string, id: string): Promise<PersonaRow | null> {
		const [row] = await this.query(`SELECT ${COLUMNS} FROM personas WHERE id = $1 AND user_id = $2`, [id, userId]);
		return row ?? null;
	}

	async create(user: PersonaOwner, fields: PersonaFields & { name: string }): Promise<PersonaRow> {
		await this.defaultFor(user);
		return this.sequelize.transaction(async (transaction) => {
			await this.lockPersonasOf(user.id, transaction);
			if (fields.is_default) await this.unsetDefault(user.id, transaction);
			const [row] = await this.query(
				`INSERT INTO personas (user_id, name, description, avatar, is_default) VALUES ($1, $2, $3, $4, $5)
				 RETURNING ${COLUMNS}`,
				[user.id, fields.name, fields.description ?? "", fields.avatar ?? null, fields.is_default === true],
				transaction,
			);
			return row;
		});
	}

	/** Changes the fields given; null when the persona is not the user's. */
	async update(userId: string, id: string, fields: PersonaFields): Promise<PersonaRow | null> {
		return this.sequelize.transaction(async (transaction) => {
			await this.lockPersonasOf(userId, transaction);
			const [own] = await this.query(
				`SELECT ${COLUMNS} FROM personas WHERE id = $1 AND user_id = $2 FOR UPDATE`,
				[id, userId],
				transaction,
			);
			if (!own) return null;
			if (fields.is_default && !own.is_default) await this.unsetDefault(userId, transaction);
			const [row] = await this.query(
				`UPDATE personas SET
					name = COALESCE($2, name),
					description = COALESCE($3, description),
					avatar = CASE WHEN $4::boolean THEN $5::bytea ELSE avatar END,
					is_default = is_default OR $6::boolean,
					updated_at = now()
				 WHERE id = $1 RETURNING ${COLUMNS}`,
				[
					id,
					fields.name ?? null,
					fields.description ?? null,
					fields.avatar !== undefined,
					fields.avatar ?? null,
					fields.is_default === true,
				],
				transaction,
			);
			return row;
		});
	}

	/**
	 * Deletes one of the user's personas; sessions using it fall back to the default (ON DELETE SET NULL). The default
	 * passes to the oldest other persona; the only one is kept.
	 */
	async remove(userId: string, id: string): Promise<PersonaRemoval> {
		return this.sequelize.transaction(async (transaction) => {
			await this.lockPersonasOf(userId, transaction);
			const personas = await this.query(
				`SELECT ${COLUMNS} FROM personas WHERE user_id = $1 ORDER BY created_at, id `,
				[userId],
				transaction,
			);
			const target = personas.find((p) => p.id === id);
			if (!target) return "not_found";
			const heir = personas.find((p) => p.id !== id);
			if (!heir) return "only_persona";
			await this.query(`DELETE FROM personas WHERE id = $1 RETURNING id`, [id], transaction);
			if (target.is_default) {
				await this.query(
					`UPDATE personas SET is_default = true, updated_at = now() WHERE id = $1 RETURNING id`,
					[heir.id],
					transaction,
				);
			}
			return "removed";
		});
	}

	/** The stored avatar of one of the user's personas, or null (none, unknown, someone else's). */
	async avatar(userId: string, id: string): Promise<{ image: Buffer; updated_at: Date } | null> {
		const [row] = await this.sequelize.query<{ avatar: Buffer; updated_at: Date }>(
			`SELECT avatar, updated_at FROM personas WHERE id = $1 AND user_id = $2 AND avatar IS NOT NULL`,
			{ bind: [id, userId], type: QueryTypes.SELECT },
		);
		return row ? { image: row.avatar, updated_at: row.updated_at } : null;
	}

	/**
	 * Writes to one user's personas run one at a time: two that each make a persona default (or remove one) would
	 * otherwise both pass their checks and collide on the one-default index, or leave no persona.
	 */
	private async lockPersonasOf(userId: string, transaction: Transaction): Promise<void> {
		await this.sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('personas/' || $1, 0))`, {
			bind: [userId],
			type: QueryTypes.SELECT,
			transaction,
		});
	}

	private async unsetDefault(userId: string, transaction: Transaction): Promise<void> {
		await this.query(
			`UPDATE personas SET is_default = false, updated_at = now() WHERE user_id = $1 AND is_default RETURNING id`,
			[userId],
			transaction,
		);
	}

	private query(sql: string, bind: unknown[], transaction?: Transaction): Promise<PersonaRow[]> {
		return this.sequelize.query<PersonaRow>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}
