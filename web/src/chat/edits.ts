/**
 * Edits sent and not yet answered. The server answers an edit with `message.edited` (to every socket) or refuses it
 * with an error frame that names no message; refusals come back in the order the edits were sent, so the oldest
 * edit waiting is the one refused. An edit box stays open, with its text, until its edit is settled.
 */
import type { ErrorFrame } from "../../../src/domain/chat-frames.js";

/** The refusals an edit can get (its text, its message, a reply being written, the socket's limits). */
const EDIT_REFUSALS = new Set<ErrorFrame["code"]>([
	"invalid_message",
	"empty_content",
	"content_too_long",
	"message_not_found",
	"reply_in_progress",
	"rate_limited",
	"internal_error",
]);

interface Waiting {
	id: string;
	settle: (saved: boolean) => void;
}

export class PendingEdits {
	private waiting: Waiting[] = [];

	/** Resolves true once message `id` shows the edit, false when it was refused or the socket closed first. */
	add(id: string): Promise<boolean> {
		return new Promise((settle) => this.waiting.push({ id, settle }));
	}

	edited(id: string): void {
		const at = this.waiting.findIndex((w) => w.id === id);
		if (at !== -1) this.waiting.splice(at, 1)[0].settle(true);
	}

	refused(frame: ErrorFrame): void {
		if (!frame.reply_to && EDIT_REFUSALS.has(frame.code)) this.waiting.shift()?.settle(false);
	}

	/** The socket closed: whatever was not answered is not saved (it is not replayed either). */
	dropAll(): void {
		for (const w of this.waiting.splice(0)) w.settle(false);
	}
}
