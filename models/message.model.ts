import {
	DataTypes,
	Model,
	type InferAttributes,
	type InferCreationAttributes,
	type CreationOptional,
	type Sequelize,
} from "sequelize";

export type MessageRole = "user" | "ai";
/** For user messages: whether a reply is awaited (the outbox), has arrived, or could not be made. */
export type ReplyStatus = "none" | "pending" | "replied" | "failed";

export class Message extends Model<InferAttributes<Message>, InferCreationAttributes<Message>> {
	declare id: CreationOptional<string>;
	declare username: string;
	declare character_id: string;
	declare session_id: string;
	declare content: string;
	declare role: MessageRole;
	declare seq: CreationOptional<string>;
	declare reply_to: CreationOptional<string | null>;
	declare model: CreationOptional<string | null>;
	declare reply_status: CreationOptional<ReplyStatus>;
	declare publish_attempts: CreationOptional<number>;
	declare last_published_at: CreationOptional<Date | null>;
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
				// bigint identity: pg returns it as a string, which keeps it exact.
				seq: { type: DataTypes.BIGINT, allowNull: false, autoIncrement: true, unique: true },
				reply_to: { type: DataTypes.UUID, allowNull: true },
				model: { type: DataTypes.TEXT, allowNull: true },
				reply_status: { type: DataTypes.TEXT, allowNull: false, defaultValue: "none" },
				publish_attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
				last_published_at: { type: DataTypes.DATE, allowNull: true },
				created_at: DataTypes.DATE,
				updated_at: DataTypes.DATE,
			},
			{ sequelize, tableName: "messages", timestamps: true, createdAt: "created_at", updatedAt: "updated_at" },
		);
	}
}
