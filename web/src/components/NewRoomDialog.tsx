/**
 * Starting a room (POST /sessions with several characters): two or more of the characters you can talk to, in the
 * order picked (the order they take turns in), an optional name and who replies. It opens once made; people join it
 * through the invite links made there.
 */
import { useState } from "preact/hooks";
import { api, errorText, type Character, type FieldSentences, type ReplyMode, type RoomView } from "../api";
import { navigate, roomHash } from "../router";
import { Avatar } from "./Avatar";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";
import { ReplyModeSelect } from "./ReplyModeSelect";

/** TITLE_MAX_CHARS in the sessions service. */
const TITLE_MAX = 120;
const FIELDS: FieldSentences = {
	title: `A room's name is at most ${TITLE_MAX} characters.`,
	character_ids: "Pick characters you can talk to (a room takes a limited number).",
};

export function NewRoomDialog({ characters, onClose }: { characters: Character[]; onClose: () => void }) {
	const [chosen, setChosen] = useState<string[]>([]);
	const [title, setTitle] = useState("");
	const [mode, setMode] = useState<ReplyMode>("addressed");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function create(e: Event) {
		e.preventDefault();
		setBusy(true);
		try {
			const room = await api<RoomView>("/sessions", {
				method: "POST",
				body: { character_ids: chosen, reply_mode: mode, ...(title.trim() ? { title: title.trim() } : {}) },
				fields: FIELDS,
			});
			onClose();
			navigate(roomHash(room.id));
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title="New room" onClose={onClose}>
			<form class="form" onSubmit={create}>
				<p class="muted small">A room is one chat with several characters, and friends you invite.</p>
				<fieldset class="form-group">
					<legend>Characters (pick two or more)</legend>
					<ul class="check-list room-cast-picker" aria-label="Characters in the room">
						{characters.map((c) => (
							<li key={c.id}>
								<label class="check">
									<input
										type="checkbox"
										checked={chosen.includes(c.id)}
										onChange={(ev) =>
											setChosen(ev.currentTarget.checked ? [...chosen, c.id] : chosen.filter((id) => id !== c.id))
										}
									/>
									<Avatar name={c.name} size="sm" character={c} />
									<span class="check-text">{c.name}</span>
								</label>
							</li>
						))}
					</ul>
				</fieldset>
				<label class="field">
					<span>Name (optional)</span>
					<input
						maxLength={TITLE_MAX}
						value={title}
						placeholder="The tide mill, after dark"
						onInput={(e) => setTitle(e.currentTarget.value)}
					/>
				</label>
				<ReplyModeSelect value={mode} onChange={setMode} />
				<FormFooter error={error} submit="Create room" disabled={busy || chosen.length < 2} onCancel={onClose} />
			</form>
		</Modal>
	);
}
