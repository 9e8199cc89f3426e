import { describe, expect, it } from "vitest";
import {
	failurePayload,
	replyId,
	replyPayload,
	userMsgPayload,
	type UserMsgPayload,
} from "../../src/domain/chat-wire.js";

const row = {
	id: "6f1d1a52-3c1e-4c9e-9a55-5b8f2f1f0a11",
	session_id: "0a4c1c9e-8d1b-4b7a-b3a6-3b9f1e0f2c22",
	username: "mira",
	character_id: "9e2f4b1a-7c3d-4e5f-8a9b-1c2d3e4f5a33",
	content: "Hello",
};

describe("userMsgPayload", () => {
	it("should carry a stored message's ids and content, and the display name and variant only when given", () => {
		const first = userMsgPayload(row);
		expect(first).toStrictEqual({
			message_id: row.id,
			session_id: row.session_id,
			username: "mira",
			character_id: row.character_id,
			content: "Hello",
		});
		const again = userMsgPayload(row, { user_name: "Mira Vale", variant: 2 });
		expect(again).toStrictEqual({ ...first, user_name: "Mira Vale", variant: 2 });
	});
});

describe("replyPayload and failurePayload", () => {
	const message: UserMsgPayload = { ...userMsgPayload(row), variant: 1 };
	const usage = { input_tokens: 10, output_tokens: 3 };

	it("should give a reply the id derived from its message and variant, marked stopped only when it was", () => {
		const reply = replyPayload(message, { content: "Hi", stopped: false, model: "offline", usage });
		expect(reply).toStrictEqual({
			kind: "reply",
			id: replyId(row.id, 1),
			variant: 1,
			reply_to: row.id,
			session_id: row.session_id,
			username: "mira",
			character_id: row.character_id,
			content: "Hi",
			model: "offline",
			usage,
		});
		const stopped = replyPayload(message, { content: "H", stopped: true, model: "offline", usage });
		expect(stopped).toMatchObject({ stopped: true });
	});

	it("should say which variant could not be made, the first when the message names none", () => {
		expect(failurePayload(message, "ai_unavailable", "Try again")).toStrictEqual({
			kind: "failure",
			reply_to: row.id,
			variant: 1,
			session_id: row.session_id,
			username: "mira",
			character_id: row.character_id,
			code: "ai_unavailable",
			message: "Try again",
		});
		expect(failurePayload(userMsgPayload(row), "character_unavailable", "Gone").variant).toBe(0);
	});
});
