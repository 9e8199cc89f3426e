/**
 * What a room adds to a conversation, as plain data: who of its people has the room open (presence), who is typing
 * now (each for a few seconds after they said so), who said each line, how often to tell the others you type, and
 * what the reply modes mean to a person.
 */
import type { PresenceFrame, TypingFrame } from "../../../src/domain/chat-frames.js";
import type { Message } from "./state.js";

/** Who speaks after a message in a room (REPLY_MODES in src/domain/rooms.ts, which the bundle must not import). */
export type ReplyMode = "addressed" | "round_robin" | "all" | "manual";

/** How long "X is typing…" stays after their last typing frame. */
export const TYPING_SHOWN_MS = 4000;
/** Send a typing frame at most this often while the user types. */
export const TYPING_EVERY_MS = 3000;

/** The reply modes, as a select offers them. */
export const REPLY_MODE_LABELS: Record<ReplyMode, string> = {
	addressed: "Whoever is named replies",
	round_robin: "Characters take turns",
	all: "Every character replies",
	manual: "Only when asked to speak",
};

/** Usernames compare without case, as the server compares them. */
export function sameUser(a: string | undefined, b: string | undefined): boolean {
	return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** Who has the room open, by lowercased username. */
export type Presence = Record<string, boolean>;

export function presenceOf(frame: PresenceFrame): Presence {
	return Object.fromEntries(frame.members.map((m) => [m.username.toLowerCase(), m.online]));
}

export interface Typist {
	username: string;
	/** The persona name they write as, else their username. */
	name: string;
	/** When to stop showing them (ms since the epoch). */
	until: number;
}

/** Someone else said they are typing: shown for TYPING_SHOWN_MS from `now` (your own frames are ignored). */
export function typingFrom(typists: Typist[], frame: TypingFrame, me: string | undefined, now: number): Typist[] {
	if (sameUser(frame.username, me)) return typists;
	const others = typists.filter((t) => !sameUser(t.username, frame.username));
	return [...others, { username: frame.username, name: frame.persona || frame.username, until: now + TYPING_SHOWN_MS }];
}

/** Their message arrived: they are done typing. */
export function typingDone(typists: Typist[], username: string): Typist[] {
	const left = typists.filter((t) => !sameUser(t.username, username));
	return left.length === typists.length ? typists : left;
}

/** Those still typing at `now`. */
export function typingAt(typists: Typist[], now: number): Typist[] {
	const left = typists.filter((t) => t.until > now);
	return left.length === typists.length ? typists : left;
}

/** "Ana is typing…", "Ana and Bo are typing…", "Several people are typing…"; empty when nobody is. */
export function typingText(names: string[]): string {
	if (names.length === 0) return "";
	if (names.length === 1) return `${names[0]} is typing…`;
	if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
	return "Several people are typing…";
}

/** Whether to tell the others you type now: at most once every TYPING_EVERY_MS. */
export class TypingSignal {
	private last = -Infinity;

	due(now: number): boolean {
		if (now - this.last < TYPING_EVERY_MS) return false;
		this.last = now;
		return true;
	}

	/** A message was sent: the next keystroke starts a new signal. */
	reset(): void {
		this.last = -Infinity;
	}
}

/** Whether a user message is yours: sent from this tab (no username yet), or under your username from another. */
export function isMine(message: Message, me: string | undefined): boolean {
	return message.username === undefined || sameUser(message.username, me);
}

/** The name over another person's message: the persona they wrote as, else their name in the room, else username. */
export function senderName(message: Message, members: { username: string; name: string }[]): string {
	if (message.persona) return message.persona;
	const member = members.find((m) => sameUser(m.username, message.username));
	return member?.name ?? message.username ?? "Someone";
}

/** A character of the cast as a message row shows it; one no longer in the cast is named by what the room knew. */
export function castSpeaker(
	cast: { id: string; name: string; avatar_url: string | null }[],
	characterId: string | undefined,
): { id: string; name: string; has_avatar: boolean; updated_at: string } {
	const c = cast.find((x) => x.id === characterId);
	return { id: characterId ?? "", name: c?.name ?? "A character", has_avatar: Boolean(c?.avatar_url), updated_at: "" };
}

/** What is left of an invite link, as a person would say it: "1 use left", "any number of uses". */
export function inviteUsesText(invite: { max_uses: number | null; uses: number }): string {
	if (invite.max_uses === null)
		return invite.uses === 1 ? "any number of uses · used once" : `any number of uses · used ${invite.uses} times`;
	const left = Math.max(0, invite.max_uses - invite.uses);
	return left === 1 ? "1 use left" : `${left} uses left`;
}
