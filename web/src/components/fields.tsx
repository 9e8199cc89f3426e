/** Form controls the character, lorebook, entry and persona forms share, so that their markup (and its CSS) is one. */
import type { InputHTMLAttributes } from "preact";

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "type"> & { label: string };

/** A number input under its label; every other attribute (name, inputMode, min, max, step, value…) is the caller's. */
export function NumberField({ label, ...input }: InputProps) {
	return (
		<label class="field">
			<span>{label}</span>
			<input type="number" {...input} />
		</label>
	);
}

/** A checkbox drawn as an on/off switch beside its label: the track is only drawn, the checkbox is what is read. */
export function Switch({ label, ...input }: InputProps) {
	return (
		<label class="switch">
			<input type="checkbox" {...input} />
			<span class="switch-track" aria-hidden="true" />
			<span>{label}</span>
		</label>
	);
}
