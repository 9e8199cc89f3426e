/** Small display helpers: card placeholders, avatar colours and initials, times. */
import { applyMacros } from "../../src/domain/macros";

/**
 * Text from a card or a chat as people read it: `{{char}}` is the character, `{{user}}` who you are there (the chat's
 * persona, else your display name).
 */
export function filled(text: string, characterName: string, you: { name: string } | null): string {
	// "you" only until GET /me (or the chat's persona) answers.
	return applyMacros(text, characterName, you?.name ?? "you");
}

/** A stable, calm hue per name, so a character keeps its colour everywhere. */
export function avatarHue(name: string): number {
	let hash = 2166136261;
	for (const ch of name) hash = Math.imul(hash ^ ch.codePointAt(0)!, 16777619);
	return (hash >>> 0) % 360;
}

export function initials(name: string): string {
	const words = name.trim().split(/\s+/).filter(Boolean);
	const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
	return letters.map((w) => [...w][0]!.toUpperCase()).join("") || "?";
}

export function clockTime(iso: string): string {
	return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function timeAgo(iso: string): string {
	const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
	const steps: [number, Intl.RelativeTimeFormatUnit][] = [
		[60, "second"],
		[60, "minute"],
		[24, "hour"],
		[7, "day"],
	];
	let value = seconds;
	for (const [size, unit] of steps) {
		if (Math.abs(value) < size) return unit === "second" ? "just now" : relative.format(Math.round(value), unit);
		value /= size;
	}
	return new Date(iso).toLocaleDateString();
}
