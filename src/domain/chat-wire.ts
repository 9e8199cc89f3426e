/**
 * The chat pipeline's wire formats in one place: the two channels' payloads, the frames a WebSocket client
 * sends and receives, and the deterministic reply id that makes a redelivered user message harmless.
 * The frame types themselves live in chat-frames.ts (no imports, so the browser client can share them) and are
 * re-exported here.
 */
import { Validators } from "moleculer";
import { v5 as uuidv5 } from "uuid";
import type {
	AiFrame,
	ClientFrame,
	EchoFrame,
	ErrorFrame,
	ErrorFrameCode,
	RoomMessageFrame,
	ServerFrame,
} from "./chat-frames.js";
import { isUuid } from "./uuid.js";

export type {
	AiDeltaFrame,
	AiFrame,
	ClientFrame,
	ConnectionFrame,
	EchoFrame,
	ErrorFrame,
	ErrorFrameCode,
	PresenceFrame,
	RegenerateFrame,
	RoomChangedFrame,
	RoomMessageFrame,
	SendMessageFrame,
	ServerFrame,
	StopFrame,
	StoredMessageFrame,
	TriggerFrame,
	TypingFrame,
} from "./chat-frames.js";

/** Channel names: `<domain>.<actor>.<noun>`. */
export const Chan = { UserMsg: "chat.user.msg", AiMsg: "chat.ai.msg" } as const;

/** The consumer group of each channel: one queue per group in RabbitMQ, `<group>.<namespace>.<channel>`. */
export const ConsumerGroup = { AiConsumer: "ai-consumer", Dispatcher: "dispatcher" } as const;

/** Broadcast events: a fact, `<entity>.<past-tense>`. */
export const ChatEvent = {
	/** A user pressed stop: whichever ai-consumer is generating for the session aborts it. */
	StopRequested: "chat.stop.requested",
} as const;

export interface StopRequestedPayload {
	session_id: string;
	/** A rewind: what the stopped replies wrote is thrown away, not stored as stopped replies. */
	discard?: boolean;
}

export interface UserMsgPayload {
	message_id: string;
	session_id: string;
	username: string;
	character_id: string;
	content: string;
	/** Which reply variant to make: 0 for the first reply, n for the n-th regeneration ("swipe"). */
	variant?: number;
	/** The user's display name, what `{{user}}` stands for (absent in messages published before it existed). */
	user_name?: string;
	/**
	 * A `continue`: the AI message to extend (`message_id` is it too, `content` its text when asked). Its
	 * `generating_since` is set; the answer is a `continuation`, or a failure that clears it.
	 */
	continue_id?: string;
	/** A room's turn (room-turns.ts): the reply comes from `character_id`, asked by `username`, in answer to `message_id`. */
	room?: RoomTurnRef;
}

/** Which turn of a room a reply is for, and what the model needs to know of the room to write it. */
export interface RoomTurnRef {
	/** The reply's id follows from it and the variant, so a redelivered turn repeats its reply. */
	turn_id: string;
	/** The room's owner: the cast is judged visible by their rights (a room may feature their private character). */
	owner: string;
	/** The persona the asking member plays in the room; null: their default. */
	persona_id: string | null;
}

/** What chat-ws asks `ai-consumer.impersonate` for: a suggestion of the user's next line in this session. */
export interface ImpersonateParams {
	session_id: string;
	username: string;
	character_id: string;
	/** The user's display name (`{{user}}`), the voice to write in. */
	user_name?: string;
}

export interface Usage {
	input_tokens: number;
	output_tokens: number;
}

/** What the model wrote for a session, as chat.ai.msg carries it: a reply, or a reply's continued text. */
interface WrittenText {
	id: string;
	variant: number;
	session_id: string;
	username: string;
	character_id: string;
	content: string;
	model: string;
	usage: Usage;
	/** A room's reply: its turn, which the dispatcher ends (and starts the room's next). */
	turn_id?: string;
	/** Written with the user's own provider key: its tokens count against no server quota. */
	own_key?: true;
}

/**
 * A finished reply (or a continued one), or the news that none can be made; the dispatcher stores the first and
 * reports the second.
 */
