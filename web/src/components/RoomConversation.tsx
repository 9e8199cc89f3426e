/**
 * A room's conversation: every line under its speaker (a character of the cast, another person, or you), who is
 * writing or typing now, a button per character to ask them to speak, and the composer (which tells the others you
 * type, every few seconds at most). Continue and "Write for me" are one person's tools, not offered here.
 */
import { useRef } from "preact/hooks";
import { api, errorText, type RoomView, type User } from "../api";
import { castSpeaker, isMine, sameUser, senderName, TypingSignal, typingText, type Typist } from "../chat/room";
import { chatItems, streamingReply } from "../chat/state";
import { useChat, type ChatCallbacks } from "../chat/use-chat";
import { toast } from "../toast";
import { Composer } from "./Composer";
import { StoppedNotice } from "./Conversation";
import { MessageLog, useFollowedLog } from "./MessageLog";
import { MessageRow } from "./MessageRow";
import { usePersonas } from "./PersonaPicker";
import { RoomHeader } from "./RoomHeader";
import { TriggerButtons } from "./TriggerButtons";
import { StopIcon } from "./icons";

type Props = Pick<ChatCallbacks, "onRoomFrame" | "onRemoved" | "onMissing"> & {
	room: RoomView;
	user: User | null;
	typists: Typist[];
	onOpenPeople: () => void;
};

const noop = () => undefined;

export function RoomConversation({ room, user, typists, onOpenPeople, ...callbacks }: Props) {
	const chat = useChat(undefined, room.id, { onSession: noop, onChange: noop, ...callbacks });
	const { state, status } = chat;
	const items = chatItems(state);
	const log = useFollowedLog();
	const signal = useRef(new TypingSignal());
	const personas = usePersonas();
	const mine = room.members.find((m) => sameUser(m.username, user?.username));
	const owner = sameUser(room.owner, user?.username);
	// Who you play here ({{user}} in the cast's lines): your persona in the room, else your name.
	const you = mine?.persona ?? user;
	const writing = streamingReply(state);
	const busy = writing !== undefined || state.pending !== null;
	// People keep talking while a character writes: the composer always sends, and a chip stops the reply.
	const lastItem = items[items.length - 1];
	const canAsk = !busy && status === "open";
	const writer = writing && castSpeaker(room.characters, writing.characterId).name;

	return (
		<main class="conversation room-conversation">
			<RoomHeader
				room={room}
				status={status}
				personas={personas}
				persona={mine?.persona ?? null}
				onSwitchPersona={(p) =>
					api(`/sessions/${encodeURIComponent(room.id)}`, { method: "PATCH", body: { persona_id: p.id } }).then(
						() => toast(`You are now ${p.name} in this room`),
						(err) => toast(errorText(err), "error"),
					)
				}
				onOpenPeople={onOpenPeople}
			/>
			<MessageLog
				log={log}
				label={`Conversation in ${room.title}`}
				hasMore={state.hasMore}
				onLoadOlder={chat.loadOlder}
			>
				{items.map((item) => {
					const m = item.kind === "user" ? item.message : item.variants[item.index];
					const theirs = item.kind === "user" && !isMine(m, user?.username);
					return (
						<MessageRow
							key={item.kind === "user" ? m.id : `${item.replyTo ?? m.id} ${m.characterId ?? ""}`}
							item={item}
							character={castSpeaker(room.characters, item.kind === "ai" ? m.characterId : undefined)}
							sender={theirs ? senderName(m, room.members) : undefined}
							inRoom
							steer={owner}
							you={you}
							pinned={false}
							canRegenerate={item === lastItem && item.kind === "ai" && item.replyTo !== null && canAsk}
							canRetry={false}
							canAskReply={false}
							onRegenerate={chat.regenerate}
							onSelectVariant={(id) => {
								if (!chat.selectVariant(id)) toast("Not connected: try again once the chat reconnects.", "error");
							}}
							onEdit={chat.edit}
							onRewind={chat.rewind}
							onBranch={async () => undefined}
							onTogglePin={async () => undefined}
							onInspect={noop}
						/>
					);
				})}
			</MessageLog>

			<div class="typing-bar">
				<div class="typing" aria-live="polite">
					{(writer || typists.length > 0) && (
						<>
							<span class="dots" aria-hidden="true">
								<i />
								<i />
								<i />
							</span>
							{writer ? `${writer} is typing…` : typingText(typists.map((t) => t.name))}
						</>
					)}
				</div>
				{busy && (
					<button type="button" class="chip" onClick={chat.stop}>
						<StopIcon /> Stop
					</button>
				)}
			</div>
			<TriggerButtons
				characters={room.characters}
				disabled={status !== "open"}
				onTrigger={(id) => {
					log.stick.current = true;
					if (!chat.trigger(id)) toast("Not connected: try again once the room reconnects.", "error");
				}}
			/>

			{chat.stopped && <StoppedNotice reason={chat.stopped} characterName={room.title} onReconnect={chat.reconnect} />}

			<Composer
				label="Message the room"
				disabled={status !== "open"}
				generating={false}
				impersonation={null}
				onSend={(text) => {
					log.stick.current = true;
					signal.current.reset();
					return chat.send(text);
				}}
				onStop={chat.stop}
				onTyping={() => signal.current.due(Date.now()) && chat.typing()}
			/>
		</main>
	);
}
