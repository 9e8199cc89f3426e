/** Create a character: name, description, system prompt, greeting, and whether others may talk to it. */
import { useState } from "preact/hooks";
import { api, errorText, type Character, type FieldSentences } from "../api";
import { toast } from "../toast";
import { Modal } from "./Modal";

/** The longest name the server takes (TEXT_LIMITS.name; that module needs Node, so it is not imported here). */
const NAME_MAX = 80;

/** The server's rules for the form's fields (characters.create), said the way a person would. */
const CHARACTER_FIELDS: FieldSentences = {
	name: `A name is 1–${NAME_MAX} characters.`,
	description: "The description is too long (at most 20,000 characters).",
	system_prompt: "The system prompt is needed, and at most 20,000 characters.",
	greeting: "The greeting is too long (at most 20,000 characters).",
};

export function CharacterForm({ onClose, onCreated }: { onClose: () => void; onCreated: (c: Character) => void }) {
	const [fields, setFields] = useState({ name: "", description: "", system_prompt: "", greeting: "", is_public: true });
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	const set = (key: keyof typeof fields) => (e: Event) => {
		const input = e.currentTarget as HTMLInputElement;
		setFields({ ...fields, [key]: input.type === "checkbox" ? input.checked : input.value });
	};

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			const created = await api<Character>("/characters", { method: "POST", body: fields, fields: CHARACTER_FIELDS });
			toast(`${created.name} is ready to chat`);
			onCreated(created);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<Modal title="New character" onClose={onClose}>
			<form class="form" onSubmit={submit}>
				<label class="field">
					<span>Name</span>
					<input name="name" required maxLength={NAME_MAX} value={fields.name} onInput={set("name")} />
				</label>
				<label class="field">
					<span>Description</span>
					<input
						name="description"
						placeholder="One line that appears on the card"
						value={fields.description}
						onInput={set("description")}
					/>
				</label>
				<label class="field">
					<span>System prompt</span>
					<textarea
						name="system_prompt"
						required
						rows={5}
						placeholder="Who they are, how they speak, what they know"
						value={fields.system_prompt}
						onInput={set("system_prompt")}
					/>
				</label>
				<label class="field">
					<span>Greeting</span>
					<textarea
						name="greeting"
						rows={2}
						placeholder="Their first message in every new chat"
						value={fields.greeting}
						onInput={set("greeting")}
					/>
				</label>
				<label class="switch">
					<input type="checkbox" name="is_public" checked={fields.is_public} onChange={set("is_public")} />
					<span class="switch-track" aria-hidden="true" />
					<span>Public — anyone can chat with this character</span>
				</label>
				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}
				<div class="form-actions">
					<button type="button" class="button ghost" onClick={onClose}>
						Cancel
					</button>
					<button type="submit" class="button primary" disabled={busy}>
						Create character
					</button>
				</div>
			</form>
		</Modal>
	);
}
