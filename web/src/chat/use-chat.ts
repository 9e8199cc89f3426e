/**
 * One live conversation: loads the history of a session being continued, keeps the socket connected (resuming after
 * the last message shown), and turns frames into state. Errors that belong to no message become toasts. An expired
 * token or a disabled account ends the login, with a notice; other stops are shown in the conversation. Without a
 * character it is a room's (joined by its session): its presence, typing and changes go to `onRoomFrame`, and a
 * removal from it to `onRemoved`.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, DISABLED_NOTICE, expireSession, waitText, wsTicket, type HistoryPage } from "../api";
import { toast } from "../toast";
import { routeGreeting, routePersona } from "../router";
import { ChatConnection, type ConnectionStatus, type StopReason } from "./connection";
import { PendingEdits } from "./edits";
import type {
	ErrorFrame,
	PresenceFrame,
	RoomChangedFrame,
	RoomMessageFrame,
	ServerFrame,
	TypingFrame,
} from "../../../src/domain/chat-frames";
import {
	chatReducer,
	emptyChat,
	errorSentence,
	lastShownId,
	missedChanges,
	replyFailure,
	type ChatAction,
	type ChatState,
} from "./state";

const PAGE_SIZE = 50;

export interface ChatCallbacks {
	/** The server named the session (a new chat got its id). */
	onSession: (sessionId: string) => void;
	/** A reply was completed, or a message edited or rewound: the session list's titles and times are stale. */
	onChange: () => void;
	/** The session is gone (deleted elsewhere). */
	onMissing: () => void;
	/** In a room: who is there, who types, that the room changed, and other people's messages. */
	onRoomFrame?: (frame: PresenceFrame | TypingFrame | RoomChangedFrame | RoomMessageFrame) => void;
	/** In a room: the owner removed you (the socket was closed and will not reconnect). */
	onRemoved?: () => void;
}

/** The room frames `onRoomFrame` is given. */
const ROOM_FRAMES = new Set<ServerFrame["type"]>(["presence", "typing", "room.changed", "message"]);

