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
	model: string;
	resumed: boolean;
}

export interface StoredMessageFrame {
	id: string;
	content: string;
	timestamp: string;
}

export interface EchoFrame extends StoredMessageFrame {
	type: "echo";
	role: "user";
}

export interface AiFrame extends StoredMessageFrame {
	type: "ai";
	role: "ai";
	reply_to: string | null;
	/** 0 for the first reply to a message, n for its n-th regeneration. */
	variant: number;
	stopped?: boolean;
}

/** A piece of a reply still being written; the final `ai` frame with the same id is the source of truth. */
export interface AiDeltaFrame {
	type: "ai.delta";
	id: string;
	reply_to: string;
	variant: number;
	delta: string;
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
	| "ai_unavailable"
	| "ai_misconfigured"
	| "character_unavailable"
	| "internal_error";

export interface ErrorFrame {
	type: "error";
	code: ErrorFrameCode;
	message: string;
	reply_to?: string;
	retry_after?: number;
}

export type ServerFrame = ConnectionFrame | EchoFrame | AiFrame | AiDeltaFrame | ErrorFrame;

// ---- Frames sent by the client ----

export interface SendMessageFrame {
	type: "message";
	content: string;
}

/** Stop the reply being generated; the partial reply is kept, marked `stopped`. */
export interface StopFrame {
	type: "stop";
}

/** Make another variant of the reply to user message `reply_to` (the session's last one). */
export interface RegenerateFrame {
	type: "regenerate";
	reply_to: string;
}

export type ClientFrame = SendMessageFrame | StopFrame | RegenerateFrame;
