/**
 * A room's people: each with a dot that says whether they have the room open, who they play, and the owner's way to
 * remove them (after a confirmation; their connections close at once).
 */
import { useState } from "preact/hooks";
import { api, errorText, type RoomMember, type RoomView } from "../api";
import { sameUser, type Presence } from "../chat/room";
import { toast } from "../toast";
import { Avatar } from "./Avatar";
import { CloseIcon } from "./icons";
import { RoomSection } from "./RoomSection";

export function RoomMembers({ room, me, presence }: { room: RoomView; me: string | undefined; presence: Presence }) {
	const owner = sameUser(room.owner, me);
	return (
		<RoomSection id="room-people" title="People">
			<ul class="room-people" aria-label="People in the room">
				{room.members.map((m) => (
					<Member
						key={m.username}
						room={room}
						member={m}
						you={sameUser(m.username, me)}
						online={presence[m.username.toLowerCase()] ?? false}
						removable={owner && m.role !== "owner"}
					/>
				))}
			</ul>
		</RoomSection>
	);
}

function Member(props: { room: RoomView; member: RoomMember; you: boolean; online: boolean; removable: boolean }) {
	const { member } = props;
	const [confirming, setConfirming] = useState(false);
	const shown = member.persona?.name || member.name;

	async function remove() {
		try {
			await api(`/sessions/${encodeURIComponent(props.room.id)}/members/${encodeURIComponent(member.username)}`, {
				method: "DELETE",
			});
			toast(`${shown} was removed from the room`);
		} catch (err) {
			toast(errorText(err), "error");
		}
		setConfirming(false);
	}

	return (
		<li class="room-person" data-username={member.username}>
			<span class="person-avatar">
				<Avatar name={shown} size="sm" />
				<span
					class={props.online ? "presence-dot online" : "presence-dot"}
					role="img"
					aria-label={props.online ? "online" : "offline"}
					title={props.online ? "Here now" : "Away"}
				/>
			</span>
			<span class="person-text">
				<span class="person-name">
					{shown}
					{props.you && <span class="muted"> (you)</span>}
				</span>
				<span class="muted small">
					@{member.username}
					{member.role === "owner" ? " · owner" : ""}
				</span>
			</span>
			{props.removable &&
				(confirming ? (
					<span class="person-confirm">
						<button type="button" class="button danger small" onClick={() => void remove()}>
							Remove
						</button>
						<button type="button" class="button ghost small" onClick={() => setConfirming(false)}>
							Cancel
						</button>
					</span>
				) : (
					<button
						type="button"
						class="icon-button tiny"
						aria-label={`Remove ${shown}`}
						onClick={() => setConfirming(true)}
					>
						<CloseIcon />
					</button>
				))}
		</li>
	);
}
