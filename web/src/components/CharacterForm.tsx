/**
 * Create or edit a character: every field its card has (what the characters API accepts), its image, and whether
 * others may talk to it. The server checks everything again; its refusals read as the sentences below.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type CharacterDetails, type FieldSentences } from "../api";
import { toast } from "../toast";
import { ImagePicker } from "./ImagePicker";
import { FormFooter } from "./FormFooter";
import { NumberField, Switch } from "./fields";
import { LorebookPicker } from "./LorebookPicker";
import { Modal } from "./Modal";
import { CloseIcon, PlusIcon, TrashIcon } from "./icons";

/** The server's limits (TEXT_LIMITS, LIST_LIMITS in the card domain; that module needs Node, so it is not imported). */
const NAME_MAX = 80;
const LONG_MAX = 20_000;
const HALF_MAX = 10_000;
const SHORT_MAX = 200;
const LIST_MAX = 100;
const TAG_MAX = 100;
/** What PUT /characters/id/{id}/avatar takes (MAX_AVATAR_UPLOAD_BYTES, AVATAR_UPLOAD_TYPES). */
const IMAGE_MAX_BYTES = 8 * 1024 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];

/** The server's rules for each field (characters.create/update), said the way a person would. */
const CHARACTER_FIELDS: FieldSentences = {
	name: `A name is 1–${NAME_MAX} characters.`,
	description: "The description is at most 20,000 characters.",
	system_prompt: "The system prompt is needed, and at most 20,000 characters.",
	greeting: "The first message is at most 20,000 characters.",
	alternate_greetings: `Up to ${LIST_MAX} alternate greetings, each at most 20,000 characters.`,
	personality: "The personality is at most 10,000 characters.",
	scenario: "The scenario is at most 10,000 characters.",
	mes_example: "The example dialogue is at most 20,000 characters.",
	post_history_instructions: "The post-history instructions are at most 20,000 characters.",
	creator_notes: "The creator's notes are at most 20,000 characters.",
	creator: "The creator's name is at most 200 characters.",
	character_version: "The version is at most 200 characters.",
	tags: `Up to ${LIST_MAX} tags, each at most ${TAG_MAX} characters.`,
	llm_model: "A model name is up to 100 letters, digits, dots, colons, slashes, dashes or underscores.",
	temperature: "The temperature is a number from 0 to 2.",
	max_output_tokens: "The reply length is a whole number of tokens from 1 to 65,536.",
};

/** The card's text fields as the form edits them. */
const TEXT_FIELDS = [
	"name",
	"description",
	"system_prompt",
	"greeting",
	"personality",
	"scenario",
	"mes_example",
	"post_history_instructions",
	"creator_notes",
	"creator",
	"character_version",
] as const;
type TextField = (typeof TEXT_FIELDS)[number];

interface TextAreaSpec {
	label: string;
	rows: number;
	max: number;
	placeholder: string;
	required?: boolean;
}

/** The form's longer texts: label, size, the server's limit and a hint of what goes there. */
const TEXT_AREAS = {
	description: {
		label: "Description",
		rows: 2,
		max: LONG_MAX,
		placeholder: "Who they are, in a line or two: it appears on their card",
	},
	system_prompt: {
		label: "System prompt",
		rows: 4,
		max: LONG_MAX,
		placeholder: "How {{char}} speaks and behaves; {{char}} and {{user}} are filled in",
		required: true,
	},
	personality: {
		label: "Personality",
		rows: 2,
		max: HALF_MAX,
		placeholder: "A few traits: curious, dry humour, fiercely loyal",
	},
	scenario: { label: "Scenario", rows: 2, max: HALF_MAX, placeholder: "Where and when the story starts" },
	greeting: { label: "Greeting", rows: 3, max: LONG_MAX, placeholder: "Their first message in a new chat" },
	mes_example: {
		label: "Example dialogue",
		rows: 4,
		max: LONG_MAX,
		placeholder: "<START>\n{{user}}: Hello?\n{{char}}: *looks up* Oh — you're early.",
	},
	post_history_instructions: {
		label: "Post-history instructions",
		rows: 2,
		max: LONG_MAX,
		placeholder: "Reminders placed after the chat history, e.g. keep replies short",
	},
	creator_notes: {
		label: "Creator's notes",
		rows: 2,
		max: LONG_MAX,
		placeholder: "For people, not the model: how to use this character",
	},
} satisfies Partial<Record<TextField, TextAreaSpec>>;

