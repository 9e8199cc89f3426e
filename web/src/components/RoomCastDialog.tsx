/**
 * The owner changes a room's cast (PATCH /sessions/{id} with `character_ids`): the characters now in it come first,
 * in speaking order, then the others you can talk to. Everyone's room reads itself again when the server says it
 * changed, so the names and the buttons asking each character to speak follow.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Character, type RoomView } from "../api";
import { castSpeaker } from "../chat/room";
import { toast } from "../toast";
import { CastPicker, type CastChoice } from "./CastPicker";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";
import { ROOM_FIELDS } from "./NewRoomDialog";

export function RoomCastDialog({ room, onClose }: { room: RoomView; onClose: () => void }) {
	const current = room.characters.map((c) => c.id);
	const [chosen, setChosen] = useState<string[]>(current);
	const [others, setOthers] = useState<Character[] | null>(null);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		let live = true;
		api<Character[]>("/characters?limit=100").then(
			(list) => live && setOthers(list),
			(err) => live && (setOthers([]), setError(errorText(err))),
		);
		return () => {
			live = false;
		};
	}, []);

	const choices: CastChoice[] = [
		...room.characters.map((c) => ({ ...castSpeaker(room.characters, c.id), name: c.name })),
		...(others ?? []).filter((c) => !current.includes(c.id)),
	];
	const unchanged = chosen.length === current.length && chosen.every((id, i) => id === current[i]);

	async function save(e: Event) {
		e.preventDefault();
		setBusy(true);
		try {
			await api(`/sessions/${encodeURIComponent(room.id)}`, {
				method: "PATCH",
				body: { character_ids: chosen },
				fields: ROOM_FIELDS,
			});
			toast("The room's characters changed");
			onClose();
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title="Characters in the room" onClose={onClose}>
			<form class="form" onSubmit={save}>
				<p class="muted small">They take turns in the order picked. A room needs at least one.</p>
				<CastPicker characters={choices} chosen={chosen} onChange={setChosen} legend="Characters" />
				{others === null && <p class="muted small">Loading characters…</p>}
				<FormFooter
					error={error}
					submit="Save"
					disabled={busy || chosen.length === 0 || unchanged}
					onCancel={onClose}
				/>
			</form>
		</Modal>
	);
}
