/**
 * Chats as files: a chat downloaded as SillyTavern's JSONL or cameo's JSON (GET /sessions/{id}/export.*), and a chat
 * file made into a new chat with a character (POST /sessions/import), which then opens. The file goes to the server
 * as it is; the server's `detail` (naming the line at fault) is shown when it refuses it.
 */
import { useState } from "preact/hooks";
import { api, errorText, fetchBlob, saveBlob, type SessionSummary } from "../api";
import { chatHash, navigate } from "../router";
import { toast } from "../toast";
import { FileDrop } from "./FileDrop";
import { Modal } from "./Modal";

/** Browsers give .jsonl files no type: the extension decides, and anything else is read as lines of text. */
function contentType(file: File): string {
	if (/\.jsonl$/i.test(file.name)) return "application/jsonl";
	if (/\.json$/i.test(file.name) || file.type === "application/json") return "application/json";
	return "text/plain";
}

/** Drop or choose a chat file: it becomes a new chat with `character`, opened at once. */
export function ChatImportDrop({
	character,
	onDone,
}: {
	character: { id: string; name: string };
	onDone?: () => void;
}) {
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function upload(file: File | undefined) {
		if (!file) return;
		setBusy(true);
		setError("");
		try {
			const session = await api<SessionSummary>(`/sessions/import?character_id=${encodeURIComponent(character.id)}`, {
				method: "POST",
				body: file,
				contentType: contentType(file),
			});
			toast(`Imported a chat with ${character.name}`);
			onDone?.();
			navigate(chatHash(character.id, session.id));
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<FileDrop
			label={`Chat file to import with ${character.name}`}
			title="Drop a chat file here, or choose one"
			busyTitle="Importing…"
			hint={`SillyTavern .jsonl or a cameo .json export; the replies become ${character.name}'s`}
			accept=".jsonl,.json,.txt,application/json,text/plain"
			busy={busy}
			onFile={(file) => void upload(file)}
			error={error}
		/>
	);
}

/** A chat's export buttons, and an import of another file with its character. */
export function ChatTransferDialog({ session, onClose }: { session: SessionSummary; onClose: () => void }) {
	async function download(format: "jsonl" | "json") {
		try {
			const blob = await fetchBlob(`/sessions/${encodeURIComponent(session.id)}/export.${format}`);
			const name = session.character_name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "") || "chat";
			saveBlob(blob, `${name}-${session.created_at.slice(0, 10)}.${format}`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<Modal title="Export or import a chat" onClose={onClose}>
			<div class="sheet-actions">
				<span class="muted small">This chat</span>
				<button type="button" class="button small" onClick={() => void download("jsonl")}>
					Export JSONL
				</button>
				<button type="button" class="button small" onClick={() => void download("json")}>
					Export JSON
				</button>
			</div>
			<p class="muted small">
				JSONL is SillyTavern's chat file (Agnai, RisuAI and others read it too); JSON is cameo's own, with every
				variant, edit and pin.
			</p>
			<ChatImportDrop character={{ id: session.character_id, name: session.character_name }} onDone={onClose} />
		</Modal>
	);
}
