/**
 * One lorebook's page: its settings (name, description, how many messages are scanned, its token budget, recursive
 * scanning, public) and its entries, saved together (PATCH /lorebooks/{id}); export as a SillyTavern world-info file
 * or a Character Card V2 `character_book`; delete. Another's public book is shown read-only.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, fetchBlob, saveBlob, type FieldSentences } from "../api";
import { blankEntry, keysOf, type LoreEntry, type Lorebook, type LoreFormat } from "../lore";
import { navigate } from "../router";
import { toast } from "../toast";
import { NumberField, Switch } from "./fields";
import { LoreEntryEditor, type EntryDraft } from "./LoreEntryEditor";
import { BackIcon, DownloadIcon, PlusIcon, TrashIcon } from "./icons";

const BOOK_FIELDS: FieldSentences = {
	name: "A lorebook's name is 1–200 characters.",
	scan_depth: "The scan depth is a whole number of messages from 1 to 100, or empty for the default.",
	token_budget: "The token budget is a whole number of tokens, or empty for the default.",
	entries: "An entry doesn't look right: check its keys (a /regex/ must be valid) and its length.",
};

interface Draft {
	name: string;
	description: string;
	/** As typed: empty means the server's default (null). */
	scan_depth: string;
	token_budget: string;
	recursive_scanning: boolean;
	is_public: boolean;
	entries: EntryDraft[];
}

function draftOf(book: Lorebook): Draft {
	return {
		name: book.name,
		description: book.description,
		scan_depth: book.scan_depth == null ? "" : String(book.scan_depth),
		token_budget: book.token_budget == null ? "" : String(book.token_budget),
		recursive_scanning: book.recursive_scanning,
		is_public: book.is_public,
		entries: book.entries.map(entryDraft),
	};
}

function entryDraft(entry: LoreEntry): EntryDraft {
	return { ...entry, keysText: entry.keys.join(", "), secondaryText: entry.secondary_keys.join(", ") };
}

function bodyOf(d: Draft) {
	const optional = (text: string) => (text.trim() === "" ? null : Number(text));
	return {
		name: d.name.trim(),
		description: d.description,
		scan_depth: optional(d.scan_depth),
		token_budget: optional(d.token_budget),
		recursive_scanning: d.recursive_scanning,
		is_public: d.is_public,
		entries: d.entries.map(({ keysText, secondaryText, ...entry }): LoreEntry => {
			return { ...entry, keys: keysOf(keysText), secondary_keys: keysOf(secondaryText) };
		}),
	};
}

/** "The Drowned Library" → "the-drowned-library", for the exported file's name. */
function slug(name: string): string {
	return (
		name
			.toLowerCase()
			.replace(/[^\p{L}\p{N}]+/gu, "-")
			.replace(/^-|-$/g, "") || "lorebook"
	);
}

