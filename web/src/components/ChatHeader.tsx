/**
 * The open chat's header: the character and whether the chat is connected, who you play in it (your personas to
 * switch to), the memory panel's button and, on a phone, the way back and the list of chats.
 */
import type { Character, Persona } from "../api";
import type { ConnectionStatus } from "../chat/connection";
import { Avatar } from "./Avatar";
import { PersonaSwitch } from "./PersonaPicker";
import { BackIcon, HistoryIcon, MemoryIcon } from "./icons";

export function ChatHeader(props: {
	character: Character;
	status: ConnectionStatus;
	presence: string;
	/** Your personas; null until they arrive. */
	personas: Persona[] | null;
	/** Who you play in this chat; null until the session is read. */
	persona: { id: string; name: string } | null;
	onSwitchPersona: (persona: Persona) => void;
	/** Absent until the chat's memory is read. */
	onOpenMemory?: () => void;
	onOpenSessions: () => void;
}) {
	const { character, personas, persona } = props;
	return (
		<header class="chat-header">
			<a class="icon-button only-phone" href="#/" aria-label="Back to characters">
				<BackIcon />
			</a>
			<Avatar name={character.name} character={character} />
			<div class="chat-title">
				<h1>{character.name}</h1>
				<span class={`presence presence-${props.status}`}>{props.presence}</span>
			</div>
			<PersonaSwitch personas={personas} persona={persona} onSwitch={props.onSwitchPersona} />
			<button
				type="button"
				class="icon-button"
				aria-label="Memory"
				title="Memory: summary, pinned messages, lorebooks"
				disabled={!props.onOpenMemory}
				onClick={props.onOpenMemory}
			>
				<MemoryIcon />
			</button>
			<button type="button" class="icon-button only-phone" aria-label="Show chats" onClick={props.onOpenSessions}>
				<HistoryIcon />
			</button>
		</header>
	);
}
