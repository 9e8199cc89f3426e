/** A character's or persona's picture in its form, with ways to choose a new one (a file) or remove it. */
import { useRef } from "preact/hooks";
import { Avatar, type AvatarSource } from "./Avatar";
import { UploadIcon } from "./icons";

export function ImagePicker({
	name,
	label,
	accept,
	preview,
	avatar,
	onChoose,
	onRemove,
}: {
	name: string;
	/** The file input's name for screen readers: "Character image". */
	label: string;
	/** The image types the server takes. */
	accept: string[];
	/** The chosen file's blob: URL, until saved. */
	preview?: string;
	/** The stored picture, if any: a character's or a persona's. */
	avatar: { character?: AvatarSource | null; persona?: AvatarSource | null };
	onChoose: (file: File | undefined) => void;
	onRemove?: () => void;
}) {
	const input = useRef<HTMLInputElement>(null);
	const stored = avatar.character ?? avatar.persona;
	return (
		<div class="image-picker">
			{preview ? (
				<img class="avatar avatar-xl avatar-image" src={preview} alt="" />
			) : (
				<Avatar name={name} size="xl" {...avatar} />
			)}
			<div class="image-picker-actions">
				<button type="button" class="button small" onClick={() => input.current?.click()}>
					<UploadIcon /> {preview || stored?.has_avatar ? "Change image" : "Add image"}
				</button>
				{onRemove && (preview || stored?.has_avatar) && (
					<button type="button" class="button ghost small" onClick={onRemove}>
						Remove
					</button>
				)}
			</div>
			<input
				ref={input}
				type="file"
				class="visually-hidden"
				aria-label={label}
				accept={accept.join(",")}
				onChange={(e) => {
					const el = e.currentTarget;
					const file = el.files?.[0];
					// Cleared so that choosing the same file again fires another change.
					el.value = "";
					onChoose(file);
				}}
			/>
		</div>
	);
}
