/**
 * The admin console's reports queue (GET /admin/reports): open reports, oldest first (or every report), each with the
 * character (its page opens over the queue), its owner, who reported it and why. What an admin can do about the
 * character: hide or show it, mark or unmark it NSFW (PATCH /admin/characters/{id}), delete it after a confirmation
 * (DELETE /admin/characters/{id}); and resolve the report with a note (PATCH /admin/reports/{id}).
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Character, type User } from "../api";
import type { ReportView } from "../admin-api";
import { timeAgo } from "../format";
import { toast } from "../toast";
import { CharacterSheet } from "./CharacterSheet";
import { ModerationBadges } from "./ModerationBadges";

/** The note's bound (RESOLUTION_MAX in src/domain/moderation.ts). */
const RESOLUTION_MAX = 1000;

export function AdminReports({ user }: { user: User }) {
	const [status, setStatus] = useState<"open" | "all">("open");
	const [reports, setReports] = useState<ReportView[] | null>(null);
	const [error, setError] = useState("");
	const [reload, setReload] = useState(0);
	const [viewing, setViewing] = useState<Character>();

	useEffect(() => {
		let live = true;
		api<ReportView[]>(`/admin/reports?status=${status}&limit=100`).then(
			(list) => live && setReports(list),
			(err) => live && setError(errorText(err)),
		);
		return () => {
			live = false;
		};
	}, [status, reload]);

	const refresh = () => setReload((n) => n + 1);

	return (
		<>
			<div class="admin-toolbar">
				<label class="check">
					<input
						type="checkbox"
						checked={status === "all"}
						onChange={(e) => setStatus(e.currentTarget.checked ? "all" : "open")}
					/>
					Show resolved reports too
				</label>
			</div>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			{reports === null && !error && <p class="muted">Loading…</p>}
			{reports?.length === 0 && <p class="muted">No {status === "open" ? "open " : ""}reports. All clear.</p>}
			{reports && reports.length > 0 && (
				<ol class="admin-reports" aria-label="Reports">
					{reports.map((report) => (
						<ReportItem
							key={report.id}
							report={report}
							onView={() => setViewing(sheetSummary(report.character))}
							onChanged={refresh}
						/>
					))}
				</ol>
			)}
			{viewing && (
				<CharacterSheet
					character={viewing}
					user={user}
					onClose={() => setViewing(undefined)}
					onEdit={() => setViewing(undefined)}
					onDeleted={() => {
						setViewing(undefined);
						refresh();
					}}
				/>
			)}
		</>
	);
}

/** What the character's page shows until the whole character arrives. */
function sheetSummary(character: ReportView["character"]): Character {
	return {
		id: character.id,
		name: character.name,
		description: "",
		is_public: true,
		hidden: character.hidden,
		nsfw: character.nsfw,
		created_by: null,
		has_avatar: false,
		updated_at: "",
	};
}

function ReportItem({ report, onView, onChanged }: { report: ReportView; onView: () => void; onChanged: () => void }) {
	const { character } = report;
	const [note, setNote] = useState("");
	const [confirming, setConfirming] = useState(false);
	const [busy, setBusy] = useState(false);

	async function act(path: string, init: { method: string; body?: unknown }, done: string) {
		setBusy(true);
		try {
			await api(path, init);
			toast(done);
			onChanged();
		} catch (err) {
			toast(errorText(err), "error");
		} finally {
			setBusy(false);
		}
	}

	const characterPath = `/admin/characters/${encodeURIComponent(character.id)}`;
	const moderate = (changes: { hidden?: boolean; nsfw?: boolean }, done: string) =>
		act(characterPath, { method: "PATCH", body: changes }, done);

	return (
		<li class="admin-report" aria-label={`Report on ${character.name}`}>
			<div class="admin-report-head">
				<button type="button" class="link-button admin-report-character" onClick={onView}>
					{character.name}
				</button>
				<ModerationBadges character={character} />
				<span class="muted small">
					by {character.owner ?? "a deleted account"} · {character.open_reports} open{" "}
					{character.open_reports === 1 ? "report" : "reports"}
				</span>
			</div>
			<blockquote class="admin-report-reason">{report.reason}</blockquote>
			<p class="muted small">
				Reported by {report.reporter} {timeAgo(report.created_at)}
				{report.resolved_at &&
					` · resolved by ${report.resolved_by ?? "a deleted account"}${report.resolution ? `: ${report.resolution}` : ""}`}
			</p>
			<div class="admin-row-actions">
				<button
					type="button"
					class="button small"
					disabled={busy}
					onClick={() =>
						void moderate({ hidden: !character.hidden }, `${character.name} ${character.hidden ? "shown" : "hidden"}`)
					}
				>
					{character.hidden ? "Unhide" : "Hide"}
				</button>
				<button
					type="button"
					class="button small"
					disabled={busy}
					onClick={() =>
						void moderate(
							{ nsfw: !character.nsfw },
							`${character.name} ${character.nsfw ? "no longer marked NSFW" : "marked NSFW"}`,
						)
					}
				>
					{character.nsfw ? "Unmark NSFW" : "Mark NSFW"}
				</button>
				<button type="button" class="button small danger" disabled={busy} onClick={() => setConfirming(true)}>
					Delete character…
				</button>
			</div>
			{confirming && (
				<div class="confirm" role="alertdialog" aria-label={`Delete ${character.name}?`}>
					<p>
						Delete <strong>{character.name}</strong> and every chat with them, for everyone? This cannot be undone.
					</p>
					<div class="form-actions">
						<button type="button" class="button ghost" onClick={() => setConfirming(false)}>
							Cancel
						</button>
						<button
							type="button"
							class="button danger"
							disabled={busy}
							onClick={() => void act(characterPath, { method: "DELETE" }, `Deleted ${character.name}`)}
						>
							Delete for good
						</button>
					</div>
				</div>
			)}
			{!report.resolved_at && (
				<form
					class="admin-resolve"
					onSubmit={(e) => {
						e.preventDefault();
						const resolution = note.trim();
						void act(
							`/admin/reports/${encodeURIComponent(report.id)}`,
							{ method: "PATCH", body: { resolved: true, ...(resolution ? { resolution } : {}) } },
							"Report resolved",
						);
					}}
				>
					<input
						aria-label="Resolution note"
						placeholder="What was done (optional)"
						maxLength={RESOLUTION_MAX}
						value={note}
						onInput={(e) => setNote(e.currentTarget.value)}
					/>
					<button type="submit" class="button small primary" disabled={busy}>
						Resolve
					</button>
				</form>
			)}
		</li>
	);
}