type Draft = Record<TextField, string> & {
	alternate_greetings: string[];
	tags: string[];
	is_public: boolean;
	// As typed: empty means the configured default (null).
	llm_model: string;
	temperature: string;
	max_output_tokens: string;
};

/** A new image to upload, or the current one to remove. */
type ImageChange = { file: File; url: string } | "remove" | null;

function draftOf(c: CharacterDetails | undefined): Draft {
	const text = Object.fromEntries(TEXT_FIELDS.map((f) => [f, c?.[f] ?? ""])) as Record<TextField, string>;
	return {
		...text,
		alternate_greetings: c?.alternate_greetings ?? [],
		tags: c?.tags ?? [],
		is_public: c?.is_public ?? true,
		llm_model: c?.llm_model ?? "",
		temperature: c?.temperature == null ? "" : String(c.temperature),
		max_output_tokens: c?.max_output_tokens == null ? "" : String(c.max_output_tokens),
	};
}

/** The draft as the API takes it; blank alternate greetings are dropped, blank model settings are the defaults. */
function bodyOf(d: Draft): Record<string, unknown> {
	const optionalNumber = (text: string) => (text.trim() === "" ? null : Number(text));
	return {
		...Object.fromEntries(TEXT_FIELDS.map((f) => [f, d[f]])),
		alternate_greetings: d.alternate_greetings.filter((g) => g.trim() !== ""),
		tags: d.tags,
		is_public: d.is_public,
		llm_model: d.llm_model.trim() || null,
		temperature: optionalNumber(d.temperature),
		max_output_tokens: optionalNumber(d.max_output_tokens),
	};
}

/** Only what changed, so an edit never rewrites what it did not touch. */
function changesOf(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(
		Object.entries(after).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key])),
	);
}

/** Why a chosen file cannot be an avatar, in a sentence; undefined when it can. */
function imageProblem(file: File): string | undefined {
	if (!IMAGE_TYPES.includes(file.type)) return "Choose a PNG, JPEG or WebP image.";
	if (file.size > IMAGE_MAX_BYTES) return "The image is larger than 8 MB; choose a smaller one.";
	return undefined;
}

