/**
 * The admin console's sign-up invites (POST/GET/DELETE /admin/invites), under who may sign up now (GET /config): make
 * one for a number of accounts and a time, see how much of each is used, revoke one.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { registrationMode, type Registration, type SignupInvite } from "../admin-api";
import { timeAgo } from "../format";
import { toast } from "../toast";
import { NumberField } from "./fields";
import { OneTimeCode } from "./OneTimeCode";

const MODES: Record<Registration, string> = {
	open: "Open: anyone may sign up. Invites are only needed with REGISTRATION=invite.",
	invite: "Invite only: new accounts need one of these codes.",
	closed: "Closed: nobody may sign up, with or without an invite.",
};

/** How long a new invite works, in seconds (none: until revoked). */
const EXPIRIES = [
	{ label: "Never", seconds: 0 },
	{ label: "1 hour", seconds: 3600 },
	{ label: "1 day", seconds: 24 * 3600 },
	{ label: "1 week", seconds: 7 * 24 * 3600 },
	{ label: "30 days", seconds: 30 * 24 * 3600 },
];

export function AdminInvites() {
	const [mode, setMode] = useState<Registration>();
	const [invites, setInvites] = useState<SignupInvite[] | null>(null);
	const [uses, setUses] = useState("1");
	const [expiry, setExpiry] = useState(0);
	const [created, setCreated] = useState<string>();
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		registrationMode().then(setMode, () => undefined);
		api<SignupInvite[]>("/admin/invites").then(setInvites, (err) => setError(errorText(err)));
	}, []);

	async function create(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		try {
			const body = { uses: Number(uses), ...(expiry > 0 ? { expires_in: expiry } : {}) };
			const invite = await api<SignupInvite>("/admin/invites", { method: "POST", body });
			setInvites((shown) => [invite, ...(shown ?? [])]);
			setCreated(invite.code);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	async function revoke(code: string) {
		try {
			await api(`/admin/invites/${encodeURIComponent(code)}`, { method: "DELETE" });
			setInvites((shown) => shown?.filter((i) => i.code !== code) ?? null);
			if (created === code) setCreated(undefined);
			toast("Invite revoked");
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<>
			<p class="notice admin-mode">{mode ? MODES[mode] : "\u00a0"}</p>
			<form class="admin-invite-form" onSubmit={create} aria-label="New invite">
				<NumberField
					label="Accounts it makes"
					min={1}
					max={10_000}
					step={1}
					required
					value={uses}
					onInput={(e) => setUses(e.currentTarget.value)}
				/>
				<label class="field">
					<span>Expires in</span>
					<select value={expiry} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
						{EXPIRIES.map(({ label, seconds }) => (
							<option key={seconds} value={seconds}>
								{label}
							</option>
						))}
					</select>
				</label>
				<button type="submit" class="button primary" disabled={busy}>
					Create invite
				</button>
			</form>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			{created && (
				<OneTimeCode
					label="New invite code"
					code={created}
					note="Give it to whoever should sign up: the sign-up form asks for it."
				/>
			)}
			{invites?.length === 0 && <p class="muted">No invites yet.</p>}
			{invites && invites.length > 0 && (
				<div class="admin-table-wrap">
					<table class="admin-table" aria-label="Invites">
						<thead>
							<tr>
								<th scope="col">Code</th>
								<th scope="col">Used</th>
								<th scope="col">Expires</th>
								<th scope="col">Made by</th>
								<th scope="col">Made</th>
								<th scope="col">
									<span class="visually-hidden">Actions</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{invites.map((invite) => (
								<tr key={invite.code}>
									<th scope="row">
										<code>{invite.code}</code>
									</th>
									<td class="number">
										{invite.used} of {invite.uses}
									</td>
									<td>{invite.expires_at ? new Date(invite.expires_at).toLocaleString() : "never"}</td>
									<td>{invite.created_by ?? "—"}</td>
									<td>{timeAgo(invite.created_at)}</td>
									<td>
										<button
											type="button"
											class="button small danger"
											aria-label={`Revoke invite ${invite.code}`}
											onClick={() => void revoke(invite.code)}
										>
											Revoke
										</button>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
		</>
	);
}
