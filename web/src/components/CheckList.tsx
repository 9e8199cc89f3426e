/** A list of checkboxes choosing some of a list's items, kept in the order they were checked (the caller saves it). */
import type { ComponentChildren } from "preact";

export function CheckList<T extends { id: string }>(props: {
	items: T[];
	chosen: string[];
	onChange: (ids: string[]) => void;
	/** What each checkbox says (its accessible name). */
	label: (item: T) => ComponentChildren;
	class?: string;
	"aria-label"?: string;
}) {
	const { chosen, onChange } = props;
	return (
		<ul class={props.class ? `check-list ${props.class}` : "check-list"} aria-label={props["aria-label"]}>
			{props.items.map((item) => (
				<li key={item.id}>
					<label class="check">
						<input
							type="checkbox"
							checked={chosen.includes(item.id)}
							onChange={(e) =>
								onChange(e.currentTarget.checked ? [...chosen, item.id] : chosen.filter((id) => id !== item.id))
							}
						/>
						{props.label(item)}
					</label>
				</li>
			))}
		</ul>
	);
}
