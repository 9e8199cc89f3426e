/**
 * Choosing a room's cast: the characters you can talk to, each a checkbox with its picture, in the order picked (the
 * order they take turns in). Starting a room and changing its cast both use it.
 */
import { CheckList } from "./CheckList";
import { Avatar, type AvatarSource } from "./Avatar";

export type CastChoice = AvatarSource & { name: string };

export function CastPicker(props: {
	characters: CastChoice[];
	chosen: string[];
	onChange: (ids: string[]) => void;
	legend: string;
}) {
	return (
		<fieldset class="form-group">
			<legend>{props.legend}</legend>
			<CheckList
				class="room-cast-picker"
				aria-label="Characters in the room"
				items={props.characters}
				chosen={props.chosen}
				onChange={props.onChange}
				label={(c) => (
					<>
						<Avatar name={c.name} size="sm" character={c} />
						<span class="check-text">{c.name}</span>
					</>
				)}
			/>
		</fieldset>
	);
}