export type AiMsgPayload =
	| (WrittenText & {
			kind: "reply";
			reply_to: string;
			/** The user stopped the generation: `content` is the partial reply. */
			stopped?: boolean;
	  })
	| (WrittenText & {
			/** A continued reply: `content` is the whole new text (the old one and what the model added). */
			kind: "continuation";
			/** The continued reply's, as stored (null for a greeting). */
			reply_to: string | null;
	  })
	| {
			kind: "failure";
			/** The user message without a reply, or the AI message a failed `continue` was extending. */
			reply_to: string;
			/** A `continue` failed: the reply stands as it was. */
			continued?: true;
			/** The variant that could not be made (a failed regeneration leaves the earlier replies standing). */
			variant?: number;
			/** A room's turn that could not be answered. */
			turn_id?: string;
			session_id: string;
			username: string;
			character_id: string;
			code: ErrorFrameCode;
			message: string;
	  };

export interface ChannelPayloads {
	[Chan.UserMsg]: UserMsgPayload;
	[Chan.AiMsg]: AiMsgPayload;
}

/** Sends a payload to a chat channel; the channel names its payload type. */
export type Publish = <C extends keyof ChannelPayloads>(channel: C, payload: ChannelPayloads[C]) => Promise<void>;

const USER_MSG_RULES = {
	message_id: "uuid",
	session_id: "uuid",
	username: "string|min:1",
	character_id: "uuid",
	content: "string|min:1",
	variant: { type: "number", integer: true, min: 0, optional: true },
	user_name: { type: "string", optional: true },
};
const ROOM_TURN_RULES = {
	type: "object",
	props: { turn_id: "uuid", owner: "string|min:1", persona_id: { type: "uuid", nullable: true } },
};
const checkUserMsg = new Validators.Fastest().compile(USER_MSG_RULES) as (value: unknown) => true | unknown[];
// A continue's `content` is the reply's text when asked, which a reply stopped at once leaves empty.
const checkContinue = new Validators.Fastest().compile({
	...USER_MSG_RULES,
	content: "string",
	continue_id: "uuid",
}) as (value: unknown) => true | unknown[];

// A room's turn may answer a reply (a `trigger`), whose text a stop at once leaves empty.
const checkRoomTurn = new Validators.Fastest().compile({
	...USER_MSG_RULES,
	content: "string",
	room: ROOM_TURN_RULES,
}) as (value: unknown) => true | unknown[];

/** Whether a `chat.user.msg` payload has every field ai-consumer needs, of the right type. */
export function isUserMsgPayload(payload: unknown): payload is UserMsgPayload {
	const fields = payload as { continue_id?: unknown; room?: unknown } | null;
	if (fields?.room !== undefined) return fields.continue_id === undefined && checkRoomTurn(payload) === true;
	return (fields?.continue_id !== undefined ? checkContinue : checkUserMsg)(payload) === true;
}

/** The id of the reply a payload asks for: from its room turn, else from the message it answers, and the variant. */
export function replyIdOf(to: Pick<UserMsgPayload, "message_id" | "variant" | "room">): string {
	return replyId(to.room?.turn_id ?? to.message_id, to.variant);
}

/** What a stored user message asks of ai-consumer: its first reply, or with `variant` another one. */
export function userMsgPayload(
	message: { id: string; session_id: string; username: string; character_id: string; content: string },
	extra: { user_name?: string; variant?: number } = {},
): UserMsgPayload {
	const { id, session_id, username, character_id, content } = message;
	const payload: UserMsgPayload = { message_id: id, session_id, username, character_id, content };
	if (extra.user_name !== undefined) payload.user_name = extra.user_name;
	if (extra.variant !== undefined) payload.variant = extra.variant;
	return payload;
}

/** What the user is told when no reply could be made (a model outage, a message given up on). */
export const UNAVAILABLE_MESSAGE = "The character could not answer right now. Try again in a moment.";

/** A finished reply to a user message: its id follows from the message and variant, so a redelivery repeats it. */
export function replyPayload(
	to: UserMsgPayload,
	reply: { content: string; stopped: boolean; model: string; usage: Usage; own_key?: boolean },
): AiMsgPayload {
	const { message_id, session_id, username, character_id } = to;
	const { content, stopped, model, usage } = reply;
	const variant = to.variant ?? 0;
	const id = replyIdOf(to);
	const fields = { id, variant, reply_to: message_id, session_id, username, character_id, content, model, usage };
	const turn = to.room ? { turn_id: to.room.turn_id } : {};
	return { kind: "reply", ...fields, ...turn, ...(stopped ? { stopped } : {}), ...ownKey(reply) };
}

/** The news that no reply to a user message can be made, for the dispatcher to turn into an error frame. */
export function failurePayload(
	to: UserMsgPayload,
	code: ErrorFrameCode,
	message: string,
): Extract<AiMsgPayload, { kind: "failure" }> {
	const { message_id, session_id, username, character_id } = to;
	const variant = to.variant ?? 0;
	const failure = { reply_to: message_id, variant, session_id, username, character_id, code, message };
	const turn = to.room ? { turn_id: to.room.turn_id } : {};
	return { kind: "failure", ...failure, ...turn, ...(to.continue_id ? { continued: true } : {}) };
}

