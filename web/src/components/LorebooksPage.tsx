/**
 * Lorebooks (world info): yours and the public ones of others. A new book is named and then filled in its editor;
 * an import takes a SillyTavern world-info file or a Character Card V2 `character_book` as JSON (the server tells
 * them apart) and opens the book made from it.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { timeAgo } from "../format";
import type { Lorebook, LorebookSummary } from "../lore";
import { lorebookHash, navigate } from "../router";
import { toast } from "../toast";
import { FileDrop } from "./FileDrop";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";
import { BookIcon, PlusIcon, UploadIcon } from "./icons";

export function LorebooksPage() {
	const [books, setBooks] = useState<LorebookSummary[] | null>(null);
	const [error, setError] = useState("");
	const [dialog, setDialog] = useState<"create" | "import" | null>(null);

	useEffect(() => {
		api<LorebookSummary[]>("/lorebooks").then(setBooks, (err) => setError(errorText(err)));
	}, []);

	const mine = books?.filter((b) => b.is_own) ?? [];
	const others = books?.filter((b) => !b.is_own) ?? [];
	return (
		<main class="page lorebooks-page">
			<section class="gallery-intro">
				<div>
					<h1>Lorebooks</h1>
					<p class="muted">
						World info: entries the character is told about when their keywords come up. Attach books to a chat, a
						persona or a character of yours.
					</p>
				</div>
				<div class="actions">
					<button type="button" class="button" onClick={() => setDialog("import")}>
						<UploadIcon /> Import lorebook
					</button>
					<button type="button" class="button primary" onClick={() => setDialog("create")}>
						<PlusIcon /> New lorebook
					</button>
				</div>
			</section>
			{error && <p class="form-error">{error}</p>}
			<BookList title="Yours" label="Your lorebooks" books={mine} empty="You have no lorebooks yet." />
			{others.length > 0 && <BookList title="Public" label="Public lorebooks of others" books={others} />}
			{dialog === "create" && <CreateLorebook onClose={() => setDialog(null)} />}
			{dialog === "import" && <ImportLorebook onClose={() => setDialog(null)} />}
		</main>
	);
}

function BookList({
	title,
	label,
	books,
	empty,
}: {
	title: string;
	label: string;
	books: LorebookSummary[];
	empty?: string;
}) {
	return (
		<section aria-label={label}>
			<h2 class="section-title">{title}</h2>
			{books.length === 0 && empty && <p class="empty">{empty}</p>}
			<ul class="item-list">
				{books.map((b) => (
					<li key={b.id} class="item-card">
						<span class="item-icon" aria-hidden="true">
							<BookIcon />
						</span>
						<a class="item-body item-link" href={lorebookHash(b.id)}>
							<span class="item-title">
								<strong>{b.name}</strong>
								{b.is_public && b.is_own && <span class="badge">Public</span>}
								<span class="muted small">
									{b.entry_count === 1 ? "1 entry" : `${b.entry_count} entries`} · {timeAgo(b.updated_at)}
								</span>
							</span>
							{b.description && <span class="muted item-description">{b.description}</span>}
						</a>
					</li>
				))}
			</ul>
		</section>
	);
}

function CreateLorebook({ onClose }: { onClose: () => void }) {
	const [name, setName] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		try {
			const book = await api<Lorebook>("/lorebooks", { method: "POST", body: { name: name.trim() } });
			navigate(lorebookHash(book.id));
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title="New lorebook" onClose={onClose}>
			<form class="form" onSubmit={submit}>
				<label class="field">
					<span>Name</span>
					<input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
				</label>
				<FormFooter error={error} submit="Create lorebook" disabled={busy || !name.trim()} onCancel={onClose} />
			</form>
		</Modal>
	);
}

/** Whether a lorebook file names itself (a top-level `name`); a file that is not JSON is the server's to refuse. */
function namedIn(text: string): boolean {
	try {
		const parsed: unknown = JSON.parse(text);
		const name = (parsed as { name?: unknown } | null)?.name;
		return typeof name === "string" && name.trim() !== "";
	} catch {
		return false;
	}
}

function ImportLorebook({ onClose }: { onClose: () => void }) {
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function upload(file: File | undefined) {
		if (!file) return;
		setBusy(true);
		setError("");
		try {
			const text = await file.text();
			// World-info files often carry no name of their own: the file's then names the book.
			const name = namedIn(text) ? "" : file.name.replace(/\.json$/i, "").trim();
			const book = await api<Lorebook>(`/lorebooks/import${name ? `?name=${encodeURIComponent(name)}` : ""}`, {
				method: "POST",
				body: new Blob([text], { type: "application/json" }),
			});
			toast(`Imported ${book.name}`);
			navigate(lorebookHash(book.id));
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title="Import a lorebook" onClose={onClose}>
			<FileDrop
				label="Lorebook file"
				title="Drop a lorebook here, or choose a file"
				busyTitle="Importing…"
				hint="A SillyTavern world-info .json, or a Character Card V2 character_book"
				accept=".json,application/json"
				busy={busy}
				onFile={(file) => void upload(file)}
				error={error}
			/>
		</Modal>
	);
}
