/** A code the server shows only once (a password-reset code, a sign-up invite): selectable, with a copy button. */
import { toast } from "../toast";

export function OneTimeCode({ label, code, note }: { label: string; code: string; note: string }) {
	async function copy() {
		try {
			await navigator.clipboard.writeText(code);
			toast("Code copied");
		} catch {
			toast("Couldn't copy: select the code and copy it yourself.", "error");
		}
	}

	return (
		<div class="one-time-code">
			<label class="field">
				<span>{label}</span>
				<input readOnly value={code} onFocus={(e) => e.currentTarget.select()} />
			</label>
			<button type="button" class="button small" onClick={() => void copy()}>
				Copy
			</button>
			<p class="muted small">{note}</p>
		</div>
	);
}
