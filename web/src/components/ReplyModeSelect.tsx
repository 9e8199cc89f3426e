/** Choosing who speaks after a message in a room: the reply modes, each as a person would put it. */
import type { ReplyMode } from "../api";
import { REPLY_MODE_LABELS } from "../chat/room";

export function ReplyModeSelect({
	value,
	onChange,
	disabled = false,
}: {
	value: ReplyMode;
	onChange: (mode: ReplyMode) => void;
	disabled?: boolean;
}) {
	return (
		<label class="field">
			<span>Who replies</span>
			<select value={value} disabled={disabled} onChange={(e) => onChange(e.currentTarget.value as ReplyMode)}>
				{(Object.keys(REPLY_MODE_LABELS) as ReplyMode[]).map((mode) => (
					<option key={mode} value={mode}>
						{REPLY_MODE_LABELS[mode]}
					</option>
				))}
			</select>
		</label>
	);
}
