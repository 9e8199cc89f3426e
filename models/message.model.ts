import { DataTypes, Model, type InferAttributes, type InferCreationAttributes, type CreationOptional, type Sequelize } from "sequelize";

export type MessageRole = "user" | "ai";

export class Message extends Model<InferAttributes<Message>, InferCreationAttributes<Message>> {
	declare id: CreationOptional<string>;
	declare username: string;
	declare character_id: string;
	declare session_id: string;
	declare content: string;
	declare role: MessageRole;
	declare created_at: CreationOptional<Date>;
	declare updated_at: CreationOptional<Date>;

	static initModel(sequelize: Sequelize): typeof Message {
		return Message.init(
			{
				id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
				username: { type: DataTypes.STRING(32), allowNull: false },
				character_id: { type: DataTypes.UUID, allowNull: false },
				session_id: { type: DataTypes.UUID, allowNull: false },
				content: { type: DataTypes.TEXT, allowNull: false },
				role: { type: DataTypes.TEXT, allowNull: false },
				created_at: DataTypes.DATE,
				updated_at: DataTypes.DATE,
			},
			{ sequelize, tableName: "messages", timestamps: true, createdAt: "created_at", updatedAt: "updated_at" },
		);
	}
}
