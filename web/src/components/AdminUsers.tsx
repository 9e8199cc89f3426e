/**
 * The admin console's users (GET /admin/users): searchable, a page at a time, with their usage and limits (their own
 * marked); per user, disable or enable, make admin or user, set or clear their limits, and make a password-reset code
 * (shown once). A refusal (409 LAST_ADMIN: the last admin who can act) is said above the table.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { updateUser, type AdminUser, type AdminUserChanges } from "../admin-api";
import { timeAgo } from "../format";
import { toast } from "../toast";
import { NumberField } from "./fields";
import { FormFooter } from "./FormFooter";
import { Modal } from "./Modal";
import { OneTimeCode } from "./OneTimeCode";

const PAGE_SIZE = 20;
/** The server's bounds (MAX_TOKENS_PER_DAY, MAX_MESSAGES_PER_MINUTE in src/adapters/quotas.ts). */
const MAX_TOKENS_PER_DAY = 1_000_000_000;
const MAX_MESSAGES_PER_MINUTE = 1_000_000;

const count = (n: number) => n.toLocaleString("en");

type Dialog = { kind: "limits"; user: AdminUser } | { kind: "reset"; username: string; code: string };

export function AdminUsers() {
	const [query, setQuery] = useState("");
	const [offset, setOffset] = useState(0);
	const [users, setUsers] = useState<AdminUser[] | null>(null);
	const [more, setMore] = useState(false);
	const [error, setError] = useState("");
	const [dialog, setDialog] = useState<Dialog | null>(null);

	useEffect(() => {
		let live = true;
		// Wait for a pause in typing; one more row than shown says whether there is a next page.
		const timer = window.setTimeout(
			() => {
				const params = new URLSearchParams({ limit: String(PAGE_SIZE + 1), offset: String(offset) });
				if (query.trim()) params.set("q", query.trim());
				api<AdminUser[]>(`/admin/users?${params}`).then(
					(list) => {
						if (!live) return;
						setUsers(list.slice(0, PAGE_SIZE));
						setMore(list.length > PAGE_SIZE);
					},
					(err) => live && setError(errorText(err)),
				);
			},
			query ? 200 : 0,
		);
		return () => {
			live = false;
			window.clearTimeout(timer);
		};
	}, [query, offset]);

	function replaced(user: AdminUser) {
		setUsers((shown) => shown?.map((u) => (u.username === user.username ? user : u)) ?? null);
	}

	async function change(user: AdminUser, changes: AdminUserChanges, done: string) {
		setError("");
		try {
			replaced(await updateUser(user.username, changes));
			toast(done);
		} catch (err) {
			setError(errorText(err));
			toast(errorText(err), "error");
		}
	}

	async function resetCode(username: string) {
		try {
			const reset = await api<{ code: string }>(`/admin/users/${encodeURIComponent(username)}/password-reset`, {
				method: "POST",
			});
			setDialog({ kind: "reset", username, code: reset.code });
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<>
			<div class="admin-toolbar">
				<input
					type="search"
					class="admin-search"
					aria-label="Search users"
					placeholder="Search by username or name"
					maxLength={100}
					value={query}
					onInput={(e) => {
						setQuery(e.currentTarget.value);
						setOffset(0);
					}}
				/>
			</div>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			{users === null && !error && <p class="muted">Loading…</p>}
			{users?.length === 0 && <p class="muted">No user matches.</p>}
			{users && users.length > 0 && (
				<div class="admin-table-wrap">
					<table class="admin-table" aria-label="Users">
						<thead>
							<tr>
								<th scope="col">User</th>
								<th scope="col">Role</th>
								<th scope="col">Tokens today / month</th>
								<th scope="col">Messages today</th>
								<th scope="col">Last seen</th>
								<th scope="col">Limits</th>
								<th scope="col">Actions</th>
							</tr>
						</thead>
						<tbody>
							{users.map((user) => (
								<tr key={user.username} class={user.disabled ? "disabled" : undefined}>
									<th scope="row">
										<span class="admin-user">
											<span class="admin-username">{user.username}</span>
											<span class="muted small">{user.name}</span>
										</span>
									</th>
									<td>
										<span class="badge">{user.role}</span>
										{user.disabled && <span class="badge badge-danger">disabled</span>}
									</td>
									<td class="number">
										{count(user.tokens_today)} / {count(user.tokens_month)}
									</td>
									<td class="number">{count(user.messages_today)}</td>
									<td>{user.last_seen ? timeAgo(user.last_seen) : "never"}</td>
									<td>
										<LimitsCell user={user} />
									</td>
									<td>
										<div class="admin-row-actions">
											<button
												type="button"
												class={user.disabled ? "button small" : "button small danger"}
												aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.username}`}
												onClick={() =>
													void change(
														user,
														{ disabled: !user.disabled },
														`${user.username} ${user.disabled ? "enabled" : "disabled"}`,
													)
												}
											>
												{user.disabled ? "Enable" : "Disable"}
											</button>
											<button
												type="button"
												class="button small"
												aria-label={`Make ${user.username} ${user.role === "admin" ? "a user" : "an admin"}`}
												onClick={() => {
													const role = user.role === "admin" ? "user" : "admin";
													void change(
														user,
														{ role },
														`${user.username} is now ${role === "admin" ? "an admin" : "a user"}`,
													);
												}}
											>
												{user.role === "admin" ? "Make user" : "Make admin"}
											</button>
											<button
												type="button"
												class="button small"
												aria-label={`Limits of ${user.username}`}
												onClick={() => setDialog({ kind: "limits", user })}
											>
												Limits…
											</button>
											<button
												type="button"
												class="button small"
												aria-label={`Password-reset code for ${user.username}`}
												onClick={() => void resetCode(user.username)}
											>
												Reset code
											</button>
										</div>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
			{(offset > 0 || more) && (
				<div class="admin-pager">
					<button
						type="button"
						class="button small ghost"
						disabled={offset === 0}
						onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
					>
						Previous
					</button>
					<span class="muted small">
						{offset + 1}–{offset + (users?.length ?? 0)}
					</span>
					<button
						type="button"
						class="button small ghost"
						disabled={!more}
						onClick={() => setOffset(offset + PAGE_SIZE)}
					>
						Next
					</button>
				</div>
			)}
			{dialog?.kind === "limits" && (
				<LimitsDialog
					user={dialog.user}
					onClose={() => setDialog(null)}
					onSaved={(user) => {
						replaced(user);
						setDialog(null);
						toast(`Limits of ${user.username} saved`);
					}}
				/>
			)}
			{dialog?.kind === "reset" && (
				<Modal title={`Password reset for ${dialog.username}`} onClose={() => setDialog(null)}>
					<OneTimeCode
						label="Reset code"
						code={dialog.code}
						note="Shown only now. It works once, for 24 hours: give it to the user, who sets a new password with it."
					/>
				</Modal>
			)}
		</>
	);
}

/** The limits that hold, each marked when it is the user's own rather than the server's default. */
function LimitsCell({ user }: { user: AdminUser }) {
	const { limits, limit_overrides: own } = user;
	const tokens = limits.tokens_per_day === 0 ? "unlimited" : count(limits.tokens_per_day);
	return (
		<ul class="admin-limits">
			<li>
				{tokens} tokens/day {own.tokens_per_day !== null && <span class="badge badge-accent">own</span>}
			</li>
			<li>
				{count(limits.messages_per_minute)} msgs/min{" "}
				{own.messages_per_minute !== null && <span class="badge badge-accent">own</span>}
			</li>
		</ul>
	);
}

/** A user's own limits; an empty field clears theirs (the server's default holds again). */
function LimitsDialog({
	user,
	onClose,
	onSaved,
}: {
	user: AdminUser;
	onClose: () => void;
	onSaved: (user: AdminUser) => void;
}) {
	const own = user.limit_overrides;
	const [tokens, setTokens] = useState(own.tokens_per_day === null ? "" : String(own.tokens_per_day));
	const [messages, setMessages] = useState(own.messages_per_minute === null ? "" : String(own.messages_per_minute));
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		const value = (text: string) => (text.trim() === "" ? null : Number(text));
		try {
			onSaved(await updateUser(user.username, { tokens_per_day: value(tokens), messages_per_minute: value(messages) }));
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	}

	return (
		<Modal title={`Limits of ${user.username}`} onClose={onClose}>
			<form class="form" onSubmit={submit}>
				<p class="muted small">Leave a field empty for the server's default. 0 tokens a day is unlimited.</p>
				<NumberField
					label="Tokens per day"
					min={0}
					max={MAX_TOKENS_PER_DAY}
					step={1}
					placeholder="Server default"
					value={tokens}
					onInput={(e) => setTokens(e.currentTarget.value)}
				/>
				<NumberField
					label="Messages per minute"
					min={1}
					max={MAX_MESSAGES_PER_MINUTE}
					step={1}
					placeholder="Server default"
					value={messages}
					onInput={(e) => setMessages(e.currentTarget.value)}
				/>
				<FormFooter error={error} submit="Save limits" disabled={busy} onCancel={onClose} />
			</form>
		</Modal>
	);
}
