/**
 * What the model remembers of a session: the recent history (the hot cache, else PostgreSQL) and the rolling summary
 * of the turns that no longer fit the prompt (folded by the model when there is one, else extractively).
 */
import type { ChatLimits } from "../config.js";
import type { UserMsgPayload } from "../domain/chat-wire.js";
import { foldSummary, historyUpTo, summaryPrompt } from "../domain/prompt.js";
import type { ChatStore, SessionRow } from "./chat-store.js";
import type { HistoryCache } from "./history-cache.js";
import { historyEntry, type HistoryEntry } from "../domain/history.js";
import type { ChatModel } from "../domain/chat-model.js";

const SUMMARY_BATCH_TURNS = 4;

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
	 * Keeps the rolling summary up to date: turns that no longer fit the prompt, and any that fell out of the history
	 * window unseen, are folded in.
	 */
	async foldSummary(
		model: ChatModel,
		session: SessionRow,
		history: HistoryEntry[],
		dropped: HistoryEntry[],
		names: { char: string; user: string },
	): Promise<void> {
		const upto = session.summary_upto_seq ? BigInt(session.summary_upto_seq) : 0n;
		const oldestSeen = history.find((e) => e.seq)?.seq;
		// A window that is not full holds the session from its start. (seq counts across sessions: its gaps say nothing.)
		const unseen =
			history.length >= this.limits.historyWindow && oldestSeen && BigInt(oldestSeen) > upto + 1n
				? (
						await this.store.activeMessagesBetween({
							session_id: session.id,
							after_seq: session.summary_upto_seq,
							before_seq: oldestSeen,
							limit: 200,
						})
					).map(historyEntry)
				: [];
		const turns = [...unseen, ...dropped.filter((e) => e.seq && BigInt(e.seq) > upto)];
		// Folded a few turns at a time: a summary write (and with a model, a summary call) per message is waste.
		if (turns.length < SUMMARY_BATCH_TURNS) return;
		const max = this.limits.summaryTokens;
		let summary = foldSummary(session.summary, turns, names, max);
		if (model.name !== "offline") {
			let written = "";
			for await (const chunk of model.stream(summaryPrompt(session.summary, turns, names, max))) written += chunk;
			if (written.trim()) summary = written.trim();
		}
		await this.store.updateSummary(session.id, summary, turns.at(-1)!.seq!);
	}
}