export function CharacterForm({
	character,
	onClose,
	onSaved,
}: {
	/** The character to edit (GET /characters/id/{id}); none for a new one. */
	character?: CharacterDetails;
	onClose: () => void;
	onSaved: (c: CharacterDetails) => void;
}) {
	const [draft, setDraft] = useState(() => draftOf(character));
	// The character as saved so far: once created, a retry (say, after an image was refused) edits it.
	const [current, setCurrent] = useState(character);
	const [image, setImage] = useState<ImageChange>(null);
	const [books, setBooks] = useState(character?.lorebook_ids ?? []);
	const [tagText, setTagText] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	// The preview's blob: URL lives as long as the choice.
	useEffect(() => {
		const url = image && image !== "remove" ? image.url : undefined;
		return () => {
			if (url) URL.revokeObjectURL(url);
		};
	}, [image]);

	const set = (key: keyof Draft) => (e: Event) => {
		const input = e.currentTarget as HTMLInputElement;
		setDraft((d) => ({ ...d, [key]: input.type === "checkbox" ? input.checked : input.value }));
	};

	function addTags(text: string) {
		const added = text
			.split(",")
			.map((t) => t.trim())
			.filter(Boolean);
		if (added.length === 0) return draft.tags;
		const tags = [...new Set([...draft.tags, ...added])];
		setDraft((d) => ({ ...d, tags }));
		setTagText("");
		return tags;
	}

	function chooseImage(file: File | undefined) {
		if (!file) return;
		const problem = imageProblem(file);
		setError(problem ?? "");
		if (!problem) setImage({ file, url: URL.createObjectURL(file) });
	}

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		// A tag still being typed counts.
		const body = { ...bodyOf(draft), tags: tagText.trim() ? addTags(tagText) : draft.tags };
		try {
			let saved: CharacterDetails;
			if (!current) {
				saved = await api<CharacterDetails>("/characters", { method: "POST", body, fields: CHARACTER_FIELDS });
			} else {
				const changes = changesOf(bodyOf(draftOf(current)), body);
				saved =
					Object.keys(changes).length === 0
						? current
						: await api<CharacterDetails>(`/characters/id/${encodeURIComponent(current.id)}`, {
								method: "PATCH",
								body: changes,
								fields: CHARACTER_FIELDS,
							});
			}
			setCurrent(saved);
			saved = await saveImage(saved);
			saved = await saveLorebooks(saved);
			toast(character ? `Saved ${saved.name}` : `${saved.name} is ready to chat`);
			onSaved(saved);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	/** Uploads or removes the image once the character exists; a refusal leaves the form open to try another. */
	async function saveImage(saved: CharacterDetails): Promise<CharacterDetails> {
		const path = `/characters/id/${encodeURIComponent(saved.id)}/avatar`;
		if (image === "remove") {
			await api(path, { method: "DELETE" });
			return { ...saved, has_avatar: false };
		}
		if (!image) return saved;
		try {
			return await api<CharacterDetails>(path, { method: "PUT", body: image.file });
		} catch (err) {
			throw new Error(`${saved.name} is saved, but the image was refused: ${errorText(err)}`);
		}
	}

	/** Attaches the chosen lorebooks once the character exists (PATCH, as creating takes none). */
	async function saveLorebooks(saved: CharacterDetails): Promise<CharacterDetails> {
		if (JSON.stringify(books) === JSON.stringify(saved.lorebook_ids ?? [])) return saved;
		const attached = await api<CharacterDetails>(`/characters/id/${encodeURIComponent(saved.id)}`, {
			method: "PATCH",
			body: { lorebook_ids: books },
			fields: { lorebook_ids: "Up to 20 lorebooks, each yours or public." },
		});
		const withBooks = { ...attached, lorebook_ids: attached.lorebook_ids ?? books };
		setCurrent(withBooks);
		return withBooks;
	}

	const area = (field: keyof typeof TEXT_AREAS) => {
		const spec: TextAreaSpec = TEXT_AREAS[field];
		return (
			<label class="field">
				<span>{spec.label}</span>
				<textarea
					name={field}
					required={spec.required}
					rows={spec.rows}
					maxLength={spec.max}
					placeholder={spec.placeholder}
					value={draft[field]}
					onInput={set(field)}
				/>
			</label>
		);
	};

	const shown = image === "remove" ? null : current;
	return (
		<Modal title={character ? `Edit ${character.name}` : "New character"} onClose={onClose} wide>
			<form class="form character-form" onSubmit={submit}>
				<div class="form-identity">
					<ImagePicker
						name={draft.name || "?"}
						label="Character image"
						accept={IMAGE_TYPES}
						preview={image && image !== "remove" ? image.url : undefined}
						avatar={{ character: shown }}
						onChoose={chooseImage}
						onRemove={image || character?.has_avatar ? () => setImage("remove") : undefined}
					/>
					<div class="form-identity-fields">
						<label class="field">
							<span>Name</span>
							<input name="name" required maxLength={NAME_MAX} value={draft.name} onInput={set("name")} />
						</label>
						{area("description")}
					</div>
				</div>

				<TagsField
					tags={draft.tags}
					text={tagText}
					onText={setTagText}
					onAdd={addTags}
					onRemove={(tag) => setDraft((d) => ({ ...d, tags: d.tags.filter((t) => t !== tag) }))}
				/>

				{area("system_prompt")}
				{area("personality")}
				{area("scenario")}

				<fieldset class="form-group">
					<legend>Greetings</legend>
					{area("greeting")}
					<GreetingsField
						greetings={draft.alternate_greetings}
						onChange={(alternate_greetings) => setDraft((d) => ({ ...d, alternate_greetings }))}
					/>
				</fieldset>

				{area("mes_example")}

				<details class="form-more">
					<summary>More card fields and model settings</summary>
					<div class="form">
						{area("post_history_instructions")}
						{area("creator_notes")}
						<div class="form-row">
							<label class="field">
								<span>Creator</span>
								<input name="creator" maxLength={SHORT_MAX} value={draft.creator} onInput={set("creator")} />
							</label>
							<label class="field">
								<span>Version</span>
								<input
									name="character_version"
									maxLength={SHORT_MAX}
									value={draft.character_version}
									onInput={set("character_version")}
								/>
							</label>
						</div>
						<div class="form-row">
							<label class="field">
								<span>Model</span>
								<input
									name="llm_model"
									placeholder="Default"
									maxLength={100}
									value={draft.llm_model}
									onInput={set("llm_model")}
								/>
							</label>
							<NumberField
								label="Temperature"
								name="temperature"
								inputMode="decimal"
								min={0}
								max={2}
								step={0.05}
								placeholder="Default"
								value={draft.temperature}
								onInput={set("temperature")}
							/>
							<NumberField
								label="Reply length (tokens)"
								name="max_output_tokens"
								inputMode="numeric"
								min={1}
								max={65536}
								step={1}
								placeholder="Default"
								value={draft.max_output_tokens}
								onInput={set("max_output_tokens")}
							/>
						</div>
					</div>
				</details>

				<LorebookPicker selected={books} onChange={setBooks} legend="Lorebooks (besides the card's own)" />

				<Switch
					label="Public — anyone can chat with this character"
					name="is_public"
					checked={draft.is_public}
					onChange={set("is_public")}
				/>
				<FormFooter
					error={error}
					submit={character ? "Save changes" : "Create character"}
					disabled={busy}
					onCancel={onClose}
				/>
			</form>
		</Modal>
	);
}

function TagsField({
	tags,
	text,
	onText,
	onAdd,
	onRemove,
}: {
	tags: string[];
	text: string;
	onText: (text: string) => void;
	onAdd: (text: string) => void;
	onRemove: (tag: string) => void;
}) {
	return (
		<div class="field">
			<span id="tags-label">Tags</span>
			<div class="tags-input">
				{tags.map((tag) => (
					<span class="tag" key={tag}>
						{tag}
						<button type="button" aria-label={`Remove tag ${tag}`} onClick={() => onRemove(tag)}>
							<CloseIcon />
						</button>
					</span>
				))}
				<input
					aria-labelledby="tags-label"
					placeholder={tags.length ? "Add a tag" : "fantasy, mystery, slow burn…"}
					maxLength={TAG_MAX}
					value={text}
					onInput={(e) => {
						const value = e.currentTarget.value;
						if (value.includes(",")) onAdd(value);
						else onText(value);
					}}
					onKeyDown={(e) => {
						if (e.key === "Enter") {
							e.preventDefault();
							onAdd(text);
						} else if (e.key === "Backspace" && text === "" && tags.length > 0) {
							onRemove(tags[tags.length - 1]);
						}
					}}
					onBlur={() => onAdd(text)}
				/>
			</div>
		</div>
	);
}

/** The alternate greetings: each one a textarea that can be removed, and a button to add another. */
function GreetingsField({ greetings, onChange }: { greetings: string[]; onChange: (greetings: string[]) => void }) {
	const replace = (i: number, value: string) => onChange(greetings.map((g, j) => (j === i ? value : g)));
	return (
		<div class="greetings-field">
			{greetings.map((greeting, i) => (
				<div class="alternate-greeting" key={i}>
					<label class="field">
						<span>Alternate greeting {i + 1}</span>
						<textarea
							name={`alternate_greetings.${i}`}
							rows={2}
							maxLength={LONG_MAX}
							value={greeting}
							onInput={(e) => replace(i, e.currentTarget.value)}
						/>
					</label>
					<button
						type="button"
						class="icon-button"
						aria-label={`Remove alternate greeting ${i + 1}`}
						onClick={() => onChange(greetings.filter((_, j) => j !== i))}
					>
						<TrashIcon />
					</button>
				</div>
			))}
			{greetings.length < LIST_MAX && (
				<button type="button" class="button ghost small add-greeting" onClick={() => onChange([...greetings, ""])}>
					<PlusIcon /> Add alternate greeting
				</button>
			)}
		</div>
	);
}
