/**
 * The display-name and password inputs that signing up and the account page share, so that their markup is one, and
 * the server's limits on them (auth.register's, which PATCH /me keeps).
 */
import type { InputHTMLAttributes } from "preact";

export const NAME_MAX = 100;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** Every attribute but the type (required, limits, autocomplete, name…) is the caller's; `onValue` gets what is typed. */
type CredentialProps = Omit<InputHTMLAttributes<HTMLInputElement>, "type" | "value" | "onInput"> & {
	/** Shown above the input: "Display name" or "Password" unless said. */
	label?: string;
	value: string;
	onValue: (value: string) => void;
};

export function NameField(props: CredentialProps) {
	return <Field {...props} label={props.label ?? "Display name"} />;
}

export function PasswordField(props: CredentialProps) {
	return <Field {...props} label={props.label ?? "Password"} type="password" />;
}

/** Any other one-line input with its label (a URL, a model name). */
export function TextField(props: CredentialProps & { label: string; type?: "url" }) {
	return <Field {...props} />;
}

function Field({ label, value, onValue, ...input }: CredentialProps & { type?: "password" | "url" }) {
	return (
		<label class="field">
			<span>{label}</span>
			<input {...input} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
		</label>
	);
}
