/**
 * What a room's socket does besides a one-character chat's (chat-turns.ts hands these over): a member's message goes
 * to every socket of every member, on every node, and queues the replies the room's mode asks for; a `trigger` queues
 * one character's; a regeneration makes another variant of the room's last reply; `typing` is relayed to the others,
 * a few per minute at most. Replies are made by the room's turns (room-turns.ts), one at a time.
 */
import { errorFrame, messageFrame, type ErrorFrame, type ServerFrame } from "../domain/chat-wire.js";
import type { RegenerateFrame } from "../domain/chat-frames.js";
import type { MessageRow } from "./chat-store.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { RoomTurns } from "./room-turns.js";
import type { ChatClient } from "./socket-hub.js";

export interface RoomDeps {
	turns: RoomTurns;
	/** `typing` frames per socket per minute. */
	typingLimiter: RateLimiter;
	/** To every socket of a session, on every node. */
	deliver(sessionId: string, frames: ServerFrame[]): Promise<number>;
	refuse(client: ChatClient, frame: ErrorFrame): void;
	logger: { warn(...a: unknown[]): void };
}

/** Continue and impersonate write in one character's voice to one person: not yet made for a room. */
export function notInRooms(type: "continue" | "impersonate"): ErrorFrame {
	const code = type === "continue" ? "cannot_continue" : "cannot_impersonate";
	return errorFrame(code, `${type === "continue" ? "Continue" : "Impersonate"} is not available in rooms yet`);
}

/** A member's stored message: to everyone in the room (as `message`), then the replies it calls for. */
export async function shareRoomMessage(deps: RoomDeps, row: MessageRow): Promise<void> {
	const ids = { session_id: row.session_id, message_id: row.id };
	await deps
		.deliver(row.session_id, [messageFrame(row)])
		.catch((err) => deps.logger.warn(ids, "Delivery failed:", err));
	// If this fails, the message stands without replies; a trigger asks for one.
	await deps.turns.afterMessage(row).catch((err) => deps.logger.warn(ids, "Could not queue the room's replies:", err));
}

export async function triggerReply(deps: RoomDeps, client: ChatClient, characterId: string): Promise<void> {
	const { sessionId, username } = client.identity;
	if (!(await deps.turns.trigger(sessionId, characterId, username))) {
		deps.refuse(client, errorFrame("not_in_cast", "That character is not in this room (or the room is empty)"));
	}
}

export async function regenerateRoomReply(deps: RoomDeps, client: ChatClient, frame: RegenerateFrame): Promise<void> {
	const { sessionId, username } = client.identity;
	const refusal = await deps.turns.regenerate(sessionId, frame.reply_to, frame.id, username);
	if (refusal === "in_progress") {
		const busy = "Replies are still being written in this room; regenerate once they are done";
		deps.refuse(client, errorFrame("reply_in_progress", busy, { reply_to: frame.reply_to }));
	} else if (refusal) {
		const notLast = "Only the room's last reply can be regenerated";
		deps.refuse(client, errorFrame("cannot_regenerate", notLast, { reply_to: frame.reply_to }));
	}
}

/**
 * Tells the room this member is typing. Over its own limit a `typing` frame is dropped without a word but counts as a
 * breach (a flood closes the socket as any other does); outside a room it is dropped.
 */
export async function relayTyping(deps: RoomDeps, client: ChatClient): Promise<void> {
	const { room, sessionId, username } = client.identity;
	if (!(await deps.typingLimiter.hit(client.id)).allowed) return void client.breach();
	if (!room) return;
	await deps
		.deliver(sessionId, [{ type: "typing", username, persona: room.persona }])
		.catch((err) => deps.logger.warn({ session_id: sessionId }, "Typing relay failed:", err));
}
