/**
 * One conversation as plain data: messages keyed by id (so history, replays after a reconnect and live frames merge
 * without duplicates), replies grouped by the message they answer (the variants you swipe through, one of them the
 * active one the story continues from), whether the character is still writing, and the line the model is writing
 * for the user (impersonation), which goes to the input box, never to the transcript.
 */
import type { ConnectionFrame, ErrorFrame, ServerFrame } from "../../../src/domain/chat-frames.js";

/** A stored message as the history (GET /sessions/{id}/messages) gives it. */
export interface HistoryMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	reply_status?: "none" | "pending" | "replied" | "failed";
	timestamp: string;
	variant?: number;
	/** Replies: whether this variant is the one the story continues from. */
	active?: boolean;
	stopped?: boolean;
	/** Set once the message was edited. */
	edited_at?: string | null;
	/** In a room: the character who said a reply. */
	character_id?: string;
	/** In a room: who sent a user message, and the persona name they wrote as. */
	username?: string;
	persona?: string | null;
}

export interface Message {
	id: string;
	role: "user" | "ai";
	content: string;
	/** Absent while a reply is still streaming. */
	timestamp?: string;
	/** Set once the message was edited (ISO-8601). */
	edited_at?: string;
	reply_to: string | null;
	variant: number;
	stopped: boolean;
	streaming: boolean;
	/** Who said a reply (a room has several characters); absent from older servers. */
	characterId?: string;
	/** Who sent a user message in a room (absent: you, from this tab), and the persona name they wrote as. */
	username?: string;
	persona?: string | null;
}

/** What the character is busy with: the reply to `replyTo`, a message not yet echoed, or extending reply `continues`. */
export interface Pending {
	replyTo?: string;
	continues?: string;
}

/** The user's next line as the model writes it (`impersonate`), until it is complete and handed to the input box. */
export interface Impersonation {
	content: string;
	done: boolean;
}

/**
 * What is remembered of a rewound message. Reply ids are derived from the message and the variant, so a reply made
 * again after a rewind has the id of the one deleted: it is told apart by its later timestamp, or by being asked for
 * here (a regenerate of `replyTo`).
 */
export interface Tombstone {
	replyTo: string | null;
	/** When the deleted message was stored; undefined if it was still streaming. */
	timestamp?: string;
}

export interface ChatState {
	byId: Record<string, Message>;
	/** Ids in the order they are shown. */
	order: string[];
	/** The id of the variant shown, per user message id (the server's active one); absent means the newest. */
	selected: Record<string, string>;
	/** Replies that could not be made, per user message id. */
	failures: Record<string, string>;
	pending: Pending | null;
	/** A stop was sent and not yet answered: an error without reply_to then answers the stop, not the message. */
	stopSent: boolean;
	hasMore: boolean;
	/** Messages rewound away: a frame of theirs still on its way (a delta, a late reply) must not bring them back. */
	deleted: Record<string, Tombstone>;
	impersonation: Impersonation | null;
	/**
	 * The session's revision the story shown is at (ConnectionFrame.revision: every change in place counts one), from
	 * the history it loaded or a new chat's first connection, then every change applied; undefined until known.
	 */
	revision?: number;
	/** Changes applied before one that comes before them (frames out of order, or one missed): counted once it is in. */
	revisionsAhead: number[];
}

/** The model is set up wrong (key, model name): only the operator can fix that, so this says whom to tell. */
export const MISCONFIGURED_TEXT =
	"The server's model is misconfigured, so the character can't reply. Tell the operator of this server.";

/** What a failed reply says under the message it answers, or undefined when the error is not about a reply. */
export function replyFailure(frame: ErrorFrame): string | undefined {
	if (frame.code === "ai_misconfigured") return MISCONFIGURED_TEXT;
	if (frame.code === "ai_unavailable") return frame.message;
	return undefined;
}

/** The refusals of the story controls, as a person would say them (the server's text is for developers). */
const STORY_ERRORS: Partial<Record<ErrorFrame["code"], string>> = {
	message_not_found: "That message is no longer in this chat.",
	reply_in_progress: "That reply is still being written. Wait for it to finish, then try again.",
	cannot_select: "That reply can't be chosen right now. Wait for the character to finish, then try again.",
	cannot_continue: "There's nothing to continue: the last message must be the character's, with nothing being written.",
	cannot_impersonate: "Couldn't write your next line right now. Try again in a moment.",
	cannot_regenerate: "Only the reply to your last message can be made again.",
	not_in_cast: "That character isn't in this room any more.",
};

