import {
	DataTypes,
	Model,
	type InferAttributes,
	type InferCreationAttributes,
	type CreationOptional,
	type Sequelize,
} from "sequelize";

export type UserRole = "user" | "admin";

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
	declare id: CreationOptional<string>;
	declare username: string;
	declare name: string;
	declare hashed_password: string;
	declare role: CreationOptional<UserRole>;
	declare is_disabled: CreationOptional<boolean>;
	/** Opted in to characters marked NSFW (migration 0017). */
	declare show_nsfw: CreationOptional<boolean>;
	/** Moves on when all of the user's tokens are taken back (migration 0014). */
	declare token_generation: CreationOptional<number>;
	declare created_at: CreationOptional<Date>;
	declare updated_at: CreationOptional<Date>;

	static initModel(sequelize: Sequelize): typeof User {
		return User.init(
			{
				id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
				// Also unique regardless of case: migration 0008's index on lower(username).
				username: { type: DataTypes.STRING(32), allowNull: false, unique: true },
				name: { type: DataTypes.TEXT, allowNull: false },
				hashed_password: { type: DataTypes.TEXT, allowNull: false },
				role: { type: DataTypes.TEXT, allowNull: false, defaultValue: "user" },
				is_disabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
				show_nsfw: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
				token_generation: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
				created_at: DataTypes.DATE,
				updated_at: DataTypes.DATE,
			},
			{ sequelize, tableName: "users", timestamps: true, createdAt: "created_at", updatedAt: "updated_at" },
		);
	}
}
