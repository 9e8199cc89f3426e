/**
 * Import a Character Card (.json, or a .png with the card embedded): its bytes go to POST /characters/import as they
 * are, with the file's content type, and the server's `detail` is shown when it refuses the file. The importer
 * chooses who may chat with it first: private (only you) unless they choose public.
 */
import { useState } from "preact/hooks";
import { api, errorText, type Character } from "../api";
import { toast } from "../toast";
import { Modal } from "./Modal";
import { UploadIcon } from "./icons";

/** Browsers leave `type` empty for some files; the extension then decides. */
function contentType(file: File): string {
	if (file.type) return file.type;
	return /\.png$/i.test(file.name) ? "image/png" : "application/json";
}

export function ImportCard({ onClose, onImported }: { onClose: () => void; onImported: (c: Character) => void }) {
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);
	const [over, setOver] = useState(false);
	const [isPublic, setPublic] = useState(false);

	async function upload(file: File | undefined) {
		if (!file) return;
		setBusy(true);
		setError("");
		try {
			const created = await api<Character>(`/characters/import${isPublic ? "?public=true" : ""}`, {
				method: "POST",
				body: file,
				contentType: contentType(file),
			});
			toast(`Imported ${created.name}`);
			onImported(created);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<Modal title="Import a character card" onClose={onClose}>
			<fieldset class="visibility-choice">
				<legend>Who can chat with it?</legend>
				<label class={isPublic ? "choice" : "choice chosen"}>
					<input type="radio" name="visibility" checked={!isPublic} onChange={() => setPublic(false)} />
					<span>
						<strong>Private</strong>
						<span class="muted small">Only you</span>
					</span>
				</label>
				<label class={isPublic ? "choice chosen" : "choice"}>
					<input type="radio" name="visibility" checked={isPublic} onChange={() => setPublic(true)} />
					<span>
						<strong>Public</strong>
						<span class="muted small">Anyone on this server</span>
					</span>
				</label>
			</fieldset>
			<label
				class={over ? "dropzone over" : "dropzone"}
				onDragOver={(e) => {
					e.preventDefault();
					setOver(true);
				}}
				onDragLeave={() => setOver(false)}
				onDrop={(e) => {
					e.preventDefault();
					setOver(false);
					void upload(e.dataTransfer?.files[0]);
				}}
			>
				<UploadIcon />
				<strong>{busy ? "Importing…" : "Drop a card here, or choose a file"}</strong>
				<span class="muted small">Character Card V2/V3 as .json, or a .png with the card inside</span>
				<input
					type="file"
					class="visually-hidden"
					aria-label="Character card file"
					accept=".json,.png,application/json,image/png"
					disabled={busy}
					onChange={(e) => {
						const input = e.currentTarget;
						const file = input.files?.[0];
						// Cleared so that choosing the same file again (after fixing it) fires another change.
						input.value = "";
						void upload(file);
					}}
				/>
			</label>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
		</Modal>
	);
}
