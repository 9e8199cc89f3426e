/**
 * Reporting a character to the admins (POST /characters/id/{id}/report), from its page: the reason asked for and the
 * report confirmed before it is sent. A second report of the same character answers the reporter's open one.
 */
import { useState } from "preact/hooks";
import { api, errorText } from "../api";
import { toast } from "../toast";

/** The reason's bound (REPORT_REASON_MAX in src/domain/moderation.ts). */
const REASON_MAX = 1000;

export function ReportCharacter({
	character,
	onDone,
}: {
	character: { id: string; name: string };
	onDone: () => void;
}) {
	const [reason, setReason] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			await api(`/characters/id/${encodeURIComponent(character.id)}/report`, {
				method: "POST",
				body: { reason: reason.trim() },
				fields: { reason: `Say why, in up to ${REASON_MAX} characters.` },
			});
			toast(`Reported ${character.name} to the admins`);
			onDone();
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<form class="confirm report-form" aria-label={`Report ${character.name}`} onSubmit={submit}>
			<p>
				Report <strong>{character.name}</strong> to the admins of this site? They see your username and your reason.
			</p>
			<label class="field">
				<span>Reason</span>
				<textarea
					required
					rows={3}
					maxLength={REASON_MAX}
					value={reason}
					onInput={(e) => setReason(e.currentTarget.value)}
				/>
			</label>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			<div class="form-actions">
				<button type="button" class="button ghost" onClick={onDone}>
					Cancel
				</button>
				<button type="submit" class="button danger" disabled={busy || !reason.trim()}>
					Send report
				</button>
			</div>
		</form>
	);
}
