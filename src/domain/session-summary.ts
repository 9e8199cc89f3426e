/**
 * A session's summary has two parts (migration 0011): `summary_base`, what the user wrote, kept verbatim, and
 * `summary`, the turns folded in on top of it since. Folds write the second part only.
 */
import type { ChatMessage } from "./chat-model.js";

export interface SummaryParts {
	summary_base: string | null;
	summary: string | null;
}

/** The summary as the prompt and the memory panel show it: the user's part, then the folded one; null if neither. */
export function fullSummary({ summary_base, summary }: SummaryParts): string | null {
	return [summary_base, summary].filter((part) => part?.trim()).join("\n") || null;
}

/**
 * A fold's prompt (`summaryPrompt`) given the user's own summary as context: the model writes only what it folds in,
 * on top of the user's text, which it must neither repeat nor contradict.
 */
export function withUserSummary(prompt: ChatMessage[], base: string | null): ChatMessage[] {
	if (!base?.trim()) return prompt;
	const [first, ...rest] = prompt;
	const context =
		`${first.content}\n\nThe user wrote this summary of the story before, and it stays as it is: write only what the ` +
		`new lines add to it, without repeating it.\n<user_summary>\n${base.trim()}\n</user_summary>`;
	return [{ ...first, content: context }, ...rest];
}
