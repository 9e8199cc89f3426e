/**
 * Log in or sign up. Signing up logs straight in, so a new user lands in the gallery. Who may sign up is the server's
 * (GET /config): with REGISTRATION=invite the form asks for an admin's invite code, and when it is closed it says so.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, setToken, type FieldSentences } from "../api";
import { registrationMode, type Registration } from "../admin-api";
import { NAME_MAX, NameField, PASSWORD_MAX, PASSWORD_MIN, PasswordField } from "./credentials";

type Mode = "login" | "signup";

/** The server's rules for a new account (auth.register), said the way a person would. */
const SIGNUP_FIELDS: FieldSentences = {
	username: "Usernames are 3–32 letters, digits, dots, dashes or underscores.",
	name: `Display names are 1–${NAME_MAX} characters.`,
	password: `Passwords are ${PASSWORD_MIN}–${PASSWORD_MAX} characters.`,
	invite: "Type the invite code an admin gave you.",
};

/** The longest invite code the server takes (auth.register's `invite`). */
const INVITE_MAX = 64;

export function AuthPage({ notice, onLoggedIn }: { notice?: string; onLoggedIn: () => void }) {
	const [mode, setMode] = useState<Mode>("login");
	const [username, setUsername] = useState("");
	const [name, setName] = useState("");
	const [password, setPassword] = useState("");
	const [invite, setInvite] = useState("");
	const [registration, setRegistration] = useState<Registration>("open");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		// An older server, or one out of reach, is taken as open: POST /register says otherwise if it must.
		registrationMode().then(setRegistration, () => undefined);
	}, []);

	const closed = mode === "signup" && registration === "closed";

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			if (mode === "signup") {
				await api("/register", {
					method: "POST",
					body: {
						username,
						name: name || username,
						password,
						...(registration === "invite" ? { invite: invite.trim() } : {}),
					},
					anonymous: true,
					fields: SIGNUP_FIELDS,
				});
			}
			const { access_token } = await api<{ access_token: string }>("/login", {
				method: "POST",
				body: { username, password },
				anonymous: true,
			});
			setToken(access_token);
			onLoggedIn();
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	function switchTo(next: Mode) {
		setMode(next);
		setError("");
	}

	return (
		<main class="auth">
			<div class="auth-brand">
				<span class="logo" aria-hidden="true" />
				<h1>cameo</h1>
				<p>Talk with characters that stay in character.</p>
			</div>
			<form class="card auth-card" onSubmit={submit} aria-label={mode === "login" ? "Log in" : "Sign up"}>
				<div class="tabs" role="tablist">
					<button
						type="button"
						role="tab"
						aria-selected={mode === "login"}
						class={mode === "login" ? "tab active" : "tab"}
						onClick={() => switchTo("login")}
					>
						Log in
					</button>
					<button
						type="button"
						role="tab"
						aria-selected={mode === "signup"}
						class={mode === "signup" ? "tab active" : "tab"}
						onClick={() => switchTo("signup")}
					>
						Sign up
					</button>
				</div>
				{notice && <p class="notice">{notice}</p>}
				{closed && (
					<p class="notice" role="status">
						Registration is closed on this site: new accounts cannot be made. Ask its operator if you should have one.
					</p>
				)}
				{!closed && (
					<>
						<label class="field">
							<span>Username</span>
							<input
								name="username"
								autocomplete="username"
								required
								minLength={3}
								maxLength={32}
								value={username}
								onInput={(e) => setUsername(e.currentTarget.value)}
							/>
						</label>
						{mode === "signup" && (
							<NameField
								name="name"
								autocomplete="name"
								placeholder="How characters address you"
								value={name}
								onValue={setName}
							/>
						)}
						<PasswordField
							name="password"
							autocomplete={mode === "login" ? "current-password" : "new-password"}
							required
							minLength={mode === "signup" ? PASSWORD_MIN : undefined}
							value={password}
							onValue={setPassword}
						/>
						{mode === "signup" && registration === "invite" && (
							<label class="field">
								<span>Invite code</span>
								<input
									name="invite"
									autocomplete="off"
									required
									maxLength={INVITE_MAX}
									value={invite}
									onInput={(e) => setInvite(e.currentTarget.value)}
								/>
							</label>
						)}
						{error && (
							<p class="form-error" role="alert">
								{error}
							</p>
						)}
						<button type="submit" class="button primary wide" disabled={busy}>
							{mode === "login" ? "Log in" : "Create account"}
						</button>
					</>
				)}
			</form>
		</main>
	);
}
