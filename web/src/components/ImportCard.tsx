/**
 * Import a Character Card (.json, or a .png with the card embedded): its bytes go to POST /characters/import as they
 * are, with the file's content type, and the server's `detail` is shown when it refuses the file. The importer
 * chooses who may chat with it first: private (only you) unless they choose public.
 */
import { useState } from "preact/hooks";
import { api, errorText, type Character } from "../api";
import { toast } from "../toast";
import { Modal } from "./Modal";
import { FileDrop } from "./FileDrop";

/** Browsers leave `type` empty for some files; the extension then decides. */
function contentType(file: File): string {
	if (file.type) return file.type;
	return /\.png$/i.test(file.name) ? "image/png" : "application/json";
}

export function ImportCard({ onClose, onImported }: { onClose: () => void; onImported: (c: Character) => void }) {
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);
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
			<FileDrop
				label="Character card file"
				title="Drop a card here, or choose a file"
				busyTitle="Importing…"
				hint="Character Card V2/V3 as .json, or a .png with the card inside"
				accept=".json,.png,application/json,image/png"
				busy={busy}
				onFile={(file) => void upload(file)}
				error={error}
			/>
		</Modal>
	);
}
