/**
 * The open room's header: its name, whether it is connected, its cast, who you play in it (your personas to switch
 * to, as every member may), and on a phone the way back and its people.
 */
import type { Persona, RoomView } from "../api";
import type { ConnectionStatus } from "../chat/connection";
import { PersonaSwitch } from "./PersonaPicker";
import { BackIcon, UsersIcon } from "./icons";

export function RoomHeader(props: {
	room: RoomView;
	status: ConnectionStatus;
	/** Your personas; null until they arrive. */
	personas: Persona[] | null;
	/** Who you play in the room; null until known. */
	persona: { id: string; name: string } | null;
	onSwitchPersona: (persona: Persona) => void;
	onOpenPeople: () => void;
}) {
	const { room, status, personas, persona } = props;
	const cast = room.characters.map((c) => c.name).join(", ");
	return (
		<header class="chat-header">
			<a class="icon-button only-phone" href="#/" aria-label="Back to characters">
				<BackIcon />
			</a>
			<div class="chat-title">
				<h1>{room.title}</h1>
				<span class={`presence presence-${status}`}>{statusText(status, cast)}</span>
			</div>
			<PersonaSwitch personas={personas} persona={persona} onSwitch={props.onSwitchPersona} />
			<button type="button" class="icon-button only-phone" aria-label="Show people" onClick={props.onOpenPeople}>
				<UsersIcon />
			</button>
		</header>
	);
}

function statusText(status: ConnectionStatus, cast: string): string {
	if (status === "open") return `With ${cast}`;
	if (status === "stopped") return "Disconnected";
	return status === "connecting" ? "Connecting…" : "Reconnecting…";
}