export function LorebookEditor({ lorebookId }: { lorebookId: string }) {
	const [book, setBook] = useState<Lorebook | null>(null);
	const [draft, setDraft] = useState<Draft | null>(null);
	const [fresh, setFresh] = useState<number[]>([]);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);
	const [confirming, setConfirming] = useState(false);
	const path = `/lorebooks/${encodeURIComponent(lorebookId)}`;

	useEffect(() => {
		api<Lorebook>(path).then(
			(b) => {
				setBook(b);
				setDraft(draftOf(b));
			},
			(err) => setError(errorText(err)),
		);
	}, [path]);

	if (!book || !draft) {
		return (
			<main class="page">
				{error ? <p class="empty">{error}</p> : <p class="empty">Loading…</p>}
				<p class="empty">
					<a href="#/lorebooks">Back to lorebooks</a>
				</p>
			</main>
		);
	}

	const readOnly = !book.is_own;
	const changed = JSON.stringify(bodyOf(draft)) !== JSON.stringify(bodyOf(draftOf(book)));
	const set = (key: keyof Draft) => (e: Event) => {
		const input = e.currentTarget as HTMLInputElement;
		setDraft({ ...draft, [key]: input.type === "checkbox" ? input.checked : input.value });
	};

	async function save(e: Event) {
		e.preventDefault();
		if (!draft) return;
		setBusy(true);
		setError("");
		try {
			const saved = await api<Lorebook>(path, { method: "PATCH", body: bodyOf(draft), fields: BOOK_FIELDS });
			setBook(saved);
			setDraft(draftOf(saved));
			toast(`Saved ${saved.name}`);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	async function download(format: LoreFormat) {
		try {
			const blob = await fetchBlob(`${path}/export?format=${format}`);
			saveBlob(blob, `${slug(book!.name)}${format === "character_book" ? ".character_book" : ""}.json`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	async function remove() {
		try {
			await api(path, { method: "DELETE" });
			toast(`Deleted ${book!.name}`);
			navigate("#/lorebooks");
		} catch (err) {
			setConfirming(false);
			setError(errorText(err));
		}
	}

	function addEntry() {
		const entry = entryDraft(blankEntry(draft!.entries));
		setFresh([...fresh, entry.id]);
		setDraft({ ...draft!, entries: [...draft!.entries, entry] });
	}

	return (
		<main class="page lorebook-editor">
			<div class="editor-head">
				<a class="icon-button" href="#/lorebooks" aria-label="Back to lorebooks">
					<BackIcon />
				</a>
				<h1>{book.name}</h1>
				{readOnly && <span class="badge">Public · read only</span>}
			</div>
			<form class="form" onSubmit={save}>
				<fieldset class="form card book-settings" disabled={readOnly}>
					<legend class="visually-hidden">Book settings</legend>
					<label class="field">
						<span>Name</span>
						<input required maxLength={200} value={draft.name} onInput={set("name")} />
					</label>
					<label class="field">
						<span>Description</span>
						<textarea rows={2} value={draft.description} onInput={set("description")} />
					</label>
					<div class="form-row">
						<NumberField
							label="Scan depth (messages)"
							inputMode="numeric"
							min={1}
							max={100}
							step={1}
							placeholder="Default"
							value={draft.scan_depth}
							onInput={set("scan_depth")}
						/>
						<NumberField
							label="Token budget"
							inputMode="numeric"
							min={1}
							step={1}
							placeholder="Default"
							value={draft.token_budget}
							onInput={set("token_budget")}
						/>
					</div>
					<Switch
						label="Recursive scanning — entries' text can fire other entries"
						checked={draft.recursive_scanning}
						onChange={set("recursive_scanning")}
					/>
					<Switch
						label="Public — anyone can read and attach this book"
						checked={draft.is_public}
						onChange={set("is_public")}
					/>
				</fieldset>

				<section class="lore-entries" aria-label="Entries">
					<div class="section-head">
						<h2 class="section-title">
							Entries <span class="muted small">({draft.entries.length})</span>
						</h2>
						{!readOnly && (
							<button type="button" class="button small" onClick={addEntry}>
								<PlusIcon /> Add entry
							</button>
						)}
					</div>
					{draft.entries.length === 0 && <p class="empty">No entries yet.</p>}
					{draft.entries.map((entry, i) => (
						<LoreEntryEditor
							key={entry.id}
							entry={entry}
							index={i}
							readOnly={readOnly}
							open={fresh.includes(entry.id)}
							onChange={(next) =>
								setDraft({ ...draft, entries: draft.entries.map((e) => (e.id === entry.id ? next : e)) })
							}
							onRemove={() => setDraft({ ...draft, entries: draft.entries.filter((e) => e.id !== entry.id) })}
						/>
					))}
				</section>

				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}
				<div class="form-actions editor-actions">
					<span class="muted small">Export</span>
					<button type="button" class="button small" onClick={() => void download("sillytavern")}>
						<DownloadIcon /> SillyTavern world info
					</button>
					<button type="button" class="button small" onClick={() => void download("character_book")}>
						<DownloadIcon /> Card character_book
					</button>
					<span class="sheet-actions-gap" />
					{!readOnly && (
						<>
							<button type="button" class="button small danger" onClick={() => setConfirming(true)}>
								<TrashIcon /> Delete
							</button>
							<button type="submit" class="button primary" disabled={busy || !changed}>
								Save lorebook
							</button>
						</>
					)}
				</div>
				{confirming && (
					<div class="confirm" role="alertdialog" aria-label={`Delete ${book.name}?`}>
						<p>
							Delete <strong>{book.name}</strong>? Chats, personas and characters it is attached to lose it. This cannot
							be undone.
						</p>
						<div class="form-actions">
							<button type="button" class="button ghost" onClick={() => setConfirming(false)}>
								Cancel
							</button>
							<button type="button" class="button danger" onClick={() => void remove()}>
								Delete for good
							</button>
						</div>
					</div>
				)}
			</form>
		</main>
	);
}
