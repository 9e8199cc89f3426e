/**
 * Personal API keys (issue 18) on the account page: make one for a script or another chat tool (the key is shown only
 * once, to copy), see yours by name, hint and last use, and revoke one (it stops working at once, everywhere).
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { timeAgo } from "../format";
import { toast } from "../toast";
import { NameField } from "./credentials";
import { FormFooter } from "./FormFooter";
import { OneTimeCode } from "./OneTimeCode";
import { TrashIcon } from "./icons";

/** The server's caps (src/domain/api-keys.ts), for the form; the server says so too. */
const KEY_NAME_MAX = 100;
const MAX_KEYS = 20;

/** GET /me/api-keys: never the key itself. */
interface ApiKey {
	id: string;
	name: string;
	hint: string;
	created_at: string;
	last_used_at: string | null;
}

export function ApiKeys() {
	const [keys, setKeys] = useState<ApiKey[] | null>(null);
	const [name, setName] = useState("");
	const [fresh, setFresh] = useState<{ id: string; key: string } | null>(null);
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		api<ApiKey[]>("/me/api-keys").then(setKeys, (err) => setError(errorText(err)));
	}, []);

	async function create(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			const made = await api<ApiKey & { key: string }>("/me/api-keys", {
				method: "POST",
				body: { name: name.trim() },
				fields: { name: `A key's name is 1–${KEY_NAME_MAX} characters.` },
			});
			const { key, ...listed } = made;
			setKeys((list) => [{ ...listed, last_used_at: null }, ...(list ?? [])]);
			setFresh({ id: made.id, key });
			setName("");
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	async function revoke(key: ApiKey) {
		try {
			await api(`/me/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
			setKeys((list) => (list ?? []).filter((k) => k.id !== key.id));
			if (fresh?.id === key.id) setFresh(null);
			toast(`Key “${key.name}” revoked`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<section class="account-section" aria-labelledby="account-api-keys">
			<h2 id="account-api-keys">API keys</h2>
			<p class="muted">
				A key lets a script or another chat app use cameo as you, without your password: send it as{" "}
				<code>Authorization: Bearer</code>. It cannot make keys, change your password or delete your account. Up to{" "}
				{MAX_KEYS} keys.
			</p>
			<form class="form" onSubmit={create}>
				<NameField label="Key name" required maxLength={KEY_NAME_MAX} value={name} onValue={setName} />
				<FormFooter error={error} submit="Create key" disabled={busy || !name.trim()} />
			</form>
			{fresh && (
				<OneTimeCode
					label="Your new key"
					code={fresh.key}
					note="Copy it now: it is shown only this once. Anyone who has it can use your account until you revoke it."
				/>
			)}
			{keys && keys.length === 0 && <p class="muted small">You have no API keys.</p>}
			{keys && keys.length > 0 && (
				<ul class="invite-list api-key-list" aria-label="Your API keys">
					{keys.map((key) => (
						<li key={key.id} class="invite-item">
							<span class="person-text">
								<span>
									{key.name} <span class="invite-code">…{key.hint}</span>
								</span>
								<span class="muted small">
									made {timeAgo(key.created_at)} ·{" "}
									{key.last_used_at ? `last used ${timeAgo(key.last_used_at)}` : "never used"}
								</span>
							</span>
							<button
								type="button"
								class="icon-button tiny"
								aria-label={`Revoke key ${key.name}`}
								title="Revoke"
								onClick={() => void revoke(key)}
							>
								<TrashIcon />
							</button>
						</li>
					))}
				</ul>
			)}
		</section>
	);
}
