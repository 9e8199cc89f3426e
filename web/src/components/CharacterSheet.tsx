/**
 * A character's page over the gallery: who they are, their latest chat to continue, a new chat opened with the
 * greeting of your choice, their card to download (JSON or PNG), for your own, edit and delete, and for others', a
 * report to the admins (issue 17).
 */
import { useEffect, useState } from "preact/hooks";
import {
	api,
	errorText,
	fetchBlob,
	saveBlob,
	type Character,
	type CharacterDetails,
	type SessionSummary,
	type User,
} from "../api";
import { filled } from "../format";
import { chatHash } from "../router";
import { toast } from "../toast";
import { Avatar } from "./Avatar";
import { ChatImportDrop } from "./ChatTransfer";
import { GreetingPicker } from "./GreetingPicker";
import { Modal } from "./Modal";
import { ModerationBadges } from "./ModerationBadges";
import { ReportCharacter } from "./ReportCharacter";
import { EditIcon, TrashIcon } from "./icons";

export function CharacterSheet({
	character,
	user,
	onClose,
	onEdit,
	onDeleted,
}: {
	/** The gallery's summary, shown until the whole character arrives. */
	character: Character;
	user: User | null;
	onClose: () => void;
	onEdit: (c: CharacterDetails) => void;
	onDeleted: (c: Character) => void;
}) {
	const [details, setDetails] = useState<CharacterDetails | null>(null);
	const [error, setError] = useState("");
	const [confirming, setConfirming] = useState(false);
	const [busy, setBusy] = useState(false);
	const [latestChat, setLatestChat] = useState<SessionSummary>();
	const [importing, setImporting] = useState(false);
	const [reporting, setReporting] = useState(false);

	useEffect(() => {
		api<CharacterDetails>(`/characters/id/${encodeURIComponent(character.id)}`)
			.then(setDetails)
			.catch((err) => setError(errorText(err)));
		latestChatWith(character.id).then(setLatestChat, () => undefined);
	}, [character.id]);

	const shown = details ?? character;
	const fill = (text: string) => filled(text, shown.name, user);
	const mine = Boolean(user && shown.created_by === user.id);

	async function download(format: "json" | "png") {
		try {
			const blob = await fetchBlob(`/characters/id/${encodeURIComponent(shown.id)}/card.${format}`);
			saveBlob(blob, `${details?.slug ?? "character"}.${format}`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	async function remove() {
		setBusy(true);
		try {
			await api(`/characters/id/${encodeURIComponent(shown.id)}`, { method: "DELETE" });
			toast(`Deleted ${shown.name}`);
			onDeleted(shown);
		} catch (err) {
			setError(errorText(err));
			setConfirming(false);
		} finally {
			setBusy(false);
		}
	}

	return (
		<Modal title={shown.name} onClose={onClose} wide>
			<div class="sheet">
				<div class="sheet-head">
					<Avatar name={shown.name} size="xl" character={shown} />
					<div class="sheet-title">
						<div class="sheet-badges">
							<span class="badge">{shown.is_public ? "Public" : "Private"}</span>
							{mine && <span class="badge">Yours</span>}
							<ModerationBadges character={shown} />
							{details?.creator && <span class="muted small">by {details.creator}</span>}
						</div>
						{details && details.tags.length > 0 && (
							<ul class="tag-list" aria-label="Tags">
								{details.tags.map((tag) => (
									<li class="tag" key={tag}>
										{tag}
									</li>
								))}
							</ul>
						)}
					</div>
				</div>

				{shown.description && <p class="sheet-description">{fill(shown.description)}</p>}
				{details?.creator_notes && (
					<details class="sheet-notes">
						<summary>Creator's notes</summary>
						<p>{fill(details.creator_notes)}</p>
					</details>
				)}
				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}

				<div class="sheet-chat">
					{latestChat && (
						<a class="button primary wide" href={chatHash(shown.id, latestChat.id)}>
							Continue “{latestChat.title}”
						</a>
					)}
					{details && <GreetingPicker character={details} user={user} primary={!latestChat} />}
					<button type="button" class="button small ghost" onClick={() => setImporting((open) => !open)}>
						Import a chat file
					</button>
					{importing && <ChatImportDrop character={shown} onDone={onClose} />}
				</div>

				<div class="sheet-actions">
					<span class="muted small">Card</span>
					<button type="button" class="button small" onClick={() => void download("json")}>
						Export JSON
					</button>
					<button type="button" class="button small" onClick={() => void download("png")}>
						Export PNG
					</button>
					{mine && details && (
						<>
							<span class="sheet-actions-gap" />
							<button type="button" class="button small" onClick={() => onEdit(details)}>
								<EditIcon /> Edit
							</button>
							<button type="button" class="button small danger" onClick={() => setConfirming(true)}>
								<TrashIcon /> Delete
							</button>
						</>
					)}
					{user && !mine && (
						<>
							<span class="sheet-actions-gap" />
							<button type="button" class="button small ghost" onClick={() => setReporting(true)}>
								Report…
							</button>
						</>
					)}
				</div>
				{reporting && <ReportCharacter character={shown} onDone={() => setReporting(false)} />}
				{confirming && (
					<div class="confirm" role="alertdialog" aria-label={`Delete ${shown.name}?`}>
						<p>
							Delete <strong>{shown.name}</strong> and all chats with them? This cannot be undone.
						</p>
						<div class="form-actions">
							<button type="button" class="button ghost" onClick={() => setConfirming(false)}>
								Cancel
							</button>
							<button type="button" class="button danger" disabled={busy} onClick={() => void remove()}>
								Delete for good
							</button>
						</div>
					</div>
				)}
			</div>
		</Modal>
	);
}

/** Your latest chat with a character (GET /sessions lists newest first), if you have one. */
export async function latestChatWith(characterId: string): Promise<SessionSummary | undefined> {
	const [latest] = await api<SessionSummary[]>(`/sessions?character_id=${encodeURIComponent(characterId)}&limit=1`);
	return latest;
}