/** `characterId` undefined: the room `initialSessionId`. */
export function useChat(
	characterId: string | undefined,
	initialSessionId: string | undefined,
	callbacks: ChatCallbacks,
) {
	// The state lives in a ref as well, so the socket's callbacks always read the latest without re-subscribing.
	const stateRef = useRef<ChatState>(emptyChat);
	const [state, setState] = useState<ChatState>(emptyChat);
	const [status, setStatus] = useState<ConnectionStatus>("connecting");
	const [model, setModel] = useState("");
	/** The session's id once the server named it (a new chat has none before its first connection). */
	const [sessionId, setSessionId] = useState(initialSessionId);
	/** Why the socket stopped reconnecting, when it did and the conversation stays on screen. */
	const [stopped, setStopped] = useState<Exclude<StopReason, "expired" | "disabled" | "removed">>();
	const connection = useRef<ChatConnection | null>(null);
	const edits = useRef(new PendingEdits());
	const cb = useRef(callbacks);
	cb.current = callbacks;

	const dispatch = useCallback((action: ChatAction) => {
		stateRef.current = chatReducer(stateRef.current, action);
		setState(stateRef.current);
	}, []);

	useEffect(() => {
		let live = true;
		const onFrame = (frame: ServerFrame) => {
			if (frame.type === "connection") {
				setModel(frame.model);
				setSessionId(frame.session_id);
				cb.current.onSession(frame.session_id);
			} else if ((frame.type === "ai" && frame.reply_to) || frame.type === "messages.deleted") {
				cb.current.onChange();
			} else if (frame.type === "message.edited") {
				edits.current.edited(frame.id);
				cb.current.onChange();
			} else if (ROOM_FRAMES.has(frame.type)) {
				cb.current.onRoomFrame?.(frame as Parameters<NonNullable<ChatCallbacks["onRoomFrame"]>>[0]);
				if (frame.type === "message") cb.current.onChange();
			} else if (frame.type === "error") {
				edits.current.refused(frame);
				if (frame.code === "rate_limited" || frame.code === "quota_exceeded") toast(waitNotice(frame), "error");
				// A failed reply is shown under its message, with Retry; other errors belong to no message.
				else if (!frame.reply_to || !replyFailure(frame) || stateRef.current.byId[frame.reply_to]?.role === "ai")
					toast(errorSentence(frame), "error");
			}
			receive(frame);
		};
		/**
		 * Frames that arrive while the history is read again wait for it, then apply in order: a change made meanwhile
		 * is neither overwritten by an older page nor applied twice (the page's revision says which it holds).
		 */
		let held: ServerFrame[] | null = null;
		const receive = (frame: ServerFrame) => {
			if (held) return void held.push(frame);
			dispatch({ type: "frame", frame });
			if (frame.type === "connection" && missedChanges(stateRef.current, frame)) void resync(frame.session_id);
		};
		// The socket replays newer messages only: changes in place it missed (while closed, or before it first opened)
		// are read from the history.
		const resync = async (sessionId: string) => {
			const known = [...stateRef.current.order];
			held = [];
			try {
				const page = await api<HistoryPage>(`/sessions/${encodeURIComponent(sessionId)}/messages?limit=${PAGE_SIZE}`);
				if (live) {
					const { messages, has_more: hasMore, revision } = page;
					dispatch({ type: "resync", messages, hasMore, known, revision });
				}
			} catch {
				// The next reconnect tries again; meanwhile the conversation shows what it had.
			} finally {
				const waiting = held ?? [];
				held = null;
				if (live) waiting.forEach(receive);
			}
		};
		const conn = new ChatConnection({
			characterId,
			sessionId: initialSessionId,
			greeting: routeGreeting(),
			personaId: routePersona(),
			ticket: wsTicket,
			lastId: () => lastShownId(stateRef.current),
			onFrame,
			onStatus: (next) => {
				if (next !== "open") edits.current.dropAll();
				setStatus(next);
			},
			onRefused: () => {
				explainRefusal(characterId, conn.sessionId).then(
					(gone) => (gone ? conn.halt("unavailable") : conn.refused()),
					(err) => {
						if (err instanceof ApiError && err.status === 404) cb.current.onMissing();
					},
				);
			},
			onStop: (reason) => {
				if (reason === "expired") expireSession();
				else if (reason === "disabled") expireSession(DISABLED_NOTICE);
				else if (reason === "removed") cb.current.onRemoved?.();
				else setStopped(reason);
			},
		});
		connection.current = conn;

		(async () => {
			if (initialSessionId) {
				try {
					const page = await api<HistoryPage>(
						`/sessions/${encodeURIComponent(initialSessionId)}/messages?limit=${PAGE_SIZE}`,
					);
					if (!live) return;
					const { messages, has_more: hasMore, revision } = page;
					dispatch({ type: "history", messages, hasMore, older: false, revision });
				} catch (err) {
					const status = err instanceof ApiError ? err.status : 0;
					if (live && status === 404) cb.current.onMissing();
					else if (live && status !== 401) toast("Couldn't load this chat's history", "error");
					return;
				}
			}
			if (live) conn.connect();
		})();

		const online = () => conn.retryNow();
		window.addEventListener("online", online);
		return () => {
			live = false;
			window.removeEventListener("online", online);
			conn.close();
		};
	}, [characterId, initialSessionId, dispatch]);

	const send = useCallback(
		(content: string) => {
			const sent = connection.current?.send({ type: "message", content }) ?? false;
			// A room's mode decides whether anyone replies: its replies show as they stream, not as awaited.
			if (sent && characterId) dispatch({ type: "sent" });
			return sent;
		},
		[dispatch, characterId],
	);

	/** In a room: ask `id` to speak next. False when the socket is not open. */
	const trigger = useCallback(
		(id: string) => connection.current?.send({ type: "trigger", character_id: id }) ?? false,
		[],
	);

	/** In a room: tell the others you are typing (the caller keeps to the pace). */
	const typing = useCallback(() => void connection.current?.send({ type: "typing" }), []);

	const stop = useCallback(() => {
		if (connection.current?.send({ type: "stop" })) dispatch({ type: "stop" });
	}, [dispatch]);

	const regenerate = useCallback(
		(replyTo: string) => {
			if (connection.current?.send({ type: "regenerate", reply_to: replyTo }))
				dispatch({ type: "regenerate", replyTo });
		},
		[dispatch],
	);

	/** Makes variant `id` the active reply; the shown one changes when the server says so (on every device). */
	const selectVariant = useCallback(
		(id: string) => connection.current?.send({ type: "select_variant", id }) ?? false,
		[],
	);

	/**
	 * Replaces a message's text; every device shows it on `message.edited`. Resolves false when it was not saved:
	 * refused (the refusal is a toast), or the socket was not open or closed first.
	 */
	const edit = useCallback(async (id: string, content: string): Promise<boolean> => {
		if (connection.current?.send({ type: "edit", id, content })) return edits.current.add(id);
		toast("Not connected: your edit was not saved. Try again once the chat reconnects.", "error");
		return false;
	}, []);

	const continueReply = useCallback(
		(id: string) => {
			if (connection.current?.send({ type: "continue" })) dispatch({ type: "continue", id });
		},
		[dispatch],
	);

	const impersonate = useCallback(() => {
		if (connection.current?.send({ type: "impersonate" })) dispatch({ type: "impersonate" });
	}, [dispatch]);

	/** Deletes a message and every later one (REST); rejects with an ApiError fit to show. */
	const rewind = useCallback(
		async (id: string) => {
			const sessionId = connection.current?.sessionId;
			if (!sessionId) return;
			await api(`/sessions/${encodeURIComponent(sessionId)}/messages/${encodeURIComponent(id)}`, {
				method: "DELETE",
			});
			dispatch({ type: "rewound", id });
		},
		[dispatch],
	);

	/** A new chat holding this one up to and including message `id`; resolves to its session id. */
	const branch = useCallback(async (id: string): Promise<string | undefined> => {
		const sessionId = connection.current?.sessionId;
		if (!sessionId) return undefined;
		const created = await api<{ id: string }>(`/sessions/${encodeURIComponent(sessionId)}/branch`, {
			method: "POST",
			body: { message_id: id },
		});
		return created.id;
	}, []);

	const reconnect = useCallback(() => {
		setStopped(undefined);
		connection.current?.reconnect();
	}, []);

	const loadOlder = useCallback(async () => {
		const sessionId = connection.current?.sessionId;
		const oldest = stateRef.current.order[0];
		if (!sessionId || !oldest) return;
		const page = await api<HistoryPage>(
			`/sessions/${encodeURIComponent(sessionId)}/messages?limit=${PAGE_SIZE}&before=${encodeURIComponent(oldest)}`,
		);
		dispatch({ type: "history", messages: page.messages, hasMore: page.has_more, older: true });
	}, [dispatch]);

	return {
		state,
		status,
		model,
		sessionId,
		stopped,
		send,
		stop,
		regenerate,
		trigger,
		typing,
		selectVariant,
		edit,
		continueReply,
		impersonate,
		rewind,
		branch,
		loadOlder,
		reconnect,
	};
}

/**
 * Browsers don't tell why a handshake was refused. Ask REST instead: a 401 ends the login (api() handles it), true
 * means the character is no longer there for this user, a 404 for the session (a rejection) that the chat is gone,
 * and false that all is well (so the handshake itself is refused: rate limits); a server that does not answer
 * rejects, and is left to the reconnect loop.
 */
async function explainRefusal(characterId: string | undefined, sessionId: string | undefined): Promise<boolean> {
	await api("/me");
	try {
		if (characterId) await api(`/characters/id/${encodeURIComponent(characterId)}`);
	} catch (err) {
		if (err instanceof ApiError && err.status === 404) return true;
		throw err;
	}
	if (sessionId) await api(`/sessions/${encodeURIComponent(sessionId)}/messages?limit=1`);
	return false;
}

/** A refusal to take more messages, and how long until it lifts. */
function waitNotice(frame: ErrorFrame): string {
	const wait = frame.retry_after ? ` — try again in ${waitText(frame.retry_after)}.` : ". Try again shortly.";
	return frame.code === "rate_limited"
		? `You're sending messages too fast${wait}`
		: `You've used up today's message allowance${wait}`;
}
