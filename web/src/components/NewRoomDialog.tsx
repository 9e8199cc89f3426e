/**
 * Starting a room (POST /sessions with several characters): two or more of the characters you can talk to, in the
 * order picked (the order they take turns in), an optional name and who replies. It opens once made; people join it
 * through the invite links made there.
 */
import { useState } from "preact/hooks";
import { api, errorText, type Character, type FieldSentences, type ReplyMode, type RoomView } from "../api";
import { navigate, roomHash } from "../router";
import { CastPicker } from "./CastPicker";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";
import { ReplyModeSelect } from "./ReplyModeSelect";

/** TITLE_MAX_CHARS in the sessions service. */
const TITLE_MAX = 120;
export const ROOM_FIELDS: FieldSentences = {
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
				fields: ROOM_FIELDS,
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
				<CastPicker
					characters={characters}
					chosen={chosen}
					onChange={setChosen}
					legend="Characters (pick two or more)"
				/>
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