/** A `continue` done (or stopped): the reply's whole new text, `content`, for the dispatcher to store in place. */
export function continuationPayload(
	to: UserMsgPayload,
	continued: { id: string; reply_to: string | null; variant: number },
	reply: { content: string; model: string; usage: Usage; own_key?: boolean },
): AiMsgPayload {
	const { session_id, username, character_id } = to;
	const { id, reply_to, variant } = continued;
	const { content, model, usage } = reply;
	const fields = { id, reply_to, variant, session_id, username, character_id, content, model, usage };
	return { kind: "continuation", ...fields, ...ownKey(reply) };
}

/** The flag only when set, so payloads of the operator's model stay as they were. */
function ownKey(reply: { own_key?: boolean }): { own_key?: true } {
	return reply.own_key ? { own_key: true } : {};
}

// ---- Frames sent to the client: building them (the types are in chat-frames.ts) ----

/**
 * A server frame serialized once for every socket it goes to. Its type and id travel beside the JSON, so neither
 * de-duplication nor metrics read them back out of it.
 */
export interface SerializedFrame {
	type: string;
	/** The key a socket shows this frame at most once by (see `frameKey`); absent for frames always delivered. */
	id?: string;
	json: string;
}

export function serializeFrame(frame: ServerFrame): SerializedFrame {
	return { type: frame.type, id: frameKey(frame), json: JSON.stringify(frame) };
}

/**
 * What a socket de-duplicates a frame by: a message's id for its echo or reply (a delta carries its reply's, so it is
 * dropped once the reply is shown); each state of a message once more (a continued reply by the session revision it
 * made, else its length; a continuation's deltas never dropped; an edit by its time); none for news that must always
 * arrive.
 */
function frameKey(frame: ServerFrame): string | undefined {
	switch (frame.type) {
		case "echo":
		case "message":
			return frame.id;
		case "ai":
			if (!frame.continued) return frame.id;
			// Two continuations may leave the same length (one that added nothing); never the same revision.
			return frame.revision === undefined ? `${frame.id}@${frame.content.length}` : `${frame.id}@r${frame.revision}`;
		case "ai.delta":
			return frame.continued ? `${frame.id}@continue` : frame.id;
		case "message.edited":
			return `${frame.id}@${frame.edited_at}`;
		default:
			return undefined;
	}
}

/** Frames for the sockets of one session (also what gRPC delivery carries, proto/delivery.proto). */
export interface SessionFrames {
	session_id: string;
	frames: SerializedFrame[];
}

export function errorFrame(code: ErrorFrameCode, message: string, extra: Partial<ErrorFrame> = {}): ErrorFrame {
	return { type: "error", code, message, ...extra };
}

/**
 * A stored message as `viewer` (a username) sees it: an `echo` for their own, a `message` for someone else's in a
 * room (it has a `speaker`), an `ai` frame for replies.
 */
export function messageFrame(
	m: {
		id: string;
		role: "user" | "ai";
		username: string;
		character_id: string;
		content: string;
		created_at: Date;
		reply_to: string | null;
		variant: number;
		stopped: boolean;
		edited_at?: Date | null;
		speaker?: string | null;
	},
	viewer?: string,
): EchoFrame | AiFrame | RoomMessageFrame {
	const timestamp = m.created_at.toISOString();
	const edited = m.edited_at ? { edited_at: m.edited_at.toISOString() } : {};
	const { id, content } = m;
	if (m.role === "user") {
		if (m.speaker == null || m.username === viewer)
			return { type: "echo", role: "user", id, content, timestamp, ...edited };
		const from = { username: m.username, persona: m.speaker };
		return { type: "message", role: "user", id, ...from, content, timestamp, ...edited };
	}
	const frame: AiFrame = {
		type: "ai",
		role: "ai",
		id,
		character_id: m.character_id,
		reply_to: m.reply_to,
		variant: m.variant,
		content,
		timestamp,
		...edited,
	};
	if (m.stopped) frame.stopped = true;
	return frame;
}

// ---- Frames sent by the client: checking them (the types are in chat-frames.ts) ----

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame };

// Moleculer's own fastest-validator: the compiled checker returns true or a list of problems.
const checkMessage = new Validators.Fastest().compile({
	type: { type: "equal", value: "message", optional: true },
	content: { type: "string" },
}) as (value: unknown) => true | unknown[];

