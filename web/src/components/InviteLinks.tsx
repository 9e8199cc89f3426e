/**
 * The owner's invite links to a room: a new one (for one person, or several), shown to copy, and those that still
 * let someone in (GET /sessions/{id}/invites, read again whenever the room changes: someone joining uses one up),
 * each to copy again or revoke (who joined through it stays).
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, errorText, type Invite, type RoomView } from "../api";
import { inviteUsesText } from "../chat/room";
import { timeAgo } from "../format";
import { inviteLink } from "../router";
import { toast } from "../toast";
import { CopyIcon, PlusIcon, TrashIcon } from "./icons";

export function InviteLinks({ room }: { room: RoomView }) {
	const [invites, setInvites] = useState<Invite[]>([]);
	const [fresh, setFresh] = useState("");
	const [multi, setMulti] = useState(false);
	const [busy, setBusy] = useState(false);
	const path = `/sessions/${encodeURIComponent(room.id)}/invites`;

	const load = useCallback(() => {
		api<Invite[]>(path).then(
			(list) => {
				setInvites(list);
				// The link just made was used up (or revoked elsewhere): it no longer brings anyone in.
				setFresh((code) => (list.some((i) => i.code === code) ? code : ""));
			},
			() => undefined,
		);
	}, [path]);
	useEffect(load, [load, room]);

	async function create() {
		setBusy(true);
		try {
			const invite = await api<Invite>(path, { method: "POST", body: { max_uses: multi ? null : 1 } });
			setInvites((list) => [invite, ...list]);
			setFresh(invite.code);
		} catch (err) {
			toast(errorText(err), "error");
		} finally {
			setBusy(false);
		}
	}

	async function revoke(code: string) {
		try {
			await api(`${path}/${encodeURIComponent(code)}`, { method: "DELETE" });
			if (code === fresh) setFresh("");
			setInvites((list) => list.filter((i) => i.code !== code));
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	const link = (code: string) => inviteLink(location.origin, code);
	return (
		<>
			<label class="check">
				<input type="checkbox" checked={multi} onChange={(e) => setMulti(e.currentTarget.checked)} />
				<span class="check-text">Link works for several people</span>
			</label>
			<button type="button" class="button small" disabled={busy} onClick={() => void create()}>
				<PlusIcon /> Create invite link
			</button>
			{fresh && (
				<div class="invite-link">
					<input readOnly aria-label="Invite link" value={link(fresh)} onFocus={(e) => e.currentTarget.select()} />
					<button
						type="button"
						class="icon-button"
						aria-label="Copy invite link"
						onClick={() => void copy(link(fresh))}
					>
						<CopyIcon />
					</button>
				</div>
			)}
			{invites.length > 0 && (
				<ul class="invite-list" aria-label="Open invite links">
					{invites.map((invite) => (
						<li key={invite.code} class="invite-item">
							<span class="person-text">
								<span class="invite-code">…{invite.code.slice(-6)}</span>
								<span class="muted small">
									{inviteUsesText(invite)}
									{invite.expires_at ? ` · ends ${timeAgo(invite.expires_at)}` : ""}
								</span>
							</span>
							<button
								type="button"
								class="icon-button tiny"
								aria-label={`Copy invite link …${invite.code.slice(-6)}`}
								onClick={() => void copy(link(invite.code))}
							>
								<CopyIcon />
							</button>
							<button
								type="button"
								class="icon-button tiny"
								aria-label={`Revoke invite link …${invite.code.slice(-6)}`}
								onClick={() => void revoke(invite.code)}
							>
								<TrashIcon />
							</button>
						</li>
					))}
				</ul>
			)}
		</>
	);
}

async function copy(text: string): Promise<void> {
	try {
		await navigator.clipboard.writeText(text);
		toast("Invite link copied");
	} catch {
		toast("Couldn't copy: select the link and copy it yourself.", "error");
	}
}
