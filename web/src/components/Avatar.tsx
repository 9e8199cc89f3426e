import { avatarHue, initials } from "../format";

/** A character's initials on a colour derived from its name. */
export function Avatar({ name, size = "md" }: { name: string; size?: "sm" | "md" | "lg" }) {
	return (
		<span class={`avatar avatar-${size}`} style={{ "--hue": String(avatarHue(name)) }} aria-hidden="true">
			{initials(name)}
		</span>
	);
}
