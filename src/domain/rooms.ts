/**
 * Rooms: one session with a cast of characters and several people. What is decided here, without I/O: who speaks
 * after a message (the reply modes), how a room's story reads to the character about to speak (SillyTavern's group
 * shape: its own lines are its own, everyone else's are named), and the events rooms broadcast.
 */
import type { HistoryEntry } from "./history.js";

/**
 * Who answers a message: `addressed` (the characters the message names, in the order named; else the next in turn),
 * `round_robin` (the next in turn), `all` (every character, in cast order), `manual` (nobody: members `trigger` one).
 */
export const REPLY_MODES = ["addressed", "round_robin", "all", "manual"] as const;
export type ReplyMode = (typeof REPLY_MODES)[number];
export const DEFAULT_REPLY_MODE: ReplyMode = "addressed";

/** Broadcast events of rooms: facts, `<entity>.<past-tense>`. */
export const RoomEvent = {
	/** Someone left a room or was removed from it: their sockets on every node close (4003) at once. */
	MemberRemoved: "room.member.removed",
	/** A room's members, cast, title or reply mode changed: its sockets are told (a `room` frame). */
	Changed: "room.changed",
} as const;

export interface RoomMemberRemovedPayload {
	session_id: string;
	username: string;
}

export interface RoomChangedPayload {
	session_id: string;
}

export interface CastMember {
	id: string;
	name: string;
}

/** The character after `lastSpeakerId` in cast order (the first when none spoke yet, or that one left the cast). */
export function nextInTurn(cast: readonly CastMember[], lastSpeakerId: string | null): CastMember {
	const at = cast.findIndex((c) => c.id === lastSpeakerId);
	return cast[(at + 1) % cast.length];
}

/**
 * The characters a message names, in the order first named: a name counts as a whole word, in any case ("ask
 * Seraphina", "seraphina, hi"; not "Seraphinas"). A longer name that contains a shorter one wins where both match.
 */
export function addressedIn(cast: readonly CastMember[], content: string): CastMember[] {
	const text = content.toLowerCase();
	const found: { at: number; end: number; who: CastMember }[] = [];
	for (const who of cast) {
		const name = who.name.trim().toLowerCase();
		if (!name) continue;
		for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
			if (isWordEdge(text, at - 1) && isWordEdge(text, at + name.length)) {
				found.push({ at, end: at + name.length, who });
				break;
			}
		}
	}
	const kept = found.filter(
		(f) => !found.some((g) => g !== f && g.at <= f.at && g.end >= f.end && g.end - g.at > f.end - f.at),
	);
	kept.sort((a, b) => a.at - b.at);
	return [...new Map(kept.map((f) => [f.who.id, f.who])).values()];
}

function isWordEdge(text: string, index: number): boolean {
	if (index < 0 || index >= text.length) return true;
	return !/[\p{L}\p{N}_]/u.test(text[index]);
}

/** Who replies to a message, in order, under `mode`; `lastSpeakerId`: the character who spoke last in the room. */
export function speakersFor(
	mode: ReplyMode,
	cast: readonly CastMember[],
	content: string,
	lastSpeakerId: string | null,
): CastMember[] {
	if (cast.length === 0 || mode === "manual") return [];
	if (mode === "all") return [...cast];
	if (mode === "addressed") {
		const named = addressedIn(cast, content);
		if (named.length > 0) return named;
	}
	return [nextInTurn(cast, lastSpeakerId)];
}

/** A room's story line as the prompt needs it: who said it (a character's id, or a person's persona name). */
export interface RoomLine extends HistoryEntry {
	character_id?: string;
	speaker?: string | null;
}

/**
 * The room's story as `speaker` reads it: its own lines stay its own (the model's turns); everyone else's, people
 * and other characters alike, become lines of the conversation prefixed with who said them.
 */
export function roomHistory(
	lines: readonly RoomLine[],
	speakerId: string,
	names: { character(id: string): string; person: string },
): HistoryEntry[] {
	return lines.map((line) => {
		if (line.role === "ai" && line.character_id === speakerId) return line;
		const who = line.role === "ai" ? names.character(line.character_id ?? "") : line.speaker || names.person;
		const content = `${who}: ${line.content}`;
		return { id: line.id, role: "user", content, seq: line.seq };
	});
}

/** What the speaking character is told about the room, after its card: who else is there, and whose turn it is. */
export function roomSection(speaker: string, others: readonly string[], people: readonly string[]): string {
	const cast = others.length > 0 ? `, with ${others.join(", ")}` : "";
	const with_ = people.length > 0 ? ` The people here are ${people.join(", ")}.` : "";
	return (
		`This is a group conversation${cast}.${with_} Write only ${speaker}'s next reply, in character; ` +
		`never speak for the others.`
	);
}