/** An error frame as a sentence to show. */
export function errorSentence(frame: ErrorFrame): string {
	return STORY_ERRORS[frame.code] ?? frame.message;
}

export const emptyChat: ChatState = {
	byId: {},
	order: [],
	selected: {},
	failures: {},
	pending: null,
	stopSent: false,
	hasMore: false,
	deleted: {},
	impersonation: null,
	revisionsAhead: [],
};

/** Whether a socket that (re)opened at this revision has changes the story shown lacks: reload the history. */
export function missedChanges(state: ChatState, connection: ConnectionFrame): boolean {
	return state.revision !== undefined && connection.revision > state.revision;
}

export type ChatAction =
	| { type: "history"; messages: HistoryMessage[]; hasMore: boolean; older: boolean; revision?: number }
	| { type: "frame"; frame: ServerFrame }
	| { type: "sent" }
	| { type: "regenerate"; replyTo: string }
	| { type: "continue"; id: string }
	| { type: "impersonate" }
	| { type: "stop" }
	/** REST confirmed a rewind from `id`: what the socket's `messages.deleted` will say, in case it is not open. */
	| { type: "rewound"; id: string }
	/**
	 * The latest page of history, read again after a reconnect: edits, rewinds and choices made meanwhile. `known`:
	 * the ids shown when it was asked for (what arrived since is not in it, and stays).
	 */
	| { type: "resync"; messages: HistoryMessage[]; hasMore: boolean; known: string[]; revision?: number };

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
	switch (action.type) {
		case "history": {
			const merged = mergeHistory(state, action.messages, action.hasMore, action.older);
			return action.older ? merged : atRevision(merged, action.revision);
		}
		case "frame":
			return applyFrame(state, action.frame);
		case "sent":
			return { ...state, pending: {} };
		case "regenerate": {
			const deleted = Object.fromEntries(Object.entries(state.deleted).filter(([, t]) => t.replyTo !== action.replyTo));
			return {
				...state,
				pending: { replyTo: action.replyTo },
				failures: without(state.failures, action.replyTo),
				deleted,
			};
		}
		case "continue":
			return { ...state, pending: { continues: action.id } };
		case "impersonate":
			return { ...state, impersonation: { content: "", done: false } };
		case "stop":
			return { ...state, stopSent: true };
		case "rewound":
			return removeMessages(state, rewoundIds(state, action.id));
		case "resync":
			return atRevision(resync(state, action), action.revision);
	}
}

function mergeHistory(state: ChatState, messages: HistoryMessage[], hasMore: boolean, older: boolean): ChatState {
	const byId = { ...state.byId };
	const fresh: string[] = [];
	const failures = { ...state.failures };
	const selected = { ...state.selected };
	let pending = state.pending;
	const perReply: Record<string, number> = {};
	for (const m of messages) {
		// A reply being continued is newer than any page: its frames finish it.
		if (isGone(state, m.id, m.timestamp) || state.byId[m.id]?.streaming) continue;
		// History may not carry variant numbers: count the replies to each message in order instead.
		const variant = m.reply_to ? (m.variant ?? perReply[m.reply_to] ?? 0) : 0;
		if (m.reply_to) perReply[m.reply_to] = variant + 1;
		if (!byId[m.id]) fresh.push(m.id);
		byId[m.id] = {
			id: m.id,
			role: m.role,
			content: m.content,
			timestamp: m.timestamp,
			edited_at: m.edited_at ?? undefined,
			reply_to: m.reply_to,
			variant,
			stopped: Boolean(m.stopped),
			streaming: false,
			...speakerOf(m),
		};
		if (m.role === "ai" && m.reply_to && m.active) selected[m.reply_to] = m.id;
		if (m.reply_status === "failed") failures[m.id] = "The character couldn't reply to this message.";
	}
	const last = messages[messages.length - 1];
	// Opened while the reply to the last message is still being written.
	if (!older && last?.role === "user" && last.reply_status === "pending") pending = { replyTo: last.id };
	const order = older ? [...fresh, ...state.order] : [...state.order, ...fresh];
	return { ...state, byId, order, failures, selected, pending, hasMore };
}

