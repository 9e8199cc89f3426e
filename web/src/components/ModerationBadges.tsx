/** What an admin did to a character (issue 17), as its owner and admins see it; nothing for most characters. */
import type { Character } from "../api";

export function ModerationBadges({ character }: { character: Pick<Character, "hidden" | "nsfw"> }) {
	return (
		<>
			{character.hidden && (
				<span class="badge" title="An admin hid it: only you and admins can see it">
					Hidden
				</span>
			)}
			{character.nsfw && (
				<span class="badge" title="An admin marked it as adult content">
					NSFW
				</span>
			)}
		</>
	);
}
