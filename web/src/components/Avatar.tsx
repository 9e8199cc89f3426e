import { useEffect, useState } from "preact/hooks";
import { avatarUrl, personaAvatarUrl, readyAvatarUrl, type AvatarPixels } from "../avatar-images";
import { avatarHue, initials } from "../format";

/** What Avatar needs of a character to show its image: any character the API answers with fits. */
export interface AvatarSource {
	id: string;
	has_avatar: boolean;
	/** The image's version: a new upload changes it, so a cached image is never shown for a newer one. */
	updated_at: string;
}

type AvatarSize = "sm" | "md" | "lg" | "xl";

/** The derived image each size asks for: about twice its CSS pixels, for sharp edges on high-density screens. */
const PIXELS: Record<AvatarSize, AvatarPixels> = { sm: 64, md: 128, lg: 128, xl: 256 };

/**
 * A character's picture: its image (the small derived one, never the original) when `character` has one, otherwise
 * and until it arrives its initials on a colour derived from its name. `name` and `size` alone still give initials.
 * A persona's picture is the same with `persona` instead of `character`.
 */
export function Avatar({
	name,
	size = "md",
	character,
	persona,
}: {
	name: string;
	size?: AvatarSize;
	character?: AvatarSource | null;
	persona?: AvatarSource | null;
}) {
	const url = useAvatarUrl(character ?? persona, persona && !character ? undefined : PIXELS[size]);
	if (url) return <img class={`avatar avatar-${size} avatar-image`} src={url} alt="" aria-hidden="true" />;
	return (
		<span class={`avatar avatar-${size}`} style={{ "--hue": String(avatarHue(name)) }} aria-hidden="true">
			{initials(name)}
		</span>
	);
}

/** `pixels` absent: a persona's image, which comes in one size. */
function useAvatarUrl(character: AvatarSource | null | undefined, pixels?: AvatarPixels): string | null {
	const id = character?.has_avatar ? character.id : undefined;
	const version = character?.updated_at ?? "";
	const [url, setUrl] = useState(() => (id ? readyAvatarUrl(id, version, pixels) : null));
	useEffect(() => {
		setUrl(id ? readyAvatarUrl(id, version, pixels) : null);
		if (!id) return;
		let live = true;
		const loading = pixels ? avatarUrl(id, version, pixels) : personaAvatarUrl(id, version);
		void loading.then((u) => live && setUrl(u));
		return () => {
			live = false;
		};
	}, [id, version, pixels]);
	return url;
}