/**
 * The history again, after the socket was closed a while (a resumed socket replays only newer messages): a message
 * shown when it was asked for, in the span the page covers and missing from it, was rewound meanwhile; the rest take
 * the page's text and active variants. Replies being written are left to their frames.
 */
function resync(state: ChatState, page: Extract<ChatAction, { type: "resync" }>): ChatState {
	const listed = new Set(page.messages.map((m) => m.id));
	const oldest = page.messages[0];
	const from = page.hasMore && oldest ? Date.parse(oldest.timestamp) : -Infinity;
	const gone = page.known.filter((id) => {
		const m = state.byId[id];
		// Newer than the page's oldest message (which it lists): a tie may be older, so it stays.
		return m?.timestamp && !m.streaming && !listed.has(id) && Date.parse(m.timestamp) > from;
	});
	return mergeHistory(removeMessages(state, gone), page.messages, state.hasMore, false);
}

function applyFrame(state: ChatState, frame: ServerFrame): ChatState {
	switch (frame.type) {
		case "connection": {
			// A line being written for the user on a socket that dropped will not be finished: it is theirs as it is.
			const impersonation =
				state.impersonation && !state.impersonation.done ? { ...state.impersonation, done: true } : state.impersonation;
			// A new chat has no history to take its revision from.
			return { ...state, impersonation, revision: state.revision ?? frame.revision };
		}
		case "echo": {
			const message = userLine(state, frame);
			if (!message) return state;
			const known = state.byId[frame.id];
			const pending = !known && state.pending && !state.pending.replyTo ? { replyTo: frame.id } : state.pending;
			return { ...upsert(state, message), pending };
		}
		case "message":
			return roomMessage(state, frame);
		// Who is in a room and who types are the room's (./room.ts), not the story's.
		case "presence":
		case "typing":
		case "room.changed":
			return state;
		case "ai.delta":
			return frame.continued ? continueDelta(state, frame.id, frame.delta) : replyDelta(state, frame);
		case "ai":
			if (frame.continued && frame.revision !== undefined) {
				// The reloaded history may hold the longer text already; the frame still ends the continue shown.
				if (hasRevision(state, frame.revision)) return endContinue(state, frame);
				return counted(applyReply(state, frame), frame.revision);
			}
			return applyReply(state, frame);
		case "message.edited":
			return applyChange(state, frame.revision, () => {
				const m = state.byId[frame.id];
				// Two devices edited it: the edit stored last wins, whatever order the frames came in.
				if (!m || (m.edited_at && Date.parse(m.edited_at) > Date.parse(frame.edited_at))) return state;
				const byId = { ...state.byId, [m.id]: { ...m, content: frame.content, edited_at: frame.edited_at } };
				return { ...state, byId };
			});
		case "messages.deleted":
			return applyChange(state, frame.revision, () => removeMessages(state, frame.ids));
		case "variant.selected":
			return applyChange(state, frame.revision, () => ({
				...state,
				selected: { ...state.selected, [frame.reply_to]: frame.id },
			}));
		case "impersonation.delta": {
			// Only the socket that asked gets these; a stray one after the final frame is ignored.
			if (state.impersonation?.done) return state;
			const content = (state.impersonation?.content ?? "") + frame.delta;
			return { ...state, impersonation: { content, done: false } };
		}
		case "impersonation":
			return { ...state, impersonation: { content: frame.content, done: true } };
		case "error":
			return applyError(state, frame);
	}
}

