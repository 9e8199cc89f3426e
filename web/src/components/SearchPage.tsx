/**
 * Search over your chats and the rooms you are in (GET /search): the hits best first, each with where it was said
 * and its snippet, the matched words marked. The snippet is text from the server with ranges to mark, rendered as text
 * nodes, so nothing a message says is ever read as markup. A hit opens its chat or room at that message.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { timeAgo } from "../format";
import { messageHash, navigate, searchHash } from "../router";
import {
	highlightParts,
	SEARCH_QUERY_MAX_CHARS,
	type SearchHit,
	type SearchPage as Page,
} from "../../../src/domain/search.js";
import { SearchIcon } from "./icons";

const PAGE_SIZE = 20;

/** The search box: submitting it shows the search page for its text. */
export function SearchBox({ initial = "" }: { initial?: string }) {
	return (
		<form
			class="search-box"
			role="search"
			onSubmit={(e) => {
				e.preventDefault();
				const q = String(new FormData(e.currentTarget).get("q") ?? "").trim();
				if (q) navigate(searchHash(q));
			}}
		>
			<SearchIcon />
			<input
				type="search"
				name="q"
				placeholder="Search your chats"
				aria-label="Search your chats"
				maxLength={SEARCH_QUERY_MAX_CHARS}
				defaultValue={initial}
				key={initial}
			/>
		</form>
	);
}

export function SearchPage({ q }: { q: string }) {
	const [hits, setHits] = useState<SearchHit[] | null>(null);
	const [next, setNext] = useState<string | null>(null);
	const [error, setError] = useState("");
	const [loading, setLoading] = useState(false);

	async function read(before: string | null) {
		const params = new URLSearchParams({ q, limit: String(PAGE_SIZE) });
		if (before) params.set("before", before);
		return api<Page>(`/search?${params}`);
	}

	useEffect(() => {
		let live = true;
		setHits(null);
		setError("");
		if (!q.trim()) return setHits([]);
		read(null).then(
			(page) => {
				if (!live) return;
				setHits(page.hits);
				setNext(page.next_before);
			},
			(err) => live && setError(errorText(err)),
		);
		return () => {
			live = false;
		};
	}, [q]);

	async function more() {
		setLoading(true);
		try {
			const page = await read(next);
			setHits((shown) => [...(shown ?? []), ...page.hits]);
			setNext(page.next_before);
		} catch (err) {
			setError(errorText(err));
		} finally {
			setLoading(false);
		}
	}

	return (
		<main class="page search-page">
			<h1>Search your chats</h1>
			<SearchBox initial={q} />
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			{hits === null && !error && <p class="muted">Searching…</p>}
			{hits?.length === 0 && q.trim() && <p class="muted">Nothing you wrote or read says “{q}”.</p>}
			{hits && hits.length > 0 && (
				<ol class="search-hits" aria-label="Search results">
					{hits.map((hit) => (
						<li key={hit.message_id}>
							<a class="search-hit" href={messageHash(hit)}>
								<span class="search-hit-where">
									{hit.session_title ?? hit.character_name}
									{" · "}
									{hit.role === "ai" ? hit.character_name : hit.reply_mode ? "a person" : "you"}
									{" · "}
									{timeAgo(String(hit.timestamp))}
								</span>
								<span class="search-hit-snippet">
									{highlightParts(hit).map((part, i) => (part.mark ? <mark key={i}>{part.text}</mark> : part.text))}
								</span>
							</a>
						</li>
					))}
				</ol>
			)}
			{next && (
				<button type="button" class="button ghost" disabled={loading} onClick={() => void more()}>
					More results
				</button>
			)}
		</main>
	);
}
