/**
 * One conversation as plain data: messages keyed by id (so history, replays after a reconnect and live frames merge
 * without duplicates), replies grouped by the message they answer (the variants you swipe through), and whether the
 * character is still writing.
 */
import type { HistoryMessage } from "../api";
import type { ErrorFrame, ServerFrame } from "../../../src/domain/chat-frames";

export interface Message {
	id: string;
	role: "user" | "ai";
	content: string;
	/** Absent while a reply is still streaming. */
	timestamp?: string;
	reply_to: string | null;
	variant: number;
	stopped: boolean;
	streaming: boolean;
}

/** What the character is busy with: the reply to `replyTo`, or a message not yet echoed. */
export interface Pending {
	replyTo?: string;
}

export interface ChatState {
	byId: Record<string, Message>;
	/** Ids in the order they are shown. */
	order: string[];
	/** The variant index the user browsed to, per user message id; absent means the newest. */
	selected: Record<string, number>;
	/** Replies that could not be made, per user message id. */
	failures: Record<string, string>;
	pending: Pending | null;
	/** A stop was sent and not yet answered: an error without reply_to then answers the stop, not the message. */
	stopSent: boolean;
	hasMore: boolean;
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

export const emptyChat: ChatState = {
	byId: {},
	order: [],
	selected: {},
	failures: {},
	pending: null,
	stopSent: false,
	hasMore: false,
};

export type ChatAction =
	| { type: "history"; messages: HistoryMessage[]; hasMore: boolean; older: boolean }
	| { type: "frame"; frame: ServerFrame }
	| { type: "sent" }
	| { type: "regenerate"; replyTo: string }
	| { type: "stop" }
	| { type: "select"; replyTo: string; index: number };

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
	switch (action.type) {
		case "history":
			return mergeHistory(state, action.messages, action.hasMore, action.older);
		case "frame":
			return applyFrame(state, action.frame);
		case "sent":
			return { ...state, pending: {} };
		case "regenerate": {
			return { ...state, pending: { replyTo: action.replyTo }, failures: without(state.failures, action.replyTo) };
		}
		case "stop":
			return { ...state, stopSent: true };
		case "select":
			return { ...state, selected: { ...state.selected, [action.replyTo]: action.index } };
	}
}

function mergeHistory(state: ChatState, messages: HistoryMessage[], hasMore: boolean, older: boolean): ChatState {
	const byId = { ...state.byId };
	const fresh: string[] = [];
	const failures = { ...state.failures };
	let pending = state.pending;
	const perReply: Record<string, number> = {};
	for (const m of messages) {
		// History may not carry variant numbers: count the replies to each message in order instead.
		const variant = m.reply_to ? (m.variant ?? perReply[m.reply_to] ?? 0) : 0;
		if (m.reply_to) perReply[m.reply_to] = variant + 1;
		if (!byId[m.id]) fresh.push(m.id);
		byId[m.id] = {
			id: m.id,
			role: m.role,
			content: m.content,
			timestamp: m.timestamp,
			reply_to: m.reply_to,
			variant,
			stopped: Boolean(m.stopped),
			streaming: false,
		};
		if (m.reply_status === "failed") failures[m.id] = "The character couldn't reply to this message.";
	}
	const last = messages[messages.length - 1];
	// Opened while the reply to the last message is still being written.
	if (!older && last?.role === "user" && last.reply_status === "pending") pending = { replyTo: last.id };
	const order = older ? [...fresh, ...state.order] : [...state.order, ...fresh];
	return { ...state, byId, order, failures, pending, hasMore };
}

function applyFrame(state: ChatState, frame: ServerFrame): ChatState {
	switch (frame.type) {
		case "connection":
			return state;
		case "echo": {
			const known = Boolean(state.byId[frame.id]);
			const message: Message = {
				id: frame.id,
				role: "user",
				content: frame.content,
				timestamp: frame.timestamp,
				reply_to: null,
				variant: 0,
				stopped: false,
				streaming: false,
			};
			const pending = !known && state.pending && !state.pending.replyTo ? { replyTo: frame.id } : state.pending;
			return { ...upsert(state, message), pending };
		}
		case "ai.delta": {
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
					};
			return showNewest(upsert(state, message), existing ? null : frame.reply_to);
		}
		case "ai": {
			const isNew = !state.byId[frame.id];
			const message: Message = {
				id: frame.id,
				role: "ai",
				content: frame.content,
				timestamp: frame.timestamp,
				reply_to: frame.reply_to,
				variant: frame.variant,
				stopped: Boolean(frame.stopped),
				streaming: false,
			};
			const done = frame.reply_to !== null && state.pending?.replyTo === frame.reply_to;
			const next = showNewest(upsert(state, message), isNew ? frame.reply_to : null);
			return done ? { ...next, pending: null, stopSent: false } : next;
		}
		case "error": {
			if (frame.reply_to) {
				const failure = replyFailure(frame);
				const failures = failure ? { ...state.failures, [frame.reply_to]: failure } : state.failures;
				const ended = state.pending?.replyTo === frame.reply_to;
				return { ...state, failures, ...(ended ? { pending: null, stopSent: false } : {}) };
			}
			if (state.stopSent) return { ...state, stopSent: false };
			return { ...state, pending: null };
		}
		default:
			// Frames of the story controls (edits, rewinds, swipes, impersonation) are not shown by this client yet.
			return state;
	}
}

function upsert(state: ChatState, message: Message): ChatState {
	const known = Boolean(state.byId[message.id]);
	return {
		...state,
		byId: { ...state.byId, [message.id]: message },
		order: known ? state.order : [...state.order, message.id],
	};
}

/** A new variant is shown as soon as it starts arriving. */
function showNewest(state: ChatState, replyTo: string | null): ChatState {
	if (!replyTo || !(replyTo in state.selected)) return state;
	return { ...state, selected: without(state.selected, replyTo) };
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
	const copy = { ...record };
	delete copy[key];
	return copy;
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

/** The rows to render: user messages, and each reply group at the place of its first variant. */
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
			const group = groups.get(m.reply_to);
			if (group) group.push(m);
			else {
				const variants = [m];
				groups.set(m.reply_to, variants);
				items.push({ kind: "ai", replyTo: m.reply_to, variants, index: 0 });
			}
		}
	}
	for (const item of items) {
		if (item.kind !== "ai" || item.replyTo === null) continue;
		item.variants.sort((a, b) => a.variant - b.variant);
		const chosen = state.selected[item.replyTo];
		item.index = chosen === undefined ? item.variants.length - 1 : Math.min(chosen, item.variants.length - 1);
	}
	return items;
}
