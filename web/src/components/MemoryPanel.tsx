/**
 * What the chat remembers, to read and change: the summary (yours to rewrite; newer turns are folded in after your
 * text, never over it), when it was last updated and how far into the story it reaches, the pinned messages (always
 * in the prompt), and the lorebooks attached to this chat.
 */
import { useState } from "preact/hooks";
import { errorText, type Memory } from "../api";
import { timeAgo } from "../format";
import { toast } from "../toast";
import { LorebookPicker } from "./LorebookPicker";
import { Modal } from "./Modal";
import { PinIcon } from "./icons";

/** The server's limit on a summary (PATCH /sessions/{id}/memory). */
const SUMMARY_MAX = 8000;

/** A message as the panel names it: who wrote it and its text as shown. */
export interface PinnedLine {
	author: string;
	text: string;
}

export function MemoryPanel({
	memory,
	lorebookIds,
	lineOf,
	onSaveSummary,
	onUnpin,
	onSaveLorebooks,
	onClose,
}: {
	memory: Memory;
	lorebookIds: string[];
	/** The pinned message as shown in the chat; undefined when it is not loaded (older than the page). */
	lineOf: (id: string) => PinnedLine | undefined;
	onSaveSummary: (summary: string | null) => Promise<void>;
	onUnpin: (id: string) => Promise<void>;
	onSaveLorebooks: (ids: string[]) => Promise<void>;
	onClose: () => void;
}) {
	const [summary, setSummary] = useState(memory.summary ?? "");
	const [books, setBooks] = useState(lorebookIds);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState("");
	const booksChanged = JSON.stringify(books) !== JSON.stringify(lorebookIds);

	async function run(work: () => Promise<void>, done: string) {
		setBusy(true);
		setError("");
		try {
			await work();
			toast(done);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<Modal title="Memory" onClose={onClose} wide>
			<div class="form memory-panel">
				<form
					class="form"
					onSubmit={(e) => {
						e.preventDefault();
						void run(() => onSaveSummary(summary.trim() || null), "Summary saved");
					}}
				>
					<label class="field">
						<span>Summary</span>
						<textarea
							rows={6}
							maxLength={SUMMARY_MAX}
							value={summary}
							placeholder="The story so far, as the character should remember it. Newer turns are added after your text."
							onInput={(e) => setSummary(e.currentTarget.value)}
						/>
					</label>
					<p class="muted small memory-meta">
						{memory.summary_updated_at ? (
							<>
								Updated <time dateTime={memory.summary_updated_at}>{timeAgo(memory.summary_updated_at)}</time>
							</>
						) : (
							"No summary yet: it is written once the chat outgrows what the prompt holds."
						)}
						{memory.covered_until_at && (
							<>
								{" · "}covers the story up to{" "}
								<time dateTime={memory.covered_until_at}>
									{new Date(memory.covered_until_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}
								</time>
							</>
						)}
					</p>
					<div class="form-actions">
						<button type="submit" class="button primary small" disabled={busy || summary === (memory.summary ?? "")}>
							Save summary
						</button>
					</div>
				</form>

				<section class="form-group" aria-labelledby="pinned-title">
					<h3 id="pinned-title" class="group-title">
						Pinned messages
					</h3>
					{memory.pinned.length === 0 ? (
						<p class="muted small">
							None. Pin a message from its actions menu to keep it in the prompt however long the chat grows.
						</p>
					) : (
						<ul class="pinned-list">
							{memory.pinned.map((id) => {
								const line = lineOf(id);
								return (
									<li key={id} class="pinned-item">
										<PinIcon size={14} />
										<span class="pinned-text">
											{line ? (
												<>
													<strong>{line.author}: </strong>
													{line.text}
												</>
											) : (
												<span class="muted">An earlier message (load earlier messages to read it)</span>
											)}
										</span>
										<button
											type="button"
											class="button ghost small"
											disabled={busy}
											aria-label={line ? `Unpin “${line.text.slice(0, 40)}”` : "Unpin earlier message"}
											onClick={() => void run(() => onUnpin(id), "Unpinned")}
										>
											Unpin
										</button>
									</li>
								);
							})}
						</ul>
					)}
				</section>

				<LorebookPicker selected={books} onChange={setBooks} legend="Lorebooks in this chat" />
				{booksChanged && (
					<div class="form-actions">
						<button
							type="button"
							class="button primary small"
							disabled={busy}
							onClick={() => void run(() => onSaveLorebooks(books), "Lorebooks saved")}
						>
							Save lorebooks
						</button>
					</div>
				)}
				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}
			</div>
		</Modal>
	);
}
