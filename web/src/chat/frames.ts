/**
 * The WebSocket frames as the browser sees them. Mirrors src/domain/chat-wire.ts, which can't be imported here
 * because it pulls in server-only modules.
 */

export interface ConnectionFrame {
	type: "connection";
	session_id: string;
	character_id: string;
	character_name: string;
	model: string;
	resumed: boolean;
}

export interface EchoFrame {
	type: "echo";
	id: string;
	content: string;
	timestamp: string;
}

export interface AiFrame {
	type: "ai";
	id: string;
	reply_to: string | null;
	content: string;
	timestamp: string;
	variant?: number;
	stopped?: boolean;
}

export interface AiDeltaFrame {
	type: "ai.delta";
	id: string;
	reply_to: string;
	variant: number;
	delta: string;
}

export interface ErrorFrame {
	type: "error";
	code: string;
	message: string;
	reply_to?: string;
	retry_after?: number;
}

export type ServerFrame = ConnectionFrame | EchoFrame | AiFrame | AiDeltaFrame | ErrorFrame;

export type ClientFrame = { type: "message"; content: string } | { type: "stop" } | { type: "regenerate"; reply_to: string };
