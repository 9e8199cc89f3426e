/** The end of a form in a dialog: why the server refused it (if it did), then Cancel and the form's own button. */
export function FormFooter({
	error,
	submit,
	disabled,
	onCancel,
}: {
	error: string;
	/** The submit button's label: "Create persona". */
	submit: string;
	disabled: boolean;
	onCancel: () => void;
}) {
	return (
		<>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			<div class="form-actions">
				<button type="button" class="button ghost" onClick={onCancel}>
					Cancel
				</button>
				<button type="submit" class="button primary" disabled={disabled}>
					{submit}
				</button>
			</div>
		</>
	);
}
