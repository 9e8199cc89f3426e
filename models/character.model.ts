import { DataTypes, Model, literal, type InferAttributes, type InferCreationAttributes, type CreationOptional, type Sequelize } from "sequelize";

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
	declare created_by: string | null;
	declare created_at: CreationOptional<Date>;
	declare updated_at: CreationOptional<Date>;

	static initModel(sequelize: Sequelize): typeof Character {
		return Character.init(
			{
				id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
				name: { type: DataTypes.TEXT, allowNull: false },
				slug: { type: DataTypes.TEXT, allowNull: false, unique: true },
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
