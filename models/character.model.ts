import {
	DataTypes,
	Model,
	Op,
	QueryTypes,
	col,
	fn,
	literal,
	type CreationAttributes,
	type CreationOptional,
	type InferAttributes,
	type InferCreationAttributes,
	type Sequelize,
	type WhereOptions,
} from "sequelize";
import {
	JSON_COLUMNS,
	SUMMARY_TEXT_CHARS,
	TEXT_COLUMNS,
	containsPattern,
	isAdmin,
	type Viewer,
} from "../src/domain/characters.js";

// Arbitrary constant naming "cameo character seeding" in pg_advisory_xact_lock's key space.
const SEED_LOCK_KEY = 0x6361_6d73;

export class Character extends Model<InferAttributes<Character>, InferCreationAttributes<Character>> {
	declare id: CreationOptional<string>;
	declare name: string;
	declare slug: string;
	declare description: CreationOptional<string>;
	declare system_prompt: string;
	declare greeting: CreationOptional<string>;
	declare personality: CreationOptional<string>;
	declare scenario: CreationOptional<string>;
	declare mes_example: CreationOptional<string>;
	declare post_history_instructions: CreationOptional<string>;
	declare alternate_greetings: CreationOptional<string[]>;
	declare creator_notes: CreationOptional<string>;
	declare creator: CreationOptional<string>;
	declare character_version: CreationOptional<string>;
	declare tags: CreationOptional<string[]>;
	declare extensions: CreationOptional<Record<string, unknown>>;
	/** Not read by default (see defaultScope): only `Character.unscoped()` loads the bytes. */
	declare avatar: CreationOptional<Buffer | null>;
	declare has_avatar: CreationOptional<boolean>;
	declare llm_model: CreationOptional<string | null>;
	declare temperature: CreationOptional<number | null>;
	declare max_output_tokens: CreationOptional<number | null>;
	declare is_active: CreationOptional<boolean>;
	declare is_public: CreationOptional<boolean>;
	declare hidden: CreationOptional<boolean>;
	declare nsfw: CreationOptional<boolean>;
	declare created_by: string | null;
	declare created_at: CreationOptional<Date>;
	declare updated_at: CreationOptional<Date>;

	/**
	 * A page of what `viewer` may see (the SQL form of canView, so paging happens in the database), by name, with only
	 * a CharacterSummary's columns and its texts cut in the database (one past the preview, so a cut shows).
	 */
	static async listVisible(
		viewer: Viewer | undefined,
		page: { q?: string; limit: number; offset: number },
	): Promise<Character[]> {
		const where: WhereOptions<Character>[] = [];
		if (!isAdmin(viewer)) {
			const listed: WhereOptions<Character> = { is_public: true, is_active: true, hidden: false };
			if (!viewer?.show_nsfw) listed.nsfw = false;
			where.push(viewer ? { [Op.or]: [listed, { created_by: viewer.id }] } : listed);
		}
		if (page.q) where.push({ name: { [Op.iLike]: containsPattern(page.q) } });
		return Character.unscoped().findAll({
			attributes: [
				"id",
				"name",
				"slug",
				"tags",
				"creator",
				"is_public",
				"is_active",
				"hidden",
				"nsfw",
				"created_by",
				"created_at",
				"updated_at",
				[literal(`left(description, ${SUMMARY_TEXT_CHARS + 1})`), "description"],
				[literal(`left(greeting, ${SUMMARY_TEXT_CHARS + 1})`), "greeting"],
				[literal("avatar IS NOT NULL"), "has_avatar"],
			],
			where: { [Op.and]: where },
			// lower() so the order doesn't depend on the database's collation ("C" sorts "Bb" before "aa").
			order: [
				[fn("lower", col("name")), "ASC"],
				["name", "ASC"],
				["id", "ASC"],
			],
			limit: page.limit,
			offset: page.offset,
		});
	}

	/**
	 * Inserts the ownerless characters (seeds) whose slug no ownerless character has yet, under a lock so that
	 * concurrent starts insert each once (slugs are unique per owner only, and NULL owners are all distinct).
	 */
	static async insertMissingSeeds(seeds: CreationAttributes<Character>[]): Promise<void> {
		await Character.sequelize!.transaction(async (transaction) => {
			await Character.sequelize!.query("SELECT pg_advisory_xact_lock(:key)", {
				replacements: { key: SEED_LOCK_KEY },
				transaction,
			});
			const present = await Character.findAll({
				attributes: ["slug"],
				where: { created_by: null, slug: seeds.map((c) => c.slug) },
				transaction,
			});
			const slugs = new Set(present.map((row) => row.slug));
			await Character.bulkCreate(
				seeds.filter((c) => !slugs.has(c.slug)),
				{ transaction },
			);
		});
	}

	/**
	 * About how many bytes the user's characters take in storage: src/domain/characters.ts characterBytes in SQL, where
	 * JSON columns count as stored (pg_column_size reads no TOASTed value) and text as its UTF-8 length.
	 */
	static async bytesOwnedBy(userId: string): Promise<number> {
		const text = TEXT_COLUMNS.map((column) => `octet_length(${column})`);
		const json = JSON_COLUMNS.map((column) => `pg_column_size(${column})`);
		const [row] = await Character.sequelize!.query<{ bytes: string }>(
			`SELECT coalesce(sum(${[...text, ...json, "coalesce(octet_length(avatar), 0)"].join(" + ")}), 0) AS bytes FROM ai_characters WHERE created_by = :userId`,
			{ replacements: { userId }, type: QueryTypes.SELECT },
		);
		return Number(row.bytes);
	}

	static initModel(sequelize: Sequelize): typeof Character {
		return Character.init(
			{
				id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
				name: { type: DataTypes.TEXT, allowNull: false },
				// Unique per owner (migration 0007).
				slug: { type: DataTypes.TEXT, allowNull: false },
				description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				system_prompt: { type: DataTypes.TEXT, allowNull: false },
				greeting: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				personality: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				scenario: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				mes_example: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				post_history_instructions: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				alternate_greetings: { type: DataTypes.JSONB, allowNull: false, defaultValue: [] },
				creator_notes: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				creator: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				character_version: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
				tags: { type: DataTypes.JSONB, allowNull: false, defaultValue: [] },
				extensions: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
				avatar: { type: DataTypes.BLOB, allowNull: true },
				// Selected as a flag by defaultScope; on a row that loaded (or was created with) the bytes, from them.
				has_avatar: {
					type: DataTypes.VIRTUAL,
					get(this: Character) {
						return Boolean(this.getDataValue("has_avatar") ?? this.getDataValue("avatar"));
					},
				},
				llm_model: { type: DataTypes.TEXT, allowNull: true },
				temperature: { type: DataTypes.REAL, allowNull: true },
				max_output_tokens: { type: DataTypes.INTEGER, allowNull: true },
				is_active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
				is_public: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
				hidden: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
				nsfw: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
				created_by: { type: DataTypes.UUID, allowNull: true },
				created_at: DataTypes.DATE,
				updated_at: DataTypes.DATE,
			},
			{
				sequelize,
				tableName: "ai_characters",
				timestamps: true,
				createdAt: "created_at",
				updatedAt: "updated_at",
				// Lists of up to 100 characters must not drag up to 4 MB of image each out of the database.
				defaultScope: { attributes: { exclude: ["avatar"], include: [[literal("avatar IS NOT NULL"), "has_avatar"]] } },
			},
		);
	}
}
