/**
 * The end of a form: why the server refused it (if it did), then Cancel (in a dialog, which has somewhere to go back
 * to) and the form's own button.
 */
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
	onCancel?: () => void;
}) {
	return (
		<>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			<div class="form-actions">
				{onCancel && (
					<button type="button" class="button ghost" onClick={onCancel}>
						Cancel
					</button>
				)}
				<button type="submit" class="button primary" disabled={disabled}>
					{submit}
				</button>
			</div>
		</>
	);
}
