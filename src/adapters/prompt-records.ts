/**
 * The prompt inspector's records (`reply_prompts`): the exact messages a reply was generated from, with its parts'
 * token counts, kept for the last `keep` replies of each session.
 * ai-consumer records a prompt once the reply is published, but the dispatcher stores the reply: a record is written
 * once its reply is there (tried again a few times over the next seconds meanwhile), and dropped if it never comes
 * (the reply was rewound before it was stored). Writes are batched like the chat's, and never delay the reply.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import type { ChatMessage } from "../domain/chat-model.js";
import type { AssembledPrompt, PromptPart } from "../domain/prompt.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../domain/token-count.js";
import { batched } from "./batched.js";

interface PromptRecord {
	reply_id: string;
	session_id: string;
	messages: ChatMessage[];
	parts: PromptPart[];
	model: string;
}

/** GET /sessions/:id/messages/:message_id/prompt. */
export interface PromptView {
	reply_id: string;
	model: string | null;
	created_at: Date;
	total_tokens: number;
	messages: (ChatMessage & { tokens: number })[];
	parts: PromptPart[];
}

/** Until the reply is stored: the first try after the dispatcher usually has, then less and less often, ~30 s in all. */
const RETRY_DELAYS_MS = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000];
/** Records waiting for their reply at most; more are not kept (the inspector is best effort, memory is not). */
const MAX_WAITING = 5000;

/**
 * Inserts the records whose reply is stored (a continue's record replaces the one of the reply it extends), and
 * answers the ids it wrote. The reply's row is share-locked, as INSERT_AI_MESSAGES does: a rewind deleting it waits,
 * or has deleted it and the record is not written (the foreign key would fail the whole batch).
 */
const INSERT = `INSERT INTO reply_prompts (reply_id, session_id, messages, parts, model)
	SELECT g.reply_id, g.session_id, g.messages, g.parts, g.model
	FROM jsonb_to_recordset($1::jsonb) AS g(reply_id uuid, session_id uuid, messages jsonb, parts jsonb, model text)
	WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = g.reply_id AND m.session_id = g.session_id FOR KEY SHARE)
	ON CONFLICT (reply_id) DO UPDATE SET messages = EXCLUDED.messages, parts = EXCLUDED.parts, model = EXCLUDED.model,
		created_at = now()
	RETURNING reply_id`;

/** Keeps the newest `$2` records of each session in `$1`. */
const TRIM = `DELETE FROM reply_prompts r USING (
		SELECT reply_id, row_number() OVER (PARTITION BY session_id ORDER BY created_at DESC, reply_id) AS n
		FROM reply_prompts WHERE session_id = ANY($1::uuid[])) ranked
	WHERE r.reply_id = ranked.reply_id AND ranked.n > $2`;

export class PromptRecords {
	private readonly insert: (record: PromptRecord) => Promise<boolean>;
	/** Records waiting to be written, by their next try. */
	private readonly waiting = new Set<NodeJS.Timeout>();

	/** `keep`: records per session (CHAT_PROMPT_INSPECTOR_REPLIES; 0 keeps none). */
	constructor(
		private readonly sequelize: Sequelize,
		private readonly keep: number,
		private readonly logger: { warn(message: string): void },
	) {
		// Two records for one reply (a continue of a reply just recorded) go in successive statements.
		this.insert = batched((records) => this.insertAll(records), {
			maxBatchSize: 200,
			maxConcurrent: 1,
			conflictKey: (r) => r.reply_id,
		});
	}

	/** Keeps the prompt reply `replyId` was generated from, in the background, once the reply is stored. */
	record(replyId: string, sessionId: string, prompt: Pick<AssembledPrompt, "messages" | "parts">, model: string): void {
		if (this.keep === 0 || this.waiting.size >= MAX_WAITING) return;
		const { messages, parts } = prompt;
		this.attempt({ reply_id: replyId, session_id: sessionId, messages, parts, model }, 0);
	}

	/** The service stops: the records still waiting are dropped. */
	close(): void {
		for (const timer of this.waiting) clearTimeout(timer);
		this.waiting.clear();
	}

	/** The kept prompt of reply `replyId` of session `sessionId`, or null. */
	async find(sessionId: string, replyId: string): Promise<PromptView | null> {
		if (this.keep === 0) return null;
		const [row] = await this.sequelize.query<Omit<PromptView, "total_tokens">>(
			`SELECT reply_id, model, created_at, messages, parts FROM reply_prompts WHERE reply_id = $1 AND session_id = $2`,
			{ bind: [replyId, sessionId], type: QueryTypes.SELECT },
		);
		if (!row) return null;
		const messages = row.messages.map(({ role, content }) => ({
			role,
			content,
			tokens: countTokens(content) + MESSAGE_OVERHEAD_TOKENS,
		}));
		const total_tokens = messages.reduce((sum, m) => sum + m.tokens, 0);
		return { ...row, total_tokens, messages };
	}

	private attempt(record: PromptRecord, tries: number): void {
		const timer = setTimeout(() => {
			this.insert(record).then(
				(written) => {
					this.waiting.delete(timer);
					if (!written && tries + 1 < RETRY_DELAYS_MS.length) this.attempt(record, tries + 1);
				},
				(err: Error) => {
					this.waiting.delete(timer);
					this.logger.warn(`Prompt record failed: ${err.message}`);
				},
			);
		}, RETRY_DELAYS_MS[tries]);
		this.waiting.add(timer);
		timer.unref();
	}

	private async insertAll(records: PromptRecord[]): Promise<boolean[]> {
		const written = await this.sequelize.query<{ reply_id: string }>(INSERT, {
			bind: [JSON.stringify(records)],
			type: QueryTypes.SELECT,
		});
		const ids = new Set(written.map((r) => r.reply_id));
		const sessions = [...new Set(records.filter((r) => ids.has(r.reply_id)).map((r) => r.session_id))];
		if (sessions.length > 0) await this.sequelize.query(TRIM, { bind: [sessions, this.keep] });
		return records.map((r) => ids.has(r.reply_id));
	}
}
