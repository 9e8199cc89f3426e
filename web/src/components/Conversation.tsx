/** The open chat: header, messages (replies stream in live), the typing line and the composer. */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Character, User } from "../api";
import { chatItems } from "../chat/state";
import type { ConnectionStatus, StopReason } from "../chat/connection";
import { useChat, type ChatCallbacks } from "../chat/use-chat";
import { toast } from "../toast";
import { Avatar } from "./Avatar";
import { MessageRow } from "./MessageRow";
import { BackIcon, HistoryIcon, SendIcon, StopIcon } from "./icons";

interface Props extends ChatCallbacks {
	character: Character;
	user: User | null;
	sessionId?: string;
	onOpenSessions: () => void;
}

export function Conversation({ character, user, sessionId, onOpenSessions, ...callbacks }: Props) {
	const chat = useChat(character.id, sessionId, callbacks);
	const { state, status } = chat;
	const items = chatItems(state);
	const list = useRef<HTMLDivElement>(null);
	const stickToBottom = useRef(true);
	const generating = state.pending !== null;
	const lastItem = items[items.length - 1];
	const lastUserItem = items.findLast((item) => item.kind === "user");
	const canAsk = !generating && status === "open";

	// Follow new text while the reader is at the bottom; leave them alone when they scrolled up to read.
	useLayoutEffect(() => {
		const el = list.current;
		if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
	});

	// A resize (a phone's keyboard opening) shortens the list without a scroll of the reader's: keep the newest
	// message in view if they were at the bottom before it.
	useEffect(() => {
		const el = list.current;
		if (!el) return;
		const observer = new ResizeObserver(() => {
			if (stickToBottom.current) el.scrollTop = el.scrollHeight;
		});
		observer.observe(el);
		return () => observer.disconnect();
	}, []);

	return (
		<main class="conversation">
			<header class="chat-header">
				<a class="icon-button only-phone" href="#/" aria-label="Back to characters">
					<BackIcon />
				</a>
				<Avatar name={character.name} />
				<div class="chat-title">
					<h1>{character.name}</h1>
					<span class={`presence presence-${status}`}>{presence(status, chat.model)}</span>
				</div>
				<button type="button" class="icon-button only-phone" aria-label="Show chats" onClick={onOpenSessions}>
					<HistoryIcon />
				</button>
			</header>

			<div
				class="messages"
				ref={list}
				role="log"
				aria-label={`Conversation with ${character.name}`}
				onScroll={(e) => {
					const el = e.currentTarget;
					stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
				}}
			>
				{state.hasMore && (
					<button
						type="button"
						class="button ghost small load-older"
						onClick={() => chat.loadOlder().catch(() => toast("Couldn't load older messages", "error"))}
					>
						Load earlier messages
					</button>
				)}
				{items.map((item) => (
					<MessageRow
						key={item.kind === "user" ? item.message.id : (item.replyTo ?? item.variants[0].id)}
						item={item}
						characterName={character.name}
						user={user}
						canRegenerate={item === lastItem && item.kind === "ai" && item.replyTo !== null && canAsk}
						// Only the reply to the last message can be made again.
						canRetry={item === lastUserItem && canAsk}
						onRegenerate={chat.regenerate}
						onSelect={chat.select}
					/>
				))}
			</div>

			<div class="typing" aria-live="polite">
				{generating && (
					<>
						<span class="dots" aria-hidden="true">
							<i />
							<i />
							<i />
						</span>
						{character.name} is typing…
					</>
				)}
			</div>

			{chat.stopped && (
				<StoppedNotice reason={chat.stopped} characterName={character.name} onReconnect={chat.reconnect} />
			)}

			<Composer
				characterName={character.name}
				disabled={status !== "open"}
				generating={generating}
				onSend={(text) => {
					stickToBottom.current = true;
					return chat.send(text);
				}}
				onStop={chat.stop}
			/>
		</main>
	);
}

function presence(status: ConnectionStatus, model: string): string {
	if (status === "open") return model === "offline" ? "Online · offline model" : "Online";
	if (status === "stopped") return "Disconnected";
	return status === "connecting" ? "Connecting…" : "Reconnecting…";
}

const STOP_TEXT: Record<Exclude<StopReason, "expired" | "disabled">, (name: string) => string> = {
	unavailable: (name) => `${name} is no longer available.`,
	over_limits: () => "Disconnected: too many messages in a short time. Wait a moment, then reconnect.",
	refused: () => "Can't connect to this chat right now.",
};

/** Why the chat stopped reconnecting, and the way on: back to the gallery, or Reconnect. */
function StoppedNotice(props: { reason: keyof typeof STOP_TEXT; characterName: string; onReconnect: () => void }) {
	return (
		<div class="notice chat-stopped" role="alert">
			<span>{STOP_TEXT[props.reason](props.characterName)}</span>
			{props.reason === "unavailable" ? (
				<a href="#/">Back to characters</a>
			) : (
				<button type="button" class="button small" onClick={props.onReconnect}>
					Reconnect
				</button>
			)}
		</div>
	);
}

function Composer(props: {
	characterName: string;
	disabled: boolean;
	generating: boolean;
	onSend: (text: string) => boolean;
	onStop: () => void;
}) {
	const [text, setText] = useState("");
	const input = useRef<HTMLTextAreaElement>(null);

	// Grow with the text up to a few lines, then scroll.
	useEffect(() => {
		const el = input.current;
		if (!el) return;
		el.style.height = "auto";
		el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
	}, [text]);

	function submit() {
		const content = text.trim();
		if (!content || props.disabled) return;
		if (props.onSend(content)) setText("");
	}

	return (
		<form
			class="composer"
			onSubmit={(e) => {
				e.preventDefault();
				submit();
			}}
		>
			<textarea
				ref={input}
				rows={1}
				value={text}
				maxLength={4000}
				placeholder={`Message ${props.characterName}`}
				aria-label={`Message ${props.characterName}`}
				onInput={(e) => setText(e.currentTarget.value)}
				onKeyDown={(e) => {
					// Enter sends, Shift+Enter starts a new line; never while an input method is composing.
					if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
						e.preventDefault();
						submit();
					}
				}}
			/>
			{props.generating ? (
				<button type="button" class="send stop" aria-label="Stop generating" onClick={props.onStop}>
					<StopIcon />
				</button>
			) : (
				<button type="submit" class="send" aria-label="Send message" disabled={props.disabled || !text.trim()}>
					<SendIcon />
				</button>
			)}
		</form>
	);
}
