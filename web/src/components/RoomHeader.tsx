/** The open room's header: its name, whether it is connected, its cast, and on a phone the way back and its people. */
import type { RoomView } from "../api";
import type { ConnectionStatus } from "../chat/connection";
import { BackIcon, UsersIcon } from "./icons";

export function RoomHeader(props: { room: RoomView; status: ConnectionStatus; onOpenPeople: () => void }) {
	const { room, status } = props;
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
