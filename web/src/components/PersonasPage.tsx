/**
 * Your personas: who you play in chats. `{{user}}` is the persona's name, and its description tells the character
 * about you. One is the default (new chats start with it); each has an optional image and lorebooks that come along
 * into every chat it plays. Create, edit and delete here (the last one cannot go).
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type FieldSentences, type Persona } from "../api";
import { toast } from "../toast";
import { Avatar } from "./Avatar";
import { FormFooter } from "./FormFooter";
import { Switch } from "./fields";
import { LorebookPicker } from "./LorebookPicker";
import { Modal } from "./Modal";
import { ImagePicker } from "./ImagePicker";
import { EditIcon, PlusIcon, TrashIcon } from "./icons";

/** The server's limits (POST /personas). */
const NAME_MAX = 64;
const DESCRIPTION_MAX = 4000;
const IMAGE_MAX_BYTES = 512 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];

const PERSONA_FIELDS: FieldSentences = {
	name: `A persona's name is 1–${NAME_MAX} characters.`,
	description: `The description is at most ${DESCRIPTION_MAX.toLocaleString()} characters.`,
	avatar: "The image must be a PNG, JPEG or WebP of at most 512 kB.",
	lorebook_ids: "Up to 20 lorebooks, each yours or public.",
};

export function PersonasPage() {
	const [personas, setPersonas] = useState<Persona[] | null>(null);
	const [error, setError] = useState("");
	const [editing, setEditing] = useState<Persona | "new" | null>(null);
	const [confirming, setConfirming] = useState<Persona | null>(null);
	const [reload, setReload] = useState(0);

	useEffect(() => {
		api<Persona[]>("/personas").then(setPersonas, (err) => setError(errorText(err)));
	}, [reload]);

	async function remove(persona: Persona) {
		try {
			await api(`/personas/${encodeURIComponent(persona.id)}`, { method: "DELETE" });
			toast(`Deleted ${persona.name}`);
			setConfirming(null);
			setReload((n) => n + 1);
		} catch (err) {
			setConfirming(null);
			toast(errorText(err), "error");
		}
	}

	return (
		<main class="page personas-page">
			<section class="gallery-intro">
				<div>
					<h1>Personas</h1>
					<p class="muted">Who you are in a chat: the character calls you by this name and knows what it says.</p>
				</div>
				<div class="actions">
					<button type="button" class="button primary" onClick={() => setEditing("new")}>
						<PlusIcon /> New persona
					</button>
				</div>
			</section>
			{error && <p class="form-error">{error}</p>}
			<ul class="item-list" aria-label="Your personas">
				{personas?.map((p) => (
					<li key={p.id} class="item-card">
						<Avatar name={p.name} size="lg" persona={p} />
						<div class="item-body">
							<div class="item-title">
								<strong>{p.name}</strong>
								{p.is_default && <span class="badge">Default</span>}
								{p.lorebook_ids.length > 0 && (
									<span class="muted small">
										{p.lorebook_ids.length === 1 ? "1 lorebook" : `${p.lorebook_ids.length} lorebooks`}
									</span>
								)}
							</div>
							<p class="muted item-description">{p.description || "No description."}</p>
							{confirming?.id === p.id && (
								<div class="session-confirm" role="alertdialog" aria-label={`Delete ${p.name}?`}>
									<span>Delete {p.name}? Chats played as them go on as your default.</span>
									<button type="button" class="button danger small" onClick={() => void remove(p)}>
										Delete
									</button>
									<button type="button" class="button ghost small" onClick={() => setConfirming(null)}>
										Cancel
									</button>
								</div>
							)}
						</div>
						<div class="item-actions">
							<button type="button" class="icon-button" aria-label={`Edit ${p.name}`} onClick={() => setEditing(p)}>
								<EditIcon />
							</button>
							<button
								type="button"
								class="icon-button"
								aria-label={`Delete ${p.name}`}
								onClick={() => setConfirming(p)}
							>
								<TrashIcon />
							</button>
						</div>
					</li>
				))}
			</ul>
			{editing && (
				<PersonaForm
					persona={editing === "new" ? undefined : editing}
					onClose={() => setEditing(null)}
					onSaved={() => {
						setEditing(null);
						setReload((n) => n + 1);
					}}
				/>
			)}
		</main>
	);
}