/** A reply (first, regenerated, replayed, or continued), the source of truth for its text. */
function applyReply(state: ChatState, frame: Extract<ServerFrame, { type: "ai" }>): ChatState {
	if (isGone(state, frame.id, frame.timestamp) || (frame.reply_to && state.deleted[frame.reply_to])) return state;
	if (replayedFromOlderPage(state, frame.id, frame.timestamp)) return state;
	const existing = state.byId[frame.id];
	const message: Message = {
		id: frame.id,
		role: "ai",
		// A continued reply is longer than what was shown, edited or not.
		...(frame.continued ? { content: frame.content, edited_at: frame.edited_at } : newestText(existing, frame)),
		timestamp: frame.timestamp,
		reply_to: frame.reply_to,
		variant: frame.variant,
		stopped: Boolean(frame.stopped),
		streaming: false,
		...(frame.character_id ? { characterId: frame.character_id } : {}),
	};
	const done =
		(frame.reply_to !== null && state.pending?.replyTo === frame.reply_to) ||
		// A stopped continue may end without the flag: the reply's id is enough.
		state.pending?.continues === frame.id;
	const shown = showNewest(upsert(state, message), existing ? null : frame.reply_to);
	// Made anew under the id of a rewound reply: from now on its frames are this one's.
	const next = state.deleted[frame.id] ? { ...shown, deleted: without(state.deleted, frame.id) } : shown;
	return done ? { ...next, pending: null, stopSent: false } : next;
}

/** A continued reply whose change the story already has: it stops streaming (with the whole text, if it was). */
function endContinue(state: ChatState, frame: Extract<ServerFrame, { type: "ai" }>): ChatState {
	const m = state.byId[frame.id];
	const byId = m?.streaming
		? { ...state.byId, [m.id]: { ...m, content: frame.content, streaming: false } }
		: state.byId;
	const ended = state.pending?.continues === frame.id;
	if (byId === state.byId && !ended) return state;
	return { ...state, byId, ...(ended ? { pending: null, stopSent: false } : {}) };
}

/** Who said a stored message: a reply's character, a room member's username and persona name. */
function speakerOf(m: HistoryMessage): Pick<Message, "characterId" | "username" | "persona"> {
	if (m.role === "ai") return m.character_id ? { characterId: m.character_id } : {};
	return m.username ? { username: m.username, persona: m.persona ?? null } : {};
}

/**
 * In a room, a member's message (another person's, or yours from another tab): shown like an echo, under its
 * sender's name. It says nothing about a reply being written: the room's replies come as its mode asks.
 */
function roomMessage(state: ChatState, frame: Extract<ServerFrame, { type: "message" }>): ChatState {
	const message = userLine(state, frame);
	return message ? upsert(state, { ...message, username: frame.username, persona: frame.persona }) : state;
}

/**
 * A user's line as an `echo` or a room's `message` frame brings it (keeping a newer edit already shown); null when it
 * was deleted or belongs to an older page not loaded.
 */
function userLine(
	state: ChatState,
	frame: { id: string; content: string; edited_at?: string; timestamp: string },
): Message | null {
	if (isGone(state, frame.id, frame.timestamp) || replayedFromOlderPage(state, frame.id, frame.timestamp)) return null;
	return {
		id: frame.id,
		role: "user",
		...newestText(state.byId[frame.id], frame),
		timestamp: frame.timestamp,
		reply_to: null,
		variant: 0,
		stopped: false,
		streaming: false,
	};
}

/** A replayed message keeps an edit newer than the text it carries. */
function newestText(shown: Message | undefined, frame: { content: string; edited_at?: string }) {
	const stale =
		shown?.edited_at !== undefined &&
		(frame.edited_at === undefined || Date.parse(frame.edited_at) < Date.parse(shown.edited_at));
	return stale
		? { content: shown.content, edited_at: shown.edited_at }
		: { content: frame.content, edited_at: frame.edited_at };
}

/** A message not shown and older than everything shown belongs to an older page ("Load earlier" brings it). */
function replayedFromOlderPage(state: ChatState, id: string, timestamp: string): boolean {
	if (state.byId[id]) return false;
	const oldest = state.order.map((o) => state.byId[o].timestamp).find((t) => t !== undefined);
	return oldest !== undefined && Date.parse(timestamp) < Date.parse(oldest);
}

/** Whether the story shown already has the change that made revision `revision`. */
function hasRevision(state: ChatState, revision: number): boolean {
	return state.revision !== undefined && (revision <= state.revision || state.revisionsAhead.includes(revision));
}

/** A change in place: applied once, and counted (frames without a revision come from an older server: applied). */
function applyChange(state: ChatState, revision: number | undefined, apply: () => ChatState): ChatState {
	if (revision === undefined) return apply();
	if (hasRevision(state, revision)) return state;
	return counted(apply(), revision);
}

