/** A session's recent messages as the prompt reads them (cached by src/adapters/history-cache.ts). */
import { countTokens } from "./token-count.js";

export interface HistoryEntry {
	id: string;
	role: "user" | "ai";
	content: string;
	/** Position in the session (messages.seq), so the rolling summary knows what it already holds. */
	seq?: string;
	/** Tokens of `content`, counted once when the entry is made rather than for every prompt it goes into. */
	tokens?: number;
}

/** A stored message as the history holds it. */
export function historyEntry(m: { id: string; role: "user" | "ai"; content: string; seq: string }): HistoryEntry {
	return { id: m.id, role: m.role, content: m.content, seq: m.seq, tokens: countTokens(m.content) };
}
