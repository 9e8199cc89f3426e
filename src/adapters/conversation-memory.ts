/**
 * What the model remembers of a session: the recent history (the hot cache, else PostgreSQL) and the rolling summary
 * of the turns that no longer fit the prompt (folded by the model when there is one, else extractively). Folds write
 * the summary's folded part only: the user's own text (`summary_base`) is context for the model, never rewritten.
 */
import type { ChatLimits } from "../config.js";
import type { UserMsgPayload } from "../domain/chat-wire.js";
import { foldSummary, historyUpTo, summaryPrompt } from "../domain/prompt.js";
import type { ChatStore, SessionRow } from "./chat-store.js";
import type { HistoryCache } from "./history-cache.js";
import { historyEntry, type HistoryEntry } from "../domain/history.js";
import type { ChatModel } from "../domain/chat-model.js";
import { withUserSummary } from "../domain/session-summary.js";

/** A prompt as made for a message (speakers.ts `Prompted`): what the summary is folded from. */
export interface PromptedTurn {
	session: SessionRow | null;
	history: HistoryEntry[];
	prompt: { dropped: HistoryEntry[] };
	names: { char: string; user: string };
}

const SUMMARY_BATCH_TURNS = 4;
/** The most turns one fold reads from PostgreSQL; a longer backlog is caught up over the following replies. */
const UNSEEN_TURNS = 200;

export class ConversationMemory {
	constructor(
		private readonly store: ChatStore,
		private readonly cache: HistoryCache,
		private readonly limits: Pick<ChatLimits, "historyWindow" | "summaryTokens">,
	) {}

	/** The conversation up to this message, from the hot cache or (filling it) from PostgreSQL. */
	async history(payload: UserMsgPayload): Promise<HistoryEntry[]> {
		let entries = await this.cache.read(payload.session_id);
		if (!entries) {
			const rows = await this.store.latestMessages(payload.session_id, this.limits.historyWindow, undefined, true);
			entries = rows.map(historyEntry);
			await this.cache.fill(payload.session_id, entries);
		}
		const current: HistoryEntry = { id: payload.message_id, role: "user", content: payload.content };
		return historyUpTo(entries, payload.message_id, current, this.limits.historyWindow);
	}

	/**
	 * The session with a summary true to its turns, before a prompt is made from it. An edit or a rewind that touched
	 * turns the summary covered cleared it (`summary_upto_seq` null, story-edits.ts); when the session has turns older
	 * than the history window, which the prompt would otherwise lose without a trace, they are folded again now, not
	 * after the reply. (Also the first time a session outgrows the window.) A model that fails here leaves the
	 * extractive fold: the reply is on its way and will report the model's trouble itself.
	 */
	async withTrueSummary<S extends SessionRow>(
		model: ChatModel,
		session: S,
		history: HistoryEntry[],
		names: { char: string; user: string },
	): Promise<S> {
		if (session.summary_upto_seq !== null) return session;
		const turns = await this.unseenTurns(session, history);
		if (turns.length === 0) return session;
		const max = this.limits.summaryTokens;
		const summary = await this.fold(model, session, null, turns, names).catch(() =>
			foldSummary(null, turns, names, max),
		);
		const upto = turns.at(-1)!.seq!;
		await this.store.updateSummary(session.id, summary, upto, session);
		return { ...session, summary, summary_upto_seq: upto };
	}

	/**
	 * Keeps the rolling summary of a session's prompt up to date once its reply is out: turns that no longer fit the
	 * prompt, and any that fell out of the history window unseen, are folded in.
	 */
	async foldSummary(model: ChatModel, prompted: PromptedTurn): Promise<void> {
		const { session, history, names } = prompted;
		if (!session) return;
		const dropped = prompted.prompt.dropped;
		const upto = session.summary_upto_seq ? BigInt(session.summary_upto_seq) : 0n;
		const unseen = await this.unseenTurns(session, history);
		const turns = [...unseen, ...dropped.filter((e) => e.seq && BigInt(e.seq) > upto)];
		// Folded a few turns at a time: a summary write (and with a model, a summary call) per message is waste.
		if (turns.length < SUMMARY_BATCH_TURNS) return;
		const summary = await this.fold(model, session, session.summary, turns, names);
		await this.store.updateSummary(session.id, summary, turns.at(-1)!.seq!, session);
	}

	/** Active turns older than the history window that the summary has not folded yet (at most UNSEEN_TURNS). */
	private async unseenTurns(session: SessionRow, history: HistoryEntry[]): Promise<HistoryEntry[]> {
		const upto = session.summary_upto_seq ? BigInt(session.summary_upto_seq) : 0n;
		const oldestSeen = history.find((e) => e.seq)?.seq;
		// A window that is not full holds the session from its start. (seq counts across sessions: its gaps say nothing.)
		if (history.length < this.limits.historyWindow || !oldestSeen || BigInt(oldestSeen) <= upto + 1n) return [];
		const rows = await this.store.activeMessagesBetween({
			session_id: session.id,
			after_seq: session.summary_upto_seq,
			before_seq: oldestSeen,
			limit: UNSEEN_TURNS,
		});
		return rows.map(historyEntry);
	}

	/**
	 * The folded part `previous` with `turns` folded in: by the model when there is one (reading the user's own summary
	 * of `session` as context), else a line per turn, the oldest lines of the folded part dropped first.
	 */
	private async fold(
		model: ChatModel,
		session: SessionRow,
		previous: string | null,
		turns: HistoryEntry[],
		names: { char: string; user: string },
	): Promise<string> {
		const max = this.limits.summaryTokens;
		const extractive = foldSummary(previous, turns, names, max);
		if (model.name === "offline") return extractive;
		const prompt = withUserSummary(summaryPrompt(previous, turns, names, max), session.summary_base);
		let written = "";
		for await (const chunk of model.stream(prompt)) written += chunk;
		return written.trim() || extractive;
	}
}
