/**
 * A place to drop a file or click to choose one (an import): the file goes to `onFile` as soon as it is given, and why
 * the last one was refused (`error`) is said under it.
 */
import { useState } from "preact/hooks";
import { UploadIcon } from "./icons";

export function FileDrop({
	label,
	title,
	hint,
	accept,
	busy,
	busyTitle,
	onFile,
	error,
}: {
	/** The file input's name for screen readers. */
	label: string;
	title: string;
	hint: string;
	accept: string;
	busy: boolean;
	busyTitle: string;
	onFile: (file: File | undefined) => void;
	error: string;
}) {
	const [over, setOver] = useState(false);
	return (
		<>
			<label
				class={over ? "dropzone over" : "dropzone"}
				onDragOver={(e) => {
					e.preventDefault();
					setOver(true);
				}}
				onDragLeave={() => setOver(false)}
				onDrop={(e) => {
					e.preventDefault();
					setOver(false);
					onFile(e.dataTransfer?.files[0]);
				}}
			>
				<UploadIcon />
				<strong>{busy ? busyTitle : title}</strong>
				<span class="muted small">{hint}</span>
				<input
					type="file"
					class="visually-hidden"
					aria-label={label}
					accept={accept}
					disabled={busy}
					onChange={(e) => {
						const input = e.currentTarget;
						const file = input.files?.[0];
						// Cleared so that choosing the same file again (after fixing it) fires another change.
						input.value = "";
						onFile(file);
					}}
				/>
			</label>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
		</>
	);
}
