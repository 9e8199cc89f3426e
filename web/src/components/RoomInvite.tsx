/**
 * The owner's ways to bring people in: a link anyone logged in can join by (made on demand, for one use or many,
 * shown to copy), or adding someone by username.
 */
import { useState } from "preact/hooks";
import { api, errorText, type Invite, type RoomView } from "../api";
import { inviteLink } from "../router";
import { toast } from "../toast";
import { CopyIcon, PlusIcon } from "./icons";

export function RoomInvite({ room }: { room: RoomView }) {
	const [link, setLink] = useState("");
	const [multi, setMulti] = useState(false);
	const [busy, setBusy] = useState(false);
	const [username, setUsername] = useState("");

	async function create() {
		setBusy(true);
		try {
			const invite = await api<Invite>(`/sessions/${encodeURIComponent(room.id)}/invites`, {
				method: "POST",
				body: { max_uses: multi ? null : 1 },
			});
			setLink(inviteLink(location.origin, invite.code));
		} catch (err) {
			toast(errorText(err), "error");
		} finally {
			setBusy(false);
		}
	}

	async function add(e: Event) {
		e.preventDefault();
		const wanted = username.trim();
		if (!wanted) return;
		try {
			await api(`/sessions/${encodeURIComponent(room.id)}/members`, { method: "POST", body: { username: wanted } });
			setUsername("");
			toast(`${wanted} is in the room`);
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<section class="room-section" aria-labelledby="room-invite">
			<h2 id="room-invite" class="group-title">
				Invite
			</h2>
			<label class="check">
				<input type="checkbox" checked={multi} onChange={(e) => setMulti(e.currentTarget.checked)} />
				<span class="check-text">Link works for several people</span>
			</label>
			<button type="button" class="button small" disabled={busy} onClick={() => void create()}>
				<PlusIcon /> Create invite link
			</button>
			{link && (
				<div class="invite-link">
					<input readOnly aria-label="Invite link" value={link} onFocus={(e) => e.currentTarget.select()} />
					<button type="button" class="icon-button" aria-label="Copy invite link" onClick={() => void copy(link)}>
						<CopyIcon />
					</button>
				</div>
			)}
			<form class="invite-add" onSubmit={add}>
				<input
					aria-label="Add by username"
					placeholder="Add by username"
					value={username}
					maxLength={64}
					onInput={(e) => setUsername(e.currentTarget.value)}
				/>
				<button type="submit" class="button small" disabled={!username.trim()}>
					Add
				</button>
			</form>
		</section>
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
