import {
	DataTypes,
	Model,
	type InferAttributes,
	type InferCreationAttributes,
	type CreationOptional,
	type Sequelize,
} from "sequelize";

export type SessionStatus = "active" | "closed" | "archived";

export class ChatSession extends Model<InferAttributes<ChatSession>, InferCreationAttributes<ChatSession>> {
	declare id: CreationOptional<string>;
	declare username: string;
	declare character_id: string;
	declare status: CreationOptional<SessionStatus>;
	declare title: string | null;
	declare created_at: CreationOptional<Date>;
	declare ended_at: Date | null;
	declare updated_at: CreationOptional<Date>;

	static initModel(sequelize: Sequelize): typeof ChatSession {
		return ChatSession.init(
			{
				id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
				username: { type: DataTypes.STRING(32), allowNull: false },
				character_id: { type: DataTypes.UUID, allowNull: false },
				status: { type: DataTypes.TEXT, allowNull: false, defaultValue: "active" },
				title: { type: DataTypes.TEXT, allowNull: true },
				created_at: DataTypes.DATE,
				ended_at: { type: DataTypes.DATE, allowNull: true },
				updated_at: DataTypes.DATE,
			},
			{ sequelize, tableName: "chat_sessions", timestamps: true, createdAt: "created_at", updatedAt: "updated_at" },
		);
	}
}
