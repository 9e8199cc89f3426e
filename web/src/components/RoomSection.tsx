/** One part of a room's sidebar (its characters, people, invites, settings) under its heading. */
import type { ComponentChildren } from "preact";

export function RoomSection({ id, title, children }: { id: string; title: string; children: ComponentChildren }) {
	return (
		<section class="room-section" aria-labelledby={id}>
			<h2 id={id} class="group-title">
				{title}
			</h2>
			{children}
		</section>
	);
}
