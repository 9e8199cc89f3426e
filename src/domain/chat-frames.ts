/**
 * The WebSocket frames of the chat, and nothing else: what the server sends a client and what a client sends the
 * server. Shared by the server (re-exported by chat-wire.ts) and the browser client in web/, which imports it with
 * `import type`. Types only, and no imports: the bundle must never pull in a server module through this file.
 */

// ---- Frames sent to the client ----

export interface ConnectionFrame {
	type: "connection";
	message: "Connected to chat";
	session_id: string;
	username: string;
	character_id: string;
	character_name: string;
	/** Who the user plays in this session (`{{user}}`); always sent, absent only from a server older than personas. */
	persona?: { id: string; name: string };
	model: string;
	resumed: boolean;
	/** In a room: its reply mode, owner and cast in speaking order (a one-character chat has none). */
	room?: { reply_mode: string; owner: string; characters: { id: string; name: string }[] };
	/**
	 * How many changes in place (edits, rewinds, swipe choices, continued replies) the session's stored story has had,
	 * read once this socket receives every later change. A resuming client that applied fewer missed some: `after`
	 * replays only new messages, so it reloads the history (GET /sessions/{id}/messages, which carries `revision` too).
	 */
	revision: number;
}

export interface StoredMessageFrame {
	id: string;
	content: string;
	timestamp: string;
	/** Set once the message was edited (ISO-8601): its `content` is the edited text. */
	edited_at?: string;
}

export interface EchoFrame extends StoredMessageFrame {
	type: "echo";
	role: "user";
}

export interface AiFrame extends StoredMessageFrame {
	type: "ai";
	role: "ai";
	/** Who wrote it: the session's character, or in a room one of its cast (always sent by this server). */
	character_id?: string;
	reply_to: string | null;
	/** 0 for the first reply to a message, n for its n-th regeneration. */
	variant: number;
	stopped?: boolean;
	/** The reply after a `continue`: same id, longer `content` (it replaces what was shown). */
	continued?: true;
	/** Set with `continued`: the session's revision after the longer text was stored (see MessageEditedFrame). */
	revision?: number;
}

/**
 * A piece of a reply still being written; the final `ai` frame with the same id is the source of truth. A `continue`
 * streams deltas with the id of the reply it extends (`continued: true`): they are appended to its shown content.
 */
export interface AiDeltaFrame {
	type: "ai.delta";
	id: string;
	reply_to: string | null;
	variant: number;
	delta: string;
	/** In a room, the character writing it. */
	character_id?: string;
	continued?: true;
}

/** In a room, another person's message (the sender's own sockets get it as an `echo`). */
export interface RoomMessageFrame extends StoredMessageFrame {
	type: "message";
	role: "user";
	username: string;
	/** The persona name they wrote it as. */
	persona: string | null;
}

/** In a room, who is in it and who of them has a socket open now; sent on every join and leave. */
export interface PresenceFrame {
	type: "presence";
	members: { username: string; online: boolean }[];
}

/** In a room, someone is typing (relayed to the others, at most a few per minute). */
export interface TypingFrame {
	type: "typing";
	username: string;
	persona: string | null;
}

/** A room's cast, people, title or reply mode changed: read it again (GET /sessions/{id}). */
export interface RoomChangedFrame {
	type: "room.changed";
	session_id: string;
}

/** A message of the session was edited (on any device, over WebSocket or REST): show `content` instead. */
export interface MessageEditedFrame {
	type: "message.edited";
	id: string;
	content: string;
	edited_at: string;
	/**
	 * The session's revision after this change: every change to stored messages in place (an edit, a rewind, a choice
	 * of swipe, a continued reply) counts one. A client that already has this revision (it reloaded the history at it
	 * or later) has this change and ignores the frame.
	 */
	revision?: number;
}

/** The session was rewound: these messages (a message and every later one) are gone. */
export interface MessagesDeletedFrame {
	type: "messages.deleted";
	ids: string[];
	/** The session's revision after the rewind (see MessageEditedFrame). */
	revision?: number;
}

/** Variant `id` of the reply to `reply_to` is now the one the story continues from (the others stay pageable). */
export interface VariantSelectedFrame {
	type: "variant.selected";
	reply_to: string;
	id: string;
	variant: number;
	/** The session's revision after the choice (see MessageEditedFrame). */
	revision?: number;
}

/** A piece of the user's next line written by the model (`impersonate`); sent to the asking socket only. */
export interface ImpersonationDeltaFrame {
	type: "impersonation.delta";
	delta: string;
}

/** The whole suggested line: never stored, for the user to edit and send. */
export interface ImpersonationFrame {
	type: "impersonation";
	content: string;
}

export type ErrorFrameCode =
	| "invalid_json"
	| "binary_not_supported"
	| "invalid_message"
	| "empty_content"
	| "content_too_long"
	| "unknown_type"
	| "rate_limited"
	| "quota_exceeded"
	| "cannot_regenerate"
	| "message_not_found"
	| "reply_in_progress"
	| "cannot_select"
	| "cannot_continue"
	| "cannot_impersonate"
	| "ai_unavailable"
	| "ai_misconfigured"
	| "character_unavailable"
	| "not_in_cast"
	| "not_allowed"
	| "internal_error";

export interface ErrorFrame {
	type: "error";
	code: ErrorFrameCode;
	message: string;
	reply_to?: string;
	retry_after?: number;
}

export type ServerFrame =
	| ConnectionFrame
	| EchoFrame
	| AiFrame
	| AiDeltaFrame
	| MessageEditedFrame
	| MessagesDeletedFrame
	| VariantSelectedFrame
	| ImpersonationDeltaFrame
	| ImpersonationFrame
	| RoomMessageFrame
	| PresenceFrame
	| TypingFrame
	| RoomChangedFrame
	| ErrorFrame;

// ---- Frames sent by the client ----

export interface SendMessageFrame {
	type: "message";
	content: string;
}

/** Stop the reply being generated; the partial reply is kept, marked `stopped`. */
export interface StopFrame {
	type: "stop";
}

/**
 * Make another variant of the reply to message `reply_to` (the session's last one). In a room, the room's last reply
 * (`id`, if given, must be it), whoever's message it answers, by the character who wrote it.
 */
export interface RegenerateFrame {
	type: "regenerate";
	reply_to: string;
	id?: string;
}

/** Replace the text of message `id` (the user's or a reply) of this session; every socket gets `message.edited`. */
export interface EditFrame {
	type: "edit";
	id: string;
	content: string;
}

/** Make reply variant `id` the active one; every socket gets `variant.selected`. */
export interface SelectVariantFrame {
	type: "select_variant";
	id: string;
}

/** Extend the session's last reply: deltas with its id, then an `ai` frame with the same id and the longer content. */
export interface ContinueFrame {
	type: "continue";
}

/** Ask the model for the user's next line: `impersonation.delta` frames then `impersonation`, to this socket only. */
export interface ImpersonateFrame {
	type: "impersonate";
}

/** In a room: ask `character_id` to speak next (queued after the replies already asked for). */
export interface TriggerFrame {
	type: "trigger";
	character_id: string;
}

/** In a room: tell the others you are typing. */
export interface TypingStartFrame {
	type: "typing";
}

export type ClientFrame =
	| SendMessageFrame
	| StopFrame
	| RegenerateFrame
	| EditFrame
	| SelectVariantFrame
	| ContinueFrame
	| ImpersonateFrame
	| TriggerFrame
	| TypingStartFrame;
