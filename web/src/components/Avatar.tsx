import { useEffect, useState } from "preact/hooks";
import { avatarUrl, readyAvatarUrl, type AvatarPixels } from "../avatar-images";
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
 */
export function Avatar({
	name,
	size = "md",
	character,
}: {
	name: string;
	size?: AvatarSize;
	character?: AvatarSource | null;
}) {
	const url = useAvatarUrl(character, PIXELS[size]);
	if (url) return <img class={`avatar avatar-${size} avatar-image`} src={url} alt="" aria-hidden="true" />;
	return (
		<span class={`avatar avatar-${size}`} style={{ "--hue": String(avatarHue(name)) }} aria-hidden="true">
			{initials(name)}
		</span>
	);
}

function useAvatarUrl(character: AvatarSource | null | undefined, pixels: AvatarPixels): string | null {
	const id = character?.has_avatar ? character.id : undefined;
	const version = character?.updated_at ?? "";
	const [url, setUrl] = useState(() => (id ? readyAvatarUrl(id, version, pixels) : null));
	useEffect(() => {
		setUrl(id ? readyAvatarUrl(id, version, pixels) : null);
		if (!id) return;
		let live = true;
		void avatarUrl(id, version, pixels).then((u) => live && setUrl(u));
		return () => {
			live = false;
		};
	}, [id, version, pixels]);
	return url;
}
