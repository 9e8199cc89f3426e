/**
 * The characters you can talk to, searchable by name, plus your recent chats and ways to add a character. A card
 * opens your latest chat with that character when there is one (the chat page offers a new one), else a new chat;
 * its "more" button opens the character's page (greetings to start with, card export, and for your own, edit and
 * delete).
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText, type Character, type CharacterDetails, type SessionSummary, type User } from "../api";
import { filled, timeAgo } from "../format";
import { chatHash, navigate, sessionHash } from "../router";
import { Avatar } from "./Avatar";
import { CharacterForm } from "./CharacterForm";
import { CharacterSheet, latestChatWith } from "./CharacterSheet";
import { ChatTitleForm } from "./ChatTitleForm";
import { ImportCard } from "./ImportCard";
import { ModerationBadges } from "./ModerationBadges";
import { NewRoomDialog } from "./NewRoomDialog";
import { EditIcon, MoreIcon, PlusIcon, SearchIcon, UploadIcon, UsersIcon } from "./icons";

/** How many recent chats "Continue" shows. */
const CONTINUE_COUNT = 4;

type Dialog =
	| { kind: "create" }
	| { kind: "import" }
	| { kind: "room" }
	| { kind: "sheet"; character: Character }
	| { kind: "edit"; character: CharacterDetails };

export function Gallery({ user }: { user: User | null }) {
	const [query, setQuery] = useState("");
	const [characters, setCharacters] = useState<Character[] | null>(null);
	const [recent, setRecent] = useState<SessionSummary[]>([]);
	const [error, setError] = useState("");
	const [dialog, setDialog] = useState<Dialog | null>(null);
	const [reload, setReload] = useState(0);

	useEffect(() => {
		let live = true;
		// Wait for a pause in typing before searching.
		const timer = window.setTimeout(
			() => {
				api<Character[]>(`/characters?limit=100${query.trim() ? `&q=${encodeURIComponent(query.trim())}` : ""}`)
					.then((list) => {
						if (!live) return;
						setCharacters(list);
						setError("");
					})
					.catch((err) => {
						if (live) setError(errorText(err));
					});
			},
			query ? 200 : 0,
		);
		return () => {
			live = false;
			window.clearTimeout(timer);
		};
	}, [query, reload]);

	useEffect(() => {
		api<SessionSummary[]>("/sessions?limit=100")
			.then(setRecent)
			.catch(() => undefined);
	}, [reload]);

	// Sessions come newest first, so the first one seen per character is its latest chat (a room is no one's).
	const latestChat = useMemo(() => {
		const latest = new Map<string, string>();
		for (const s of recent) if (!s.reply_mode && !latest.has(s.character_id)) latest.set(s.character_id, s.id);
		return latest;
	}, [recent]);
	// Rooms have a section of their own.
	const continuable = recent.filter((s) => !s.reply_mode).slice(0, CONTINUE_COUNT);
	const rooms = recent.filter((s) => s.reply_mode);

	function changed() {
		setDialog(null);
		setReload((n) => n + 1);
	}

	/** Opens the character's latest chat, asking the server for it when it is older than the chats listed here. */
	function open(e: MouseEvent, c: Character) {
		if (latestChat.has(c.id) || e.metaKey || e.ctrlKey || e.shiftKey) return;
		e.preventDefault();
		latestChatWith(c.id).then(
			(latest) => navigate(chatHash(c.id, latest?.id)),
			() => navigate(chatHash(c.id)),
		);
	}

	return (
		<main class="page gallery">
			<section class="gallery-intro">
				<div>
					<h1>{user ? `Hello, ${user.name.split(" ")[0]}` : "Characters"}</h1>
					<p class="muted">Pick someone to talk to, or bring your own character.</p>
				</div>
				<div class="actions">
					<button type="button" class="button" onClick={() => setDialog({ kind: "import" })}>
						<UploadIcon /> Import card
					</button>
					<button
						type="button"
						class="button"
						disabled={!characters || characters.length < 2}
						onClick={() => setDialog({ kind: "room" })}
					>
						<UsersIcon /> New room
					</button>
					<button type="button" class="button primary" onClick={() => setDialog({ kind: "create" })}>
						<PlusIcon /> New character
					</button>
				</div>
			</section>

			{continuable.length > 0 && (
				<section aria-labelledby="recent-title" class="recent">
					<h2 id="recent-title" class="section-title">
						Continue
					</h2>
					<ul class="recent-list">
						{continuable.map((s) => (
							<RecentChat
								key={s.id}
								session={s}
								user={user}
								character={characters?.find((c) => c.id === s.character_id)}
								onRenamed={(renamed) => setRecent((list) => list.map((x) => (x.id === renamed.id ? renamed : x)))}
							/>
						))}
					</ul>
				</section>
			)}

			{rooms.length > 0 && (
				<section aria-labelledby="rooms-title" class="recent">
					<h2 id="rooms-title" class="section-title">
						Rooms
					</h2>
					<ul class="recent-list" aria-label="Your rooms">
						{rooms.map((s) => (
							<RecentChat
								key={s.id}
								session={s}
								user={user}
								onRenamed={(renamed) => setRecent((list) => list.map((x) => (x.id === renamed.id ? renamed : x)))}
							/>
						))}
					</ul>
				</section>
			)}

			<section aria-labelledby="characters-title">
				<div class="section-head">
					<h2 id="characters-title" class="section-title">
						Characters
					</h2>
					<label class="search">
						<SearchIcon />
						<input
							type="search"
							placeholder="Search by name"
							aria-label="Search characters by name"
							value={query}
							onInput={(e) => setQuery(e.currentTarget.value)}
						/>
					</label>
				</div>
				{error && <p class="form-error">{error}</p>}
				{characters && characters.length === 0 && <p class="empty">No characters match “{query}”.</p>}
				<ul class="grid">
					{characters?.map((c) => (
						<li key={c.id} class="grid-item">
							<a
								class="character-card"
								href={chatHash(c.id, latestChat.get(c.id))}
								aria-label={`Chat with ${c.name}`}
								onClick={(e) => open(e, c)}
							>
								<Avatar name={c.name} size="lg" character={c} />
								<span class="character-body">
									<span class="character-name">
										<span class="character-name-text">{c.name}</span>
										{!c.is_public && <span class="badge">Private</span>}
										{c.is_public && user && c.created_by === user.id && <span class="badge">Yours</span>}
										<ModerationBadges character={c} />
									</span>
									<span class="character-description">
										{c.description ? filled(c.description, c.name, user) : "No description yet."}
									</span>
								</span>
							</a>
							<button
								type="button"
								class="icon-button card-more"
								aria-label={`More about ${c.name}`}
								onClick={() => setDialog({ kind: "sheet", character: c })}
							>
								<MoreIcon />
							</button>
						</li>
					))}
				</ul>
			</section>

			{dialog?.kind === "create" && <CharacterForm onClose={() => setDialog(null)} onSaved={changed} />}
			{dialog?.kind === "edit" && (
				<CharacterForm character={dialog.character} onClose={() => setDialog(null)} onSaved={changed} />
			)}
			{dialog?.kind === "import" && <ImportCard onClose={() => setDialog(null)} onImported={changed} />}
			{dialog?.kind === "room" && characters && (
				<NewRoomDialog characters={characters} onClose={() => setDialog(null)} />
			)}
			{dialog?.kind === "sheet" && (
				<CharacterSheet
					character={dialog.character}
					user={user}
					onClose={() => setDialog(null)}
					onEdit={(character) => setDialog({ kind: "edit", character })}
					onDeleted={changed}
				/>
			)}
		</main>
	);
}

