/**
 * The prompt inspector's records: the exact messages a reply was generated from, with its parts' token counts, kept
 * for the last `keep` replies of each session, in the memory of the ai-consumer that made them.
 * A record holds the prompt's texts (the strings the history already holds, and a system message equal to the one
 * before it kept once), so keeping one costs a few map entries and no copy, no serialization and no write: storing
 * every prompt in PostgreSQL cost a quarter of the embedded throughput. Records live about as long as a session's last
 * `keep` replies take, long enough for the garbage collector to move what they hold to its old generation: they keep
 * as few objects as they can (a record with the prompt's own message objects cost a tenth of the embedded throughput).
 * The price: records are best effort, gone when their consumer restarts or when the memory budget (least recently
 * recorded first) needs their room.
 */
import { LRUCache } from "lru-cache";
import type { ChatMessage } from "../domain/chat-model.js";
import type { AssembledPrompt, PromptPart } from "../domain/prompt.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../domain/token-count.js";

interface PromptRecord {
	reply_id: string;
	session_id: string;
	/** Each message's role, as ROLES has them: one character a message. */
	roles: string;
	contents: string[];
	parts: PromptPart[];
	model: string;
	created_at: number;
}

const ROLES: ChatMessage["role"][] = ["system", "user", "assistant"];

/** GET /sessions/:id/messages/:message_id/prompt. */
export interface PromptView {
	reply_id: string;
	model: string | null;
	created_at: Date;
	total_tokens: number;
	messages: (ChatMessage & { tokens: number })[];
	parts: PromptPart[];
}

/** Bytes a record is counted for beyond its texts (objects, ids, parts). */
const RECORD_OVERHEAD_BYTES = 512;

export class PromptRecords {
	/** Records by reply id. */
	private readonly records: LRUCache<string, PromptRecord>;
	/** Each session's recorded replies, oldest first, at most `keep`. */
	private readonly bySession = new Map<string, string[]>();

	/** `keep`: records per session (CHAT_PROMPT_INSPECTOR_REPLIES; 0 keeps none); `maxBytes`: all records' budget. */
	constructor(
		private readonly keep: number,
		maxBytes: number,
	) {
		this.records = new LRUCache({
			maxSize: maxBytes,
			// UTF-16 strings: about 2 bytes a character.
			sizeCalculation: (r) => r.contents.reduce((bytes, text) => bytes + 2 * text.length + 8, RECORD_OVERHEAD_BYTES),
			dispose: (record, replyId, reason) => {
				if (reason !== "set") this.unlist(record.session_id, replyId);
			},
		});
	}

	/** Keeps the prompt reply `replyId` was generated from (a continue's replaces the one of the reply it extends). */
	record(replyId: string, sessionId: string, prompt: Pick<AssembledPrompt, "messages" | "parts">, model: string): void {
		if (this.keep === 0) return;
		const { messages, parts } = prompt;
		let listed = this.bySession.get(sessionId);
		if (!listed) this.bySession.set(sessionId, (listed = []));
		const previous = listed.length > 0 ? this.records.peek(listed[listed.length - 1]) : undefined;
		const contents = messages.map((m, i) =>
			// Most turns of a chat have the same system message: the one already held is kept, this one freed young.
			i === 0 && previous && previous.contents[0] === m.content ? previous.contents[0] : m.content,
		);
		const roles = messages.map((m) => ROLES.indexOf(m.role)).join("");
		if (!listed.includes(replyId)) listed.push(replyId);
		// Evictions to make room take other records out of their sessions' lists (in place, see unlist).
		this.records.set(replyId, {
			reply_id: replyId,
			session_id: sessionId,
			roles,
			contents,
			parts,
			model,
			created_at: Date.now(),
		});
		while (listed.length > this.keep) {
			const oldest = listed[0];
			this.records.delete(oldest);
			if (listed[0] === oldest) listed.shift();
		}
	}

	/** The kept prompt of reply `replyId` of session `sessionId`, or null. */
	find(sessionId: string, replyId: string): PromptView | null {
		const record = this.records.get(replyId);
		if (!record || record.session_id !== sessionId) return null;
		const messages = record.contents.map((content, i) => ({
			role: ROLES[Number(record.roles[i])],
			content,
			tokens: countTokens(content) + MESSAGE_OVERHEAD_TOKENS,
		}));
		const total = messages.reduce((sum, m) => sum + m.tokens, 0);
		const { model, parts } = record;
		return { reply_id: replyId, model, created_at: new Date(record.created_at), total_tokens: total, messages, parts };
	}

	/** The service stops. */
	close(): void {
		this.records.clear();
	}

	private unlist(sessionId: string, replyId: string): void {
		const listed = this.bySession.get(sessionId);
		const at = listed?.indexOf(replyId) ?? -1;
		if (at < 0) return;
		listed!.splice(at, 1);
		if (listed!.length === 0) this.bySession.delete(sessionId);
	}
}
