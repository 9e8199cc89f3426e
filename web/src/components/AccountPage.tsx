/**
 * Your account (issue 16): the display name, a new password (which logs out every other device, this one stays),
 * whether to see characters marked NSFW (issue 17), your own AI provider (issue 17), personal API keys (issue 18),
 * logging out, everything of yours as one zip, and deleting the account with all of it (after the password).
 */
import { useState } from "preact/hooks";
import { api, errorText, expireSession, fetchBlob, saveBlob, setToken, type FieldSentences, type User } from "../api";
import { toast } from "../toast";
import { ApiKeys } from "./ApiKeys";
import { OwnProvider } from "./OwnProvider";
import { NAME_MAX, NameField, PASSWORD_MAX, PASSWORD_MIN, PasswordField } from "./credentials";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";

const ACCOUNT_FIELDS: FieldSentences = {
	name: `A display name is 1–${NAME_MAX} characters.`,
	new_password: `A password is at least ${PASSWORD_MIN} characters.`,
	current_password: "Type your current password too.",
};

export const DELETED_NOTICE = "Your account and everything in it were deleted.";

export function AccountPage({
	user,
	onChanged,
	onLogOut,
}: {
	user: User | null;
	onChanged: (user: User) => void;
	onLogOut: () => void;
}) {
	const [deleting, setDeleting] = useState(false);
	const [exporting, setExporting] = useState(false);

	async function download() {
		setExporting(true);
		try {
			const blob = await fetchBlob("/me/export");
			saveBlob(blob, `cameo-${user?.username ?? "account"}-${new Date().toISOString().slice(0, 10)}.zip`);
		} catch (err) {
			toast(errorText(err), "error");
		} finally {
			setExporting(false);
		}
	}

	return (
		<main class="page account-page">
			<section class="gallery-intro">
				<div>
					<h1>Account</h1>
					<p class="muted">{user ? `Logged in as ${user.username}.` : "\u00a0"}</p>
				</div>
				<div class="actions">
					<button type="button" class="button ghost" onClick={onLogOut}>
						Log out
					</button>
				</div>
			</section>
			{user && <NameForm key={user.name} user={user} onChanged={onChanged} />}
			<PasswordForm />
			{user && <ContentChoice user={user} onChanged={onChanged} />}
			<OwnProvider />
			<ApiKeys />
			<section class="account-section" aria-labelledby="account-data">
				<h2 id="account-data">Your data</h2>
				<p class="muted">
					One zip with your profile, personas, lorebooks, the characters you made (as character cards) and every chat
					(as SillyTavern and cameo files).
				</p>
				<button type="button" class="button" disabled={exporting} onClick={() => void download()}>
					{exporting ? "Preparing…" : "Download everything"}
				</button>
			</section>
			<section class="account-section danger-zone" aria-labelledby="account-delete">
				<h2 id="account-delete">Delete account</h2>
				<p class="muted">
					Deletes your chats, rooms, personas, lorebooks and private characters for good. Your public characters stay
					for the people who talk to them, without your name.
				</p>
				<button type="button" class="button danger" onClick={() => setDeleting(true)}>
					Delete account…
				</button>
			</section>
			{deleting && <DeleteAccount onClose={() => setDeleting(false)} />}
		</main>
	);
}

function NameForm({ user, onChanged }: { user: User; onChanged: (user: User) => void }) {
	const [name, setName] = useState(user.name);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			const saved = await api<User>("/me", { method: "PATCH", body: { name: name.trim() }, fields: ACCOUNT_FIELDS });
			onChanged(saved);
			toast("Display name saved");
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section class="account-section" aria-labelledby="account-profile">
			<h2 id="account-profile">Profile</h2>
			<form class="form" onSubmit={submit}>
				<NameField required maxLength={NAME_MAX} value={name} onValue={setName} />
				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}
				<div class="form-actions">
					<button type="submit" class="button primary" disabled={busy || name.trim() === user.name}>
						Save name
					</button>
				</div>
			</form>
		</section>
	);
}

/** The NSFW opt-in, saved as soon as it is ticked or unticked (and unticked again if that fails). */
function ContentChoice({ user, onChanged }: { user: User; onChanged: (user: User) => void }) {
	const [shown, setShown] = useState(user.show_nsfw === true);
	const [busy, setBusy] = useState(false);

	async function choose(show: boolean) {
		setShown(show);
		setBusy(true);
		try {
			onChanged(await api<User>("/me", { method: "PATCH", body: { show_nsfw: show } }));
			toast(show ? "Characters marked NSFW are shown" : "Characters marked NSFW are hidden");
		} catch (err) {
			setShown(!show);
			toast(errorText(err), "error");
		} finally {
			setBusy(false);
		}
	}

	return (
		<section class="account-section" aria-labelledby="account-content">
			<h2 id="account-content">Content</h2>
			<p class="muted">
				Characters an admin marked as adult content stay out of the gallery unless you choose to see them.
			</p>
			<label class="check">
				<input
					type="checkbox"
					checked={shown}
					disabled={busy}
					onChange={(e) => void choose((e.currentTarget as HTMLInputElement).checked)}
				/>
				Show characters marked NSFW
			</label>
		</section>
	);
}

function PasswordForm() {
	const [current, setCurrent] = useState("");
	const [next, setNext] = useState("");
	const [again, setAgain] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		if (next !== again) return setError("The new passwords don't match.");
		setBusy(true);
		setError("");
		try {
			const answer = await api<{ access_token: string }>("/me", {
				method: "PATCH",
				body: { current_password: current, new_password: next },
				fields: ACCOUNT_FIELDS,
			});
			// Every other login ended with the change; this tab goes on with the fresh token.
			setToken(answer.access_token);
			setCurrent("");
			setNext("");
			setAgain("");
			toast("Password changed. Your other devices are logged out.");
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	const field = (label: string, value: string, set: (v: string) => void, autoComplete: string) => (
		<PasswordField
			label={label}
			required
			minLength={label === "Current password" ? 1 : PASSWORD_MIN}
			maxLength={PASSWORD_MAX}
			autoComplete={autoComplete}
			value={value}
			onValue={set}
		/>
	);

	return (
		<section class="account-section" aria-labelledby="account-password">
			<h2 id="account-password">Password</h2>
			<form class="form" onSubmit={submit}>
				{field("Current password", current, setCurrent, "current-password")}
				{field("New password", next, setNext, "new-password")}
				{field("New password again", again, setAgain, "new-password")}
				{error && (
					<p class="form-error" role="alert">
						{error}
					</p>
				)}
				<div class="form-actions">
					<button type="submit" class="button primary" disabled={busy}>
						Change password
					</button>
				</div>
			</form>
		</section>
	);
}

function DeleteAccount({ onClose }: { onClose: () => void }) {
	const [password, setPassword] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			await api("/me", { method: "DELETE", body: { password } });
			expireSession(DELETED_NOTICE);
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title="Delete your account?" onClose={onClose}>
			<form class="form" onSubmit={submit}>
				<p>This cannot be undone. Type your password to delete your account and everything in it.</p>
				<PasswordField required autoComplete="current-password" value={password} onValue={setPassword} />
				<FormFooter error={error} submit="Delete my account" disabled={busy || !password} onCancel={onClose} />
			</form>
		</Modal>
	);
}