/** Validates one incoming WebSocket frame. Never throws: every defect becomes an error frame. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean, maxContentChars: number): ParseResult {
	if (isBinary) return fail("binary_not_supported", "Binary frames are not supported; send JSON text");
	let parsed: unknown;
	try {
		parsed = JSON.parse(typeof data === "string" ? data : data.toString("utf8"));
	} catch {
		return fail("invalid_json", "Frame is not valid JSON");
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		return fail("invalid_message", 'Expected an object like {"content": "..."}');
	}
	const type = (parsed as { type?: unknown }).type;
	if (type === "stop") return { ok: true, frame: { type: "stop" } };
	if (type === "typing") return { ok: true, frame: { type: "typing" } };
	if (type === "trigger") {
		const characterId = (parsed as { character_id?: unknown }).character_id;
		if (!isUuid(characterId)) {
			return fail("invalid_message", 'Expected {"type": "trigger", "character_id": "<a character of this room>"}');
		}
		return { ok: true, frame: { type: "trigger", character_id: characterId } };
	}
	if (type === "continue" || type === "impersonate") return { ok: true, frame: { type } };
	if (type === "regenerate") {
		const { reply_to: replyTo, id } = parsed as { reply_to?: unknown; id?: unknown };
		if (!isUuid(replyTo) || (id !== undefined && !isUuid(id))) {
			return fail("invalid_message", 'Expected {"type": "regenerate", "reply_to": "<id of your message>"}');
		}
		return { ok: true, frame: { type: "regenerate", reply_to: replyTo, ...(id ? { id } : {}) } };
	}
	if (type === "edit") {
		const { id, content } = parsed as { id?: unknown; content?: unknown };
		if (!isUuid(id) || typeof content !== "string") {
			return fail("invalid_message", 'Expected {"type": "edit", "id": "<message id>", "content": "..."}');
		}
		return withContent(content, maxContentChars, (text) => ({ type: "edit", id, content: text }));
	}
	if (type === "select_variant") {
		const id = (parsed as { id?: unknown }).id;
		if (!isUuid(id)) return fail("invalid_message", 'Expected {"type": "select_variant", "id": "<reply id>"}');
		return { ok: true, frame: { type: "select_variant", id } };
	}
	if (type !== undefined && type !== "message") {
		// Only a string is shown: String() of a deeply nested array overflows the stack.
		return fail(
			"unknown_type",
			`Unknown frame type ${JSON.stringify(typeof type === "string" ? type : typeof type).slice(0, 40)}`,
		);
	}
	// The type check first: the validator's error message stringifies the value, which a deeply nested one overflows.
	if (typeof (parsed as { content?: unknown }).content !== "string" || checkMessage(parsed) !== true) {
		return fail("invalid_message", 'Expected an object like {"content": "..."}');
	}
	const content = (parsed as { content: string }).content;
	return withContent(content, maxContentChars, (text) => ({ type: "message", content: text }));
}

/** A frame carrying message text, once the text passed `checkContent`. */
function withContent(raw: string, maxContentChars: number, frame: (content: string) => ClientFrame): ParseResult {
	const checked = checkContent(raw, maxContentChars);
	return "code" in checked ? { ok: false, error: checked } : { ok: true, frame: frame(checked.content) };
}

/**
 * The text of a message (sent or edited, over WebSocket or REST), trimmed; or why it cannot be stored: empty, longer
 * than `maxContentChars`, or holding NUL.
 */
export function checkContent(raw: string, maxContentChars: number): { content: string } | ErrorFrame {
	const content = raw.trim();
	if (content.length === 0) return errorFrame("empty_content", "Message content is empty");
	// PostgreSQL text cannot hold NUL; the driver would store it as the two characters "\0".
	if (content.includes("\u0000")) {
		return errorFrame("invalid_message", "Message content may not contain NUL characters");
	}
	if (content.length > maxContentChars) {
		return errorFrame("content_too_long", `Message content is longer than ${maxContentChars} characters`);
	}
	return { content };
}

function fail(code: ErrorFrameCode, message: string): ParseResult {
	return { ok: false, error: { type: "error", code, message } };
}

// Namespace for reply ids (a fixed random UUID): uuidv5(user message id + variant) is the same on every node.
const REPLY_NAMESPACE = "0b7f4a1e-5d7c-4c65-9a53-2f8e3c1d9b40";

/** The id of variant `variant` of the reply to `replyTo`: deterministic, so redelivery cannot create a second reply. */
export function replyId(replyTo: string, variant = 0): string {
	return uuidv5(`${replyTo}:${variant}`, REPLY_NAMESPACE);
}
