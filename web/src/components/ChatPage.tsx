/**
 * A character's page: its chats in a sidebar (a drawer on phones), newest first, each by its title (yours, or the
 * character and your first line; renamed in place), and the open conversation. The conversation is
 * keyed by the navigation, so switching chats starts a fresh socket and state.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, errorText, type Character, type SessionSummary, type User } from "../api";
import { filled, timeAgo } from "../format";
import { chatHash, navigate, replaceHash, sessionHash } from "../router";
import { toast } from "../toast";
import { Avatar } from "./Avatar";
import { ChatTitleForm } from "./ChatTitleForm";
import { ChatError, ChatLayout } from "./ChatLayout";
import { Conversation } from "./Conversation";
import { NewChatButton } from "./GreetingPicker";
import { ChatTransferDialog } from "./ChatTransfer";
import { BranchIcon, DownloadIcon, EditIcon, TrashIcon } from "./icons";

export function ChatPage({
	characterId,
	sessionId,
	visit,
	user,
}: {
	characterId: string;
	sessionId?: string;
	visit: number;
	user: User | null;
}) {
	const [character, setCharacter] = useState<Character | null>(null);
	const [error, setError] = useState("");
	const [sessions, setSessions] = useState<SessionSummary[]>([]);
	const [current, setCurrent] = useState(sessionId);
	const [drawer, setDrawer] = useState(false);
	const refreshTimer = useRef<number>();

	useEffect(() => {
		api<Character>(`/characters/id/${encodeURIComponent(characterId)}`)
			.then(setCharacter)
			.catch((err) => setError(errorText(err)));
	}, [characterId]);

	const loadSessions = useCallback(() => {
		api<SessionSummary[]>(`/sessions?limit=100&character_id=${encodeURIComponent(characterId)}`)
			.then(setSessions)
			.catch(() => undefined);
	}, [characterId]);

	useEffect(() => {
		loadSessions();
		return () => window.clearTimeout(refreshTimer.current);
	}, [loadSessions]);

	useEffect(() => {
		setCurrent(sessionId);
		setDrawer(false);
	}, [sessionId, visit]);

	const onSession = useCallback(
		(id: string) => {
			setCurrent(id);
			replaceHash(chatHash(characterId, id));
			loadSessions();
		},
		[characterId, loadSessions],
	);

	// Replies come in bursts (replays): refresh the list once they settle.
	const onChange = useCallback(() => {
		window.clearTimeout(refreshTimer.current);
		refreshTimer.current = window.setTimeout(loadSessions, 400);
	}, [loadSessions]);

	const onMissing = useCallback(() => {
		toast("That chat no longer exists; here is a new one.");
		navigate(chatHash(characterId));
	}, [characterId]);

	async function remove(id: string) {
		try {
			await api(`/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
			setSessions((list) => list.filter((s) => s.id !== id));
			if (id === current) navigate(chatHash(characterId));
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	if (error) return <ChatError error={error} />;

	return (
		<ChatLayout
			sidebarLabel={`Chats with ${character?.name ?? "this character"}`}
			sidebarTitle="Chats"
			closeLabel="Close chat list"
			drawer={drawer}
			onCloseDrawer={() => setDrawer(false)}
			sidebar={
				<>
					{character && (
						<div class="sidebar-character">
							<Avatar name={character.name} size="lg" character={character} />
							<strong>{character.name}</strong>
							{character.description && (
								<p class="muted small">{filled(character.description, character.name, user)}</p>
							)}
						</div>
					)}
					<NewChatButton characterId={characterId} user={user} />
					<ul class="session-list" aria-label="Chat sessions">
						{sessions.map((s) => (
							<SessionItem
								key={s.id}
								session={s}
								user={user}
								active={s.id === current}
								onRenamed={(renamed) => setSessions((list) => list.map((t) => (t.id === renamed.id ? renamed : t)))}
								onDelete={() => void remove(s.id)}
							/>
						))}
					</ul>
				</>
			}
		>
			{character && (
				<Conversation
					key={visit}
					character={character}
					user={user}
					sessionId={sessionId}
					onSession={onSession}
					onChange={onChange}
					onMissing={onMissing}
					onOpenSessions={() => setDrawer(true)}
				/>
			)}
		</ChatLayout>
	);
}

function SessionItem({
	session,
	user,
	active,
	onRenamed,
	onDelete,
}: {
	session: SessionSummary;
	user: User | null;
	active: boolean;
	onRenamed: (renamed: SessionSummary) => void;
	onDelete: () => void;
}) {
	const [mode, setMode] = useState<"show" | "rename" | "confirm" | "transfer">("show");
	const when = session.last_message_at ?? session.created_at;
	if (mode === "rename") {
		return (
			<li class="session active session-rename">
				<ChatTitleForm
					session={session}
					onDone={(renamed) => {
						setMode("show");
						if (renamed) onRenamed(renamed);
					}}
				/>
			</li>
		);
	}
	return (
		<li class={active ? "session active" : "session"}>
			{mode === "confirm" ? (
				<div class="session-confirm">
					<span>Delete this chat?</span>
					<button type="button" class="button danger small" onClick={onDelete}>
						Delete
					</button>
					<button type="button" class="button ghost small" onClick={() => setMode("show")}>
						Cancel
					</button>
				</div>
			) : (
				<>
					<a class="session-link" href={sessionHash(session)} aria-current={active ? "page" : undefined}>
						<span class="session-title">
							{session.branched_from && (
								<span class="branched" title="Branched from another chat">
									<BranchIcon />
								</span>
							)}
							<span class="session-name">{filled(listedTitle(session), session.character_name, user)}</span>
						</span>
						<time class="muted small" dateTime={when}>
							{timeAgo(when)}
						</time>
					</a>
					<span class="session-actions">
						<button
							type="button"
							class="icon-button session-action"
							aria-label="Export or import chat"
							onClick={() => setMode("transfer")}
						>
							<DownloadIcon />
						</button>
						<button
							type="button"
							class="icon-button session-action"
							aria-label="Rename chat"
							onClick={() => setMode("rename")}
						>
							<EditIcon />
						</button>
						<button
							type="button"
							class="icon-button session-action"
							aria-label="Delete chat"
							onClick={() => setMode("confirm")}
						>
							<TrashIcon />
						</button>
					</span>
					{mode === "transfer" && <ChatTransferDialog session={session} onClose={() => setMode("show")} />}
				</>
			)}
		</li>
	);
}

/** The title as this character's list shows it: without the character's name a default title starts with. */
function listedTitle(session: SessionSummary): string {
	const prefix = `${session.character_name} — `;
	return session.title.startsWith(prefix) ? session.title.slice(prefix.length) : session.title;
}