/** The revision after applying change `revision`: the next one in line, and those applied ahead that follow it. */
function counted(state: ChatState, revision: number): ChatState {
	if (state.revision === undefined) return state;
	const ahead = [...state.revisionsAhead, revision].sort((a, b) => a - b);
	let at = state.revision;
	while (ahead[0] === at + 1) at = ahead.shift()!;
	return { ...state, revision: at, revisionsAhead: ahead };
}

/** The story as of `revision` (a history page's): changes up to it are in it, so their frames are ignored. */
function atRevision(state: ChatState, revision: number | undefined): ChatState {
	if (revision === undefined) return state;
	return { ...state, revision, revisionsAhead: state.revisionsAhead.filter((r) => r > revision) };
}

/** A piece of a first reply or a regeneration: a new variant, shown as soon as it starts arriving. */
function replyDelta(state: ChatState, frame: Extract<ServerFrame, { type: "ai.delta" }>): ChatState {
	if (isGone(state, frame.id) || (frame.reply_to && state.deleted[frame.reply_to])) return state;
	const existing = state.byId[frame.id];
	// The final frame already arrived (e.g. replayed after a reconnect): it is the source of truth.
	if (existing && !existing.streaming) return state;
	const message: Message = existing
		? { ...existing, content: existing.content + frame.delta }
		: {
				id: frame.id,
				role: "ai",
				content: frame.delta,
				reply_to: frame.reply_to,
				variant: frame.variant,
				stopped: false,
				streaming: true,
				...(frame.character_id ? { characterId: frame.character_id } : {}),
			};
	return showNewest(upsert(state, message), existing ? null : frame.reply_to);
}

/**
 * A piece of a `continue`: appended to the reply already shown, which streams until the `ai` frame with the whole
 * longer text replaces it. Every device sees the character writing, not only the one that asked.
 */
function continueDelta(state: ChatState, id: string, delta: string): ChatState {
	const existing = state.byId[id];
	if (!existing) return state;
	const message = { ...existing, content: existing.content + delta, streaming: true };
	return { ...state, byId: { ...state.byId, [id]: message }, pending: state.pending ?? { continues: id } };
}

/** Refusals of an edit or a choice of variant: they say nothing about a reply being written. */
const LEAVES_PENDING = new Set<ErrorFrame["code"]>(["message_not_found", "reply_in_progress", "cannot_select"]);

function applyError(state: ChatState, frame: ErrorFrame): ChatState {
	const impersonation = state.impersonation && !state.impersonation.done ? null : state.impersonation;
	if (frame.code === "cannot_impersonate") return { ...state, impersonation };
	if (frame.reply_to) {
		// A failed continue names the reply it extended: it keeps the text it had, no longer streaming.
		const extended = state.byId[frame.reply_to];
		if (extended?.role === "ai") {
			const byId = extended.streaming
				? { ...state.byId, [extended.id]: { ...extended, streaming: false } }
				: state.byId;
			const ended = state.pending?.continues === frame.reply_to;
			return { ...state, byId, ...(ended ? { pending: null, stopSent: false } : {}) };
		}
		const failure = replyFailure(frame);
		const failures = failure ? { ...state.failures, [frame.reply_to]: failure } : state.failures;
		const ended = state.pending?.replyTo === frame.reply_to;
		return { ...state, failures, ...(ended ? { pending: null, stopSent: false } : {}) };
	}
	// A refused edit or choice of variant leaves a reply being written, and a stop on its way, alone.
	if (LEAVES_PENDING.has(frame.code)) return state;
	if (state.stopSent) return { ...state, stopSent: false };
	return { ...state, pending: null, impersonation };
}

/** The ids a rewind from `id` removes, as the server does: it, its sibling variants, and everything shown after. */
function rewoundIds(state: ChatState, id: string): string[] {
	const target = state.byId[id];
	if (!target) return [];
	const siblings =
		target.role === "ai" && target.reply_to
			? state.order.filter((other) => state.byId[other].reply_to === target.reply_to)
			: [id];
	const from = Math.min(...siblings.map((s) => state.order.indexOf(s)));
	return state.order.slice(from);
}

