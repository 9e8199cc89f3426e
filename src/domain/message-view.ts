/**
 * A stored message as REST shows it (GET /sessions/:id/messages items, an edited message): fields that only make sense
 * for one role are left out for the other.
 */
export interface StoredMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	model: string | null;
	reply_status: "none" | "pending" | "replied" | "failed";
	variant: number;
	active: boolean;
	stopped: boolean;
	created_at: Date;
	edited_at: Date | null;
	/** When the user pinned it; null if not pinned. */
	pinned_at: Date | null;
	/** Who sent a user message (a room has several people); the session's owner for a reply. */
	username?: string;
	/** The character who said a reply (a room has several). */
	character_id?: string;
	/** In a room, the persona name a user message was sent under (migration 0012); null or absent elsewhere. */
	speaker?: string | null;
}

export function toMessageView(m: StoredMessage) {
	return {
		id: m.id,
		role: m.role,
		content: m.content,
		reply_to: m.reply_to,
		model: m.model,
		// Who said it: a reply's character; a user message's sender and the persona name they wrote as (null: none kept).
		character_id: m.role === "ai" ? m.character_id : undefined,
		username: m.role === "user" ? m.username : undefined,
		persona: m.role === "user" ? (m.speaker ?? null) : undefined,
		reply_status: m.role === "user" ? m.reply_status : undefined,
		// Replies: which regeneration this is, whether it is the one shown, whether the user stopped it.
		variant: m.role === "ai" ? m.variant : undefined,
		active: m.role === "ai" ? m.active : undefined,
		stopped: m.role === "ai" ? m.stopped : undefined,
		timestamp: m.created_at,
		/** When the user last edited it (null: never); `content` is the edited text. */
		edited_at: m.edited_at,
		/** Pinned by the user: in every prompt, even once it is older than the history window. */
		pinned: m.pinned_at !== null,
	};
}
