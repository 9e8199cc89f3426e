/** The owner's ways to bring people in: invite links anyone logged in can join by, or adding someone by username. */
import { useState } from "preact/hooks";
import { api, errorText, type RoomView } from "../api";
import { toast } from "../toast";
import { InviteLinks } from "./InviteLinks";
import { RoomSection } from "./RoomSection";

export function RoomInvite({ room }: { room: RoomView }) {
	return (
		<RoomSection id="room-invite" title="Invite">
			<InviteLinks room={room} />
			<AddMember roomId={room.id} />
		</RoomSection>
	);
}

/** Adds someone by username (an active account); the room's change shows them in the list. */
function AddMember({ roomId }: { roomId: string }) {
	const [username, setUsername] = useState("");

	async function add(e: Event) {
		e.preventDefault();
		const wanted = username.trim();
		if (!wanted) return;
		try {
			await api(`/sessions/${encodeURIComponent(roomId)}/members`, { method: "POST", body: { username: wanted } });
			setUsername("");
			toast(`${wanted} is in the room`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<form class="invite-add" onSubmit={add}>
			<input
				aria-label="Add by username"
				placeholder="Add by username"
				value={username}
				maxLength={64}
				onInput={(e) => setUsername(e.currentTarget.value)}
			/>
			<button type="submit" class="button small" disabled={!username.trim()}>
				Add
			</button>
		</form>
	);
}
