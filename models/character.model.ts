import { DataTypes, Model, type InferAttributes, type InferCreationAttributes, type CreationOptional, type Sequelize } from "sequelize";

export class Character extends Model<InferAttributes<Character>, InferCreationAttributes<Character>> {
	declare id: CreationOptional<string>;
	declare name: string;
	declare slug: string;
	declare description: CreationOptional<string>;
	declare system_prompt: string;
	declare greeting: CreationOptional<string>;
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
				is_active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
				is_public: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
				created_by: { type: DataTypes.UUID, allowNull: true },
				created_at: DataTypes.DATE,
				updated_at: DataTypes.DATE,
			},
			{ sequelize, tableName: "ai_characters", timestamps: true, createdAt: "created_at", updatedAt: "updated_at" },
		);
	}
}
