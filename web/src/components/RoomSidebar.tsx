/** Beside a room's conversation: the way back, its cast, its people with presence, invites (owner) and settings. */
import type { RoomView } from "../api";
import { castSpeaker, sameUser, type Presence } from "../chat/room";
import { Avatar } from "./Avatar";
import { RoomInvite } from "./RoomInvite";
import { RoomMembers } from "./RoomMembers";
import { RoomSettings } from "./RoomSettings";
import { BackIcon, CloseIcon } from "./icons";

export function RoomSidebar(props: {
	room: RoomView;
	me: string | undefined;
	presence: Presence;
	onClose: () => void;
	onLeave: () => Promise<void>;
}) {
	const { room } = props;
	return (
		<>
			<div class="sidebar-head">
				<a class="icon-button" href="#/" aria-label="Back to characters">
					<BackIcon />
				</a>
				<span class="sidebar-title">{room.title}</span>
				<button type="button" class="icon-button only-phone" aria-label="Close room details" onClick={props.onClose}>
					<CloseIcon />
				</button>
			</div>
			<section class="room-section" aria-labelledby="room-cast">
				<h2 id="room-cast" class="group-title">
					Characters
				</h2>
				<ul class="room-cast" aria-label="Characters in the room">
					{room.characters.map((c) => (
						<li key={c.id} class="room-person">
							<Avatar name={c.name} size="sm" character={castSpeaker(room.characters, c.id)} />
							<span class="person-name">{c.name}</span>
						</li>
					))}
				</ul>
			</section>
			<RoomMembers room={room} me={props.me} presence={props.presence} />
			{sameUser(room.owner, props.me) && <RoomInvite room={room} />}
			<RoomSettings room={room} me={props.me} onLeave={props.onLeave} />
		</>
	);
}
