/** Who replies in a room and who is in its cast (the owner changes them; others see them), and leaving it for a member. */
import { useState } from "preact/hooks";
import { api, errorText, type ReplyMode, type RoomView } from "../api";
import { REPLY_MODE_LABELS, sameUser } from "../chat/room";
import { toast } from "../toast";
import { ReplyModeSelect } from "./ReplyModeSelect";
import { RoomCastDialog } from "./RoomCastDialog";
import { RoomSection } from "./RoomSection";

export function RoomSettings(props: { room: RoomView; me: string | undefined; onLeave: () => Promise<void> }) {
	const { room } = props;
	const owner = sameUser(room.owner, props.me);
	const [confirming, setConfirming] = useState(false);
	const [casting, setCasting] = useState(false);
	const mode = room.reply_mode ?? "addressed";

	async function changeMode(next: ReplyMode) {
		try {
			await api(`/sessions/${encodeURIComponent(room.id)}`, { method: "PATCH", body: { reply_mode: next } });
			toast(`Now: ${REPLY_MODE_LABELS[next].toLowerCase()}`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<RoomSection id="room-settings" title="Room">
			{owner ? (
				<>
					<ReplyModeSelect value={mode} onChange={(next) => void changeMode(next)} />
					<button type="button" class="button ghost small" onClick={() => setCasting(true)}>
						Change characters
					</button>
					{casting && <RoomCastDialog room={room} onClose={() => setCasting(false)} />}
				</>
			) : (
				<p class="muted small">{REPLY_MODE_LABELS[mode]}.</p>
			)}
			{!owner &&
				(confirming ? (
					<div class="person-confirm">
						<span>Leave this room?</span>
						<button type="button" class="button danger small" onClick={() => void props.onLeave()}>
							Leave
						</button>
						<button type="button" class="button ghost small" onClick={() => setConfirming(false)}>
							Cancel
						</button>
					</div>
				) : (
					<button type="button" class="button ghost small" onClick={() => setConfirming(true)}>
						Leave room
					</button>
				))}
		</RoomSection>
	);
}