/** One of your recent chats: its title and last line, and a way to rename it. */
function RecentChat({
	session,
	user,
	character,
	onRenamed,
}: {
	session: SessionSummary;
	user: User | null;
	character?: Character;
	onRenamed: (renamed: SessionSummary) => void;
}) {
	const [renaming, setRenaming] = useState(false);
	if (renaming) {
		return (
			<li class="recent-item renaming">
				<ChatTitleForm
					session={session}
					onDone={(renamed) => {
						setRenaming(false);
						if (renamed) onRenamed(renamed);
					}}
				/>
			</li>
		);
	}
	const last = session.last_message;
	return (
		<li class="recent-item">
			<a class="recent-link" href={sessionHash(session)}>
				{session.reply_mode ? (
					<span class="avatar avatar-sm room-icon" aria-hidden="true">
						<UsersIcon />
					</span>
				) : (
					<Avatar name={session.character_name} size="sm" character={character} />
				)}
				<span class="recent-text">
					<span class="recent-top">
						<strong>{filled(session.title, session.character_name, user)}</strong>
						<time class="muted small">{timeAgo(session.last_message_at ?? session.created_at)}</time>
					</span>
					<span class="muted">
						{last ? `${lastSpeaker(session, last.role)}${filled(last.content, session.character_name, user)}` : ""}
					</span>
				</span>
			</a>
			<button
				type="button"
				class="icon-button tiny recent-rename"
				aria-label={`Rename “${session.title}”`}
				onClick={() => setRenaming(true)}
			>
				<EditIcon />
			</button>
		</li>
	);
}

/** "You: " before your last line in a chat; a room's lines are several people's, so none. */
function lastSpeaker(session: SessionSummary, role: "user" | "ai"): string {
	return role === "user" && !session.reply_mode ? "You: " : "";
}
