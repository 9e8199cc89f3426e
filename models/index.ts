import type { Sequelize } from "sequelize";
import { User } from "./user.model.js";
import { Character } from "./character.model.js";
import { ChatSession } from "./chat-session.model.js";
import { Message } from "./message.model.js";

export { User, Character, ChatSession, Message };

export interface Models {
	User: typeof User;
	Character: typeof Character;
	ChatSession: typeof ChatSession;
	Message: typeof Message;
}

/** Binds every model to this process's one Sequelize instance. */
export function initModels(sequelize: Sequelize): Models {
	return {
		User: User.initModel(sequelize),
		Character: Character.initModel(sequelize),
		ChatSession: ChatSession.initModel(sequelize),
		Message: Message.initModel(sequelize),
	};
}
