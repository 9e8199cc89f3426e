/**
 * The open chat: header (who you play in it, its memory), messages (replies stream in live, each with its actions),
 * the typing line with the story controls (continue the last reply, have your next line written for you) and the
 * composer.
 */
import { useState } from "preact/hooks";
import { errorText, type Character, type User } from "../api";
import { chatItems } from "../chat/state";
import type { ConnectionStatus, StopReason } from "../chat/connection";
import { useChat, type ChatCallbacks } from "../chat/use-chat";
import { useMemory } from "../chat/use-memory";
import { filled } from "../format";
import { chatHash, navigate } from "../router";
import { toast } from "../toast";
import { MemoryPanel } from "./MemoryPanel";
import { MessageLog, useFollowedLog } from "./MessageLog";
import { MessageRow } from "./MessageRow";
import { ChatHeader } from "./ChatHeader";
import { usePersonas } from "./PersonaPicker";
import { PromptInspector } from "./PromptInspector";
import { Composer } from "./Composer";
import { ContinueIcon, QuillIcon } from "./icons";

interface Props extends ChatCallbacks {
	character: Character;
	user: User | null;
	sessionId?: string;
	onOpenSessions: () => void;
}

export function Conversation({ character, user, sessionId, onOpenSessions, ...callbacks }: Props) {
	const chat = useChat(character.id, sessionId, callbacks);
	const { state, status } = chat;
	const memory = useMemory(chat.sessionId);
	const personas = usePersonas();
	const [panel, setPanel] = useState<{ kind: "memory" } | { kind: "inspect"; replyId: string } | null>(null);
	// Who you play: the session's persona, else (a new chat, before it is read) your display name.
	const you = memory.settings?.persona ?? user;
	const pinned = memory.memory?.pinned ?? [];
	const items = chatItems(state);
	const log = useFollowedLog();
	const generating = state.pending !== null;
	const lastItem = items[items.length - 1];
	const lastUserItem = items.findLast((item) => item.kind === "user");
	const canAsk = !generating && status === "open";
	const impersonating = state.impersonation !== null && !state.impersonation.done;
	// The reply shown last (a reply or the greeting) is the one a continue extends.
	const lastReply = lastItem?.kind === "ai" ? lastItem.variants[lastItem.index] : undefined;
	const canContinue = canAsk && !impersonating && lastReply !== undefined && !lastReply.streaming;

	return (
		<main class="conversation">
			<ChatHeader
				character={character}
				presence={presence(status, chat.model)}
				status={status}
				personas={personas}
				persona={memory.settings?.persona ?? null}
				onSwitchPersona={(p) =>
					memory.patchSession({ persona_id: p.id }).then(
						() => toast(`You are now ${p.name} in this chat`),
						(err) => toast(errorText(err), "error"),
					)
				}
				// Read again first: replies since it was read may have folded more into the summary.
				onOpenMemory={
					memory.memory
						? () =>
								void memory
									.reloadMemory()
									.catch(() => undefined)
									.then(() => setPanel({ kind: "memory" }))
						: undefined
				}
				onOpenSessions={onOpenSessions}
			/>

			<MessageLog
				log={log}
				label={`Conversation with ${character.name}`}
				hasMore={state.hasMore}
				onLoadOlder={chat.loadOlder}
			>
				{items.map((item) => (
					<MessageRow
						key={item.kind === "user" ? item.message.id : (item.replyTo ?? item.variants[0].id)}
						item={item}
						character={character}
						you={you}
						pinned={pinned.includes(item.kind === "user" ? item.message.id : item.variants[item.index].id)}
						canRegenerate={item === lastItem && item.kind === "ai" && item.replyTo !== null && canAsk}
						// Only the reply to the last message can be made again.
						canRetry={item === lastUserItem && canAsk}
						canAskReply={item === lastItem && item.kind === "user" && canAsk}
						onRegenerate={chat.regenerate}
						onSelectVariant={(id) => {
							if (!chat.selectVariant(id)) toast("Not connected: try again once the chat reconnects.", "error");
						}}
						onEdit={chat.edit}
						onRewind={chat.rewind}
						onBranch={async (id) => {
							const branched = await chat.branch(id);
							if (branched) navigate(chatHash(character.id, branched));
						}}
						onTogglePin={memory.togglePin}
						onInspect={(replyId) => setPanel({ kind: "inspect", replyId })}
					/>
				))}
			</MessageLog>

			<div class="typing-bar">
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
				<div class="story-controls" role="group" aria-label="Story controls">
					<button
						type="button"
						class="chip"
						title={`Have ${character.name} keep going from the last reply`}
						disabled={!canContinue}
						onClick={() => lastReply && chat.continueReply(lastReply.id)}
					>
						<ContinueIcon /> Continue
					</button>
					<button
						type="button"
						class="chip"
						title="Have your next line written for you, to edit before sending"
						disabled={!canAsk || impersonating}
						onClick={chat.impersonate}
					>
						<QuillIcon /> Write for me
					</button>
				</div>
			</div>

			{chat.stopped && (
				<StoppedNotice reason={chat.stopped} characterName={character.name} onReconnect={chat.reconnect} />
			)}

			{panel?.kind === "memory" && memory.memory && (
				<MemoryPanel
					memory={memory.memory}
					lorebookIds={memory.settings?.lorebook_ids ?? []}
					lineOf={(id) => {
						const m = state.byId[id];
						if (!m) return undefined;
						const author = m.role === "user" ? (you?.name ?? "You") : character.name;
						return { author, text: filled(m.content, character.name, you) };
					}}
					onSaveSummary={(summary) => memory.patchMemory({ summary })}
					onUnpin={memory.togglePin}
					onSaveLorebooks={(ids) => memory.patchSession({ lorebook_ids: ids })}
					onClose={() => setPanel(null)}
				/>
			)}
			{panel?.kind === "inspect" && chat.sessionId && (
				<PromptInspector sessionId={chat.sessionId} replyId={panel.replyId} onClose={() => setPanel(null)} />
			)}

			<Composer
				label={`Message ${character.name}`}
				disabled={status !== "open"}
				generating={generating}
				impersonation={state.impersonation}
				onSend={(text) => {
					log.stick.current = true;
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

const STOP_TEXT: Record<Exclude<StopReason, "expired" | "disabled" | "removed">, (name: string) => string> = {
	unavailable: (name) => `${name} is no longer available.`,
	over_limits: () => "Disconnected: too many messages in a short time. Wait a moment, then reconnect.",
	refused: () => "Can't connect to this chat right now.",
};

/** Why the chat stopped reconnecting, and the way on: back to the gallery, or Reconnect. */
export function StoppedNotice(props: {
	reason: keyof typeof STOP_TEXT;
	characterName: string;
	onReconnect: () => void;
}) {
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