/** Takes messages off the transcript, with what was tied to them: a reply being written, failures, choices. */
function removeMessages(state: ChatState, ids: string[]): ChatState {
	const gone = new Set(ids);
	if (gone.size === 0) return state;
	const byId = { ...state.byId };
	for (const id of gone) delete byId[id];
	const deleted = { ...state.deleted };
	for (const id of gone) {
		const m = state.byId[id];
		deleted[id] = { replyTo: m?.reply_to ?? null, timestamp: m?.timestamp };
	}
	const keep = <T>(record: Record<string, T>) =>
		Object.fromEntries(Object.entries(record).filter(([id]) => !gone.has(id)));
	const selected = Object.fromEntries(
		Object.entries(state.selected).filter(([replyTo, id]) => !gone.has(replyTo) && !gone.has(id)),
	);
	const p = state.pending;
	const stillPending = !p || !((p.replyTo && gone.has(p.replyTo)) || (p.continues && gone.has(p.continues)));
	return {
		...state,
		byId,
		order: state.order.filter((id) => !gone.has(id)),
		failures: keep(state.failures),
		selected,
		deleted,
		...(stillPending ? {} : { pending: null, stopSent: false }),
	};
}

/**
 * Whether a message shown again is one rewound away (a delta has no timestamp: it is, until asked for again), rather
 * than one made anew under the same id, which is stored later.
 */
function isGone(state: ChatState, id: string, timestamp?: string): boolean {
	const tombstone = state.deleted[id];
	if (!tombstone) return false;
	if (!timestamp) return true;
	return tombstone.timestamp === undefined ? false : Date.parse(timestamp) <= Date.parse(tombstone.timestamp);
}

function upsert(state: ChatState, message: Message): ChatState {
	const known = Boolean(state.byId[message.id]);
	return {
		...state,
		byId: { ...state.byId, [message.id]: message },
		order: known ? state.order : [...state.order, message.id],
	};
}

/** A new variant is shown as soon as it starts arriving (the server makes it the active one). */
function showNewest(state: ChatState, replyTo: string | null): ChatState {
	if (!replyTo || !(replyTo in state.selected)) return state;
	return { ...state, selected: without(state.selected, replyTo) };
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
	const copy = { ...record };
	delete copy[key];
	return copy;
}

/** The reply being written now, if any (in a room, the one character speaking at a time). */
export function streamingReply(state: ChatState): Message | undefined {
	for (let i = state.order.length - 1; i >= 0; i--) {
		const m = state.byId[state.order[i]];
		if (m.streaming) return m;
	}
	return undefined;
}

/** The id to resume after: the newest message shown in full (a reply still streaming will be replayed whole). */
export function lastShownId(state: ChatState): string | undefined {
	for (let i = state.order.length - 1; i >= 0; i--) {
		const m = state.byId[state.order[i]];
		if (!m.streaming) return m.id;
	}
	return undefined;
}

export type ChatItem =
	| { kind: "user"; message: Message; failure?: string }
	| { kind: "ai"; replyTo: string | null; variants: Message[]; index: number };

/**
 * The rows to render: user messages, and each reply group at the place of its first variant. A group is the replies of
 * one character to one message: in a room several characters may answer the same message, each in a row of its own.
 */
export function chatItems(state: ChatState): ChatItem[] {
	const items: ChatItem[] = [];
	const groups = new Map<string, Message[]>();
	for (const id of state.order) {
		const m = state.byId[id];
		if (m.role === "user") {
			items.push({ kind: "user", message: m, failure: state.failures[m.id] });
		} else if (m.reply_to === null) {
			items.push({ kind: "ai", replyTo: null, variants: [m], index: 0 });
		} else {
			const key = `${m.reply_to} ${m.characterId ?? ""}`;
			const group = groups.get(key);
			if (group) group.push(m);
			else {
				const variants = [m];
				groups.set(key, variants);
				items.push({ kind: "ai", replyTo: m.reply_to, variants, index: 0 });
			}
		}
	}
	for (const item of items) {
		if (item.kind !== "ai" || item.replyTo === null) continue;
		item.variants.sort((a, b) => a.variant - b.variant);
		const chosen = item.variants.findIndex((v) => v.id === state.selected[item.replyTo!]);
		item.index = chosen === -1 ? item.variants.length - 1 : chosen;
	}
	return items;
}
