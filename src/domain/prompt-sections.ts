/**
 * The system message of a prompt, written section by section, and the tokens each part of the prompt costs: the
 * prompt inspector shows these, and they add up to the prompt's token count. A line of the system message costs its
 * tokens and one for its newline, each message a few tokens of framing (counted with the system part).
 */
import type { HistoryEntry } from "./history.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "./token-count.js";

export type PromptPartKind =
	"system" | "persona" | "lore" | "summary" | "pinned" | "examples" | "history" | "post_history" | "instruction";

export interface PromptPart {
	part: PromptPartKind;
	/** A lore entry's name. */
	name?: string;
	tokens: number;
}

const PART_ORDER: PromptPartKind[] = [
	"system",
	"lore",
	"persona",
	"summary",
	"pinned",
	"examples",
	"history",
	"post_history",
	"instruction",
];

export class PromptLedger {
	private readonly lines: string[] = [];
	private readonly charged: PromptPart[] = [];

	constructor() {
		this.charge("system", MESSAGE_OVERHEAD_TOKENS);
	}

	/** Adds `tokens` to `part`; each lore entry is a part of its own. */
	charge(part: PromptPartKind, tokens: number, name?: string): void {
		const known = part === "lore" ? undefined : this.charged.find((p) => p.part === part);
		if (known) known.tokens += tokens;
		else this.charged.push(name === undefined ? { part, tokens } : { part, name, tokens });
	}

	/** Appends `lines` to the system message, charged to `part`. */
	write(part: PromptPartKind, lines: string[], name?: string): void {
		if (lines.length === 0) return;
		this.lines.push(...lines);
		this.charge(part, linesCost(lines), name);
	}

	/** A blank line, then `text` after `label: ` (when there is a label); nothing when `text` is empty. */
	section(part: PromptPartKind, text: string, label = "", name?: string): void {
		if (text) this.write(part, ["", label ? `${label}: ${text}` : text], name);
	}

	get system(): string {
		return this.lines.join("\n");
	}

	get tokens(): number {
		return this.charged.reduce((sum, p) => sum + p.tokens, 0);
	}

	/** In prompt order. */
	get parts(): PromptPart[] {
		return [...this.charged].sort((a, b) => PART_ORDER.indexOf(a.part) - PART_ORDER.indexOf(b.part));
	}
}

/**
 * What `lines` cost in the system message. Line by line, the summary's lines too: each fold adds a few and drops a
 * few, and a count of the whole summary would be a new one (and the costliest step of a prompt) every time it changed.
 */
export function linesCost(lines: string[]): number {
	return lines.flatMap((line) => line.split("\n")).reduce((sum, line) => sum + countTokens(line) + 1, 0);
}

/** The "Pinned messages" section for `pinned` (oldest first), each as `name: text`. */
export function pinnedSection(pinned: HistoryEntry[], names: { char: string; user: string }): string[] {
	if (pinned.length === 0) return [];
	return ["", "Pinned messages:", ...pinned.map((p) => `${p.role === "user" ? names.user : names.char}: ${p.content}`)];
}
