/** Beside a room's conversation (under the way back and its name): its cast, its people with presence, invites (owner) and settings. */
import type { RoomView } from "../api";
import { castSpeaker, sameUser, type Presence } from "../chat/room";
import { Avatar } from "./Avatar";
import { RoomInvite } from "./RoomInvite";
import { RoomMembers } from "./RoomMembers";
import { RoomSettings } from "./RoomSettings";
import { RoomSection } from "./RoomSection";

export function RoomSidebar(props: {
	room: RoomView;
	me: string | undefined;
	presence: Presence;
	onLeave: () => Promise<void>;
}) {
	const { room } = props;
	return (
		<>
			<RoomSection id="room-cast" title="Characters">
				<ul class="room-cast" aria-label="Characters in the room">
					{room.characters.map((c) => (
						<li key={c.id} class="room-person">
							<Avatar name={c.name} size="sm" character={castSpeaker(room.characters, c.id)} />
							<span class="person-name">{c.name}</span>
						</li>
					))}
				</ul>
			</RoomSection>
			<RoomMembers room={room} me={props.me} presence={props.presence} />
			{sameUser(room.owner, props.me) && <RoomInvite room={room} />}
			<RoomSettings room={room} me={props.me} onLeave={props.onLeave} />
		</>
	);
}