/** A chosen image: the file's blob: URL for the preview (the page's policy shows no data: URLs), and the data: URL to send. */
type ImageChange = { preview: string; data: string } | "remove" | null;

function readDataUrl(file: File): Promise<string> {
	return new Promise((resolve, reject) => {
		const reader = new FileReader();
		reader.onload = () => resolve(String(reader.result));
		reader.onerror = () => reject(new Error("Couldn't read that file."));
		reader.readAsDataURL(file);
	});
}

function PersonaForm({
	persona,
	onClose,
	onSaved,
}: {
	persona?: Persona;
	onClose: () => void;
	onSaved: (saved: Persona) => void;
}) {
	const [name, setName] = useState(persona?.name ?? "");
	const [description, setDescription] = useState(persona?.description ?? "");
	const [isDefault, setIsDefault] = useState(persona?.is_default ?? false);
	const [books, setBooks] = useState(persona?.lorebook_ids ?? []);
	const [image, setImage] = useState<ImageChange>(null);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		const url = image && image !== "remove" ? image.preview : undefined;
		return () => {
			if (url) URL.revokeObjectURL(url);
		};
	}, [image]);

	async function choose(file: File | undefined) {
		if (!file) return;
		if (!IMAGE_TYPES.includes(file.type)) return setError("Choose a PNG, JPEG or WebP image.");
		if (file.size > IMAGE_MAX_BYTES) return setError("The image is larger than 512 kB; choose a smaller one.");
		setError("");
		try {
			setImage({ preview: URL.createObjectURL(file), data: await readDataUrl(file) });
		} catch (err) {
			setError(errorText(err));
		}
	}

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		const body: Record<string, unknown> = {
			name: name.trim(),
			description,
			is_default: isDefault,
			lorebook_ids: books,
		};
		if (image === "remove") body.avatar = null;
		else if (image) body.avatar = image.data;
		try {
			const saved = await api<Persona>(persona ? `/personas/${encodeURIComponent(persona.id)}` : "/personas", {
				method: persona ? "PATCH" : "POST",
				body,
				fields: PERSONA_FIELDS,
			});
			toast(persona ? `Saved ${saved.name}` : `${saved.name} is ready to play`);
			onSaved(saved);
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title={persona ? `Edit ${persona.name}` : "New persona"} onClose={onClose} wide>
			<form class="form" onSubmit={submit}>
				<div class="form-identity">
					<ImagePicker
						name={name || "?"}
						label="Persona image"
						accept={IMAGE_TYPES}
						preview={image && image !== "remove" ? image.preview : undefined}
						avatar={{ persona: image === "remove" ? null : persona }}
						onChoose={(file) => void choose(file)}
						onRemove={image || persona?.has_avatar ? () => setImage("remove") : undefined}
					/>
					<div class="form-identity-fields">
						<label class="field">
							<span>Name</span>
							<input required maxLength={NAME_MAX} value={name} onInput={(e) => setName(e.currentTarget.value)} />
						</label>
						<label class="field">
							<span>Description</span>
							<textarea
								rows={4}
								maxLength={DESCRIPTION_MAX}
								value={description}
								placeholder="Who you are in the story: the character is told this about {{user}}"
								onInput={(e) => setDescription(e.currentTarget.value)}
							/>
						</label>
					</div>
				</div>
				<Switch
					label="Default — new chats start as this persona"
					checked={isDefault}
					// The default stays one until another is made the default.
					disabled={persona?.is_default}
					onChange={(e) => setIsDefault(e.currentTarget.checked)}
				/>
				<LorebookPicker selected={books} onChange={setBooks} legend="Lorebooks this persona brings" />
				<FormFooter
					error={error}
					submit={persona ? "Save changes" : "Create persona"}
					disabled={busy}
					onCancel={onClose}
				/>
			</form>
		</Modal>
	);
}
