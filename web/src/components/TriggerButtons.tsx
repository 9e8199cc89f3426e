/** A room's cast as buttons: each asks that character to speak next (after the replies already asked for). */
import type { RoomCharacter } from "../api";
import { castSpeaker } from "../chat/room";
import { Avatar } from "./Avatar";

export function TriggerButtons(props: {
	characters: RoomCharacter[];
	disabled: boolean;
	onTrigger: (characterId: string) => void;
}) {
	return (
		<div class="trigger-bar" role="group" aria-label="Ask a character to speak">
			<span class="trigger-label" aria-hidden="true">
				Ask
			</span>
			{props.characters.map((c) => (
				<button
					key={c.id}
					type="button"
					class="chip trigger"
					aria-label={`Ask ${c.name} to speak`}
					title={`Ask ${c.name} to speak next`}
					disabled={props.disabled}
					onClick={() => props.onTrigger(c.id)}
				>
					<Avatar name={c.name} size="sm" character={castSpeaker(props.characters, c.id)} />
					{c.name}
				</button>
			))}
		</div>
	);
}
