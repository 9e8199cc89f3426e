/**
 * The characters you can talk to, searchable by name, plus your recent chats and ways to add a character. A card
 * opens your latest chat with that character when there is one (the chat page offers a new one), else a new chat.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText, type Character, type SessionSummary, type User } from "../api";
import { filled, timeAgo } from "../format";
import { chatHash } from "../router";
import { Avatar } from "./Avatar";
import { CharacterForm } from "./CharacterForm";
import { ImportCard } from "./ImportCard";
import { PlusIcon, SearchIcon, UploadIcon } from "./icons";

/** How many recent chats "Continue" shows. */
const CONTINUE_COUNT = 4;

export function Gallery({ user }: { user: User | null }) {
	const [query, setQuery] = useState("");
	const [characters, setCharacters] = useState<Character[] | null>(null);
	const [recent, setRecent] = useState<SessionSummary[]>([]);
	const [error, setError] = useState("");
	const [dialog, setDialog] = useState<"create" | "import" | null>(null);
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
	}, []);

	// Sessions come newest first, so the first one seen per character is its latest chat.
	const latestChat = useMemo(() => {
		const latest = new Map<string, string>();
		for (const s of recent) if (!latest.has(s.character_id)) latest.set(s.character_id, s.id);
		return latest;
	}, [recent]);
	// GET /sessions lists only chats in which you said something: each one is worth continuing.
	const continuable = recent.slice(0, CONTINUE_COUNT);

	function added() {
		setDialog(null);
		setReload((n) => n + 1);
	}

	return (
		<main class="page gallery">
			<section class="gallery-intro">
				<div>
					<h1>{user ? `Hello, ${user.name.split(" ")[0]}` : "Characters"}</h1>
					<p class="muted">Pick someone to talk to, or bring your own character.</p>
				</div>
				<div class="actions">
					<button type="button" class="button" onClick={() => setDialog("import")}>
						<UploadIcon /> Import card
					</button>
					<button type="button" class="button primary" onClick={() => setDialog("create")}>
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
							<li key={s.id}>
								<a class="recent-item" href={chatHash(s.character_id, s.id)}>
									<Avatar name={s.character_name} size="sm" />
									<span class="recent-text">
										<strong>{s.character_name}</strong>
										<span class="muted">{filled(s.last_message?.content ?? "", s.character_name, user)}</span>
									</span>
									<time class="muted small">{timeAgo(s.last_message_at ?? s.created_at)}</time>
								</a>
							</li>
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
						<li key={c.id}>
							<a class="character-card" href={chatHash(c.id, latestChat.get(c.id))} aria-label={`Chat with ${c.name}`}>
								<Avatar name={c.name} size="lg" character={c} />
								<span class="character-body">
									<span class="character-name">
										{c.name}
										{!c.is_public && <span class="badge">Private</span>}
										{c.is_public && user && c.created_by === user.id && <span class="badge">Yours</span>}
									</span>
									<span class="character-description">
										{c.description ? filled(c.description, c.name, user) : "No description yet."}
									</span>
								</span>
							</a>
						</li>
					))}
				</ul>
			</section>

			{dialog === "create" && <CharacterForm onClose={() => setDialog(null)} onCreated={added} />}
			{dialog === "import" && <ImportCard onClose={() => setDialog(null)} onImported={added} />}
		</main>
	);
}
