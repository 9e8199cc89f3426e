/**
 * One lorebook entry, folded to its name, keys and flags until opened: what it says, what fires it (keys, and for a
 * selective entry one of its secondary keys; `/pattern/flags` keys are regular expressions), how keys match, where it
 * goes in the prompt, its order and its priority when the budget is short.
 */
import type { LoreEntry, LorePosition } from "../lore";
import { NumberField } from "./fields";
import { TrashIcon } from "./icons";

/** An entry as the form edits it: the keys as typed (comma-separated) until saved. */
export interface EntryDraft extends LoreEntry {
	keysText: string;
	secondaryText: string;
}

type Flag = "enabled" | "constant" | "selective" | "case_sensitive" | "match_whole_words";

const FLAGS: { flag: Flag; label: string; hint: string }[] = [
	{ flag: "enabled", label: "Enabled", hint: "Off: never inserted" },
	{ flag: "constant", label: "Constant", hint: "Always inserted, keys or not" },
	{ flag: "selective", label: "Selective", hint: "Also needs one secondary key" },
	{ flag: "case_sensitive", label: "Case-sensitive", hint: "Dragon is not dragon" },
	{ flag: "match_whole_words", label: "Whole words", hint: "cat does not fire on category" },
];

/** A flag's value as shown: unset case sensitivity is off, unset whole-word matching is on (the server's defaults). */
function flagValue(entry: LoreEntry, flag: Flag): boolean {
	if (flag === "case_sensitive") return entry.case_sensitive ?? false;
	if (flag === "match_whole_words") return entry.match_whole_words ?? true;
	return entry[flag];
}

export function LoreEntryEditor({
	entry,
	index,
	readOnly,
	open,
	onChange,
	onRemove,
}: {
	entry: EntryDraft;
	index: number;
	readOnly: boolean;
	/** Opened at first (a new entry). */
	open: boolean;
	onChange: (entry: EntryDraft) => void;
	onRemove: () => void;
}) {
	const set = <K extends keyof EntryDraft>(key: K, value: EntryDraft[K]) => onChange({ ...entry, [key]: value });
	const label = entry.name.trim() || `Entry ${index + 1}`;
	const number = (text: string) => (Number.isFinite(Number(text)) ? Math.trunc(Number(text)) : 0);
	return (
		<details class="lore-entry" open={open} data-entry={entry.id}>
			<summary>
				<span class="lore-entry-name">{label}</span>
				<span class="muted small lore-entry-keys">
					{entry.constant ? "always" : entry.keysText.trim() || "no keys"}
				</span>
				{!entry.enabled && <span class="badge">Off</span>}
			</summary>
			<fieldset class="form lore-entry-body" disabled={readOnly} aria-label={`Entry ${label}`}>
				<div class="form-row">
					<label class="field">
						<span>Entry name</span>
						<input value={entry.name} maxLength={200} onInput={(e) => set("name", e.currentTarget.value)} />
					</label>
					<label class="field">
						<span>Position</span>
						<select value={entry.position} onChange={(e) => set("position", e.currentTarget.value as LorePosition)}>
							<option value="before_char">Before the character</option>
							<option value="after_char">After the character</option>
						</select>
					</label>
				</div>
				<label class="field">
					<span>Keys</span>
					<input
						value={entry.keysText}
						placeholder="Comma-separated: dragon, wyrm, /drak(e|on)/i"
						onInput={(e) => set("keysText", e.currentTarget.value)}
					/>
				</label>
				<label class="field">
					<span>Secondary keys</span>
					<input
						value={entry.secondaryText}
						placeholder="For a selective entry: one of these must appear too"
						onInput={(e) => set("secondaryText", e.currentTarget.value)}
					/>
				</label>
				<label class="field">
					<span>Content</span>
					<textarea
						rows={4}
						value={entry.content}
						placeholder="What the character is told when the entry fires; {{char}} and {{user}} are filled in"
						onInput={(e) => set("content", e.currentTarget.value)}
					/>
				</label>
				<div class="lore-flags" role="group" aria-label="Matching">
					{FLAGS.map(({ flag, label: text, hint }) => (
						<label class="check" key={flag} title={hint}>
							<input
								type="checkbox"
								checked={flagValue(entry, flag)}
								onChange={(e) => set(flag, e.currentTarget.checked)}
							/>
							<span>{text}</span>
						</label>
					))}
				</div>
				<div class="form-row">
					<NumberField
						label="Order"
						inputMode="numeric"
						step={1}
						value={entry.insertion_order}
						onInput={(e) => set("insertion_order", number(e.currentTarget.value))}
					/>
					<NumberField
						label="Priority"
						inputMode="numeric"
						step={1}
						value={entry.priority}
						onInput={(e) => set("priority", number(e.currentTarget.value))}
					/>
				</div>
				{!readOnly && (
					<div class="form-actions">
						<button type="button" class="button ghost small danger" onClick={onRemove}>
							<TrashIcon /> Delete entry
						</button>
					</div>
				)}
			</fieldset>
		</details>
	);
}
