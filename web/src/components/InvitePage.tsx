/**
 * An invite link opened (`#/invite/{code}`): joins its room (POST /invites/{code}/accept) and opens it, or says why
 * not: no such link, expired or used up, the room full. The address is replaced by the room's, so Back does not try
 * the link again.
 */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, errorText, type RoomView } from "../api";
import { replaceHash, roomHash } from "../router";

const REFUSALS: Record<number, string> = {
	404: "This invite link doesn't exist. Ask for a new one.",
	409: "This room is full.",
	410: "This invite link has expired or has been used up. Ask for a new one.",
};

export function InvitePage({ code }: { code: string }) {
	const [error, setError] = useState("");

	useEffect(() => {
		let live = true;
		api<RoomView>(`/invites/${encodeURIComponent(code)}/accept`, { method: "POST" }).then(
			(room) => {
				// A hash change without a new history entry: Back leaves the room, not the link.
				if (!live) return;
				replaceHash(roomHash(room.id));
				window.dispatchEvent(new HashChangeEvent("hashchange"));
			},
			(err) => live && setError((err instanceof ApiError && REFUSALS[err.status]) || errorText(err)),
		);
		return () => {
			live = false;
		};
	}, [code]);

	return (
		<main class="page">
			<section class="empty" aria-live="polite">
				{error ? (
					<>
						<h1>Can't join this room</h1>
						<p role="alert">{error}</p>
						<p>
							<a href="#/">Back to characters</a>
						</p>
					</>
				) : (
					<p>Joining the room…</p>
				)}
			</section>
		</main>
	);
}
