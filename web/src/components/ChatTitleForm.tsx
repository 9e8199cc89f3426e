/**
 * Renaming a chat in place (PATCH /sessions/{id}): the title as the list shows it, ready to change; an empty name
 * gives the chat back its default title (the character and your first line).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorText, type FieldSentences, type SessionSummary } from "../api";

/** TITLE_MAX_CHARS in the sessions service. */
const TITLE_MAX = 120;
const TITLE_FIELDS: FieldSentences = { title: `A chat's name is at most ${TITLE_MAX} characters.` };

export function ChatTitleForm({
	session,
	onDone,
}: {
	session: SessionSummary;
	/** The renamed chat, or nothing when the user cancelled. */
	onDone: (renamed?: SessionSummary) => void;
}) {
	const [title, setTitle] = useState(session.title);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);
	const input = useRef<HTMLInputElement>(null);

	useEffect(() => input.current?.select(), []);

	async function save(e: Event) {
		e.preventDefault();
		const wanted = title.trim();
		if (wanted === session.title) return onDone();
		setBusy(true);
		try {
			const renamed = await api<SessionSummary>(`/sessions/${encodeURIComponent(session.id)}`, {
				method: "PATCH",
				body: { title: wanted || null },
				fields: TITLE_FIELDS,
			});
			onDone({ ...session, title: renamed.title });
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<form class="chat-title-form" onSubmit={save}>
			<input
				ref={input}
				aria-label="Chat name"
				maxLength={TITLE_MAX}
				value={title}
				placeholder="A name for this chat"
				onInput={(e) => setTitle(e.currentTarget.value)}
				onKeyDown={(e) => {
					if (e.key === "Escape") {
						// Leaves any dialog around it open.
						e.stopPropagation();
						onDone();
					}
				}}
			/>
			<button type="submit" class="button primary small" disabled={busy}>
				Save
			</button>
			<button type="button" class="button ghost small" onClick={() => onDone()}>
				Cancel
			</button>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
		</form>
	);
}
