/** Who is logged in, and which screen the address shows. Without a token (or once it expires) that is the login. */
import { useEffect, useState } from "preact/hooks";
import { api, getToken, logOut as endLogin, onSessionExpired, type User } from "../api";
import { navigate, useRoute, type Route } from "../router";
import { Toaster } from "../toast";
import { AccountPage } from "./AccountPage";
import { AdminPage } from "./AdminPage";
import { AuthPage } from "./AuthPage";
import { ChatPage } from "./ChatPage";
import { Gallery } from "./Gallery";
import { InvitePage } from "./InvitePage";
import { LorebookEditor } from "./LorebookEditor";
import { LorebooksPage } from "./LorebooksPage";
import { PersonasPage } from "./PersonasPage";
import { RoomPage } from "./RoomPage";
import { SearchBox, SearchPage } from "./SearchPage";

const EXPIRED_NOTICE = "Your session expired, please log in again";

export function App() {
	const { route, visit } = useRoute();
	const [loggedIn, setLoggedIn] = useState(() => Boolean(getToken()));
	const [notice, setNotice] = useState<string>();
	const [user, setUser] = useState<User | null>(null);

	useEffect(() => {
		onSessionExpired((reason) => {
			setUser(null);
			setLoggedIn(false);
			setNotice(reason ?? EXPIRED_NOTICE);
		});
	}, []);

	useEffect(() => {
		if (loggedIn) api<User>("/me").then(setUser, () => undefined);
	}, [loggedIn]);

	function logOut() {
		void endLogin();
		setUser(null);
		setNotice(undefined);
		setLoggedIn(false);
		navigate("#/");
	}

	let screen;
	if (!loggedIn) {
		screen = (
			<AuthPage
				notice={notice}
				onLoggedIn={() => {
					setNotice(undefined);
					setLoggedIn(true);
					if (route.name === "login") navigate("#/");
				}}
			/>
		);
	} else if (route.name === "chat") {
		screen = (
			<ChatPage
				key={route.characterId}
				characterId={route.characterId}
				sessionId={route.sessionId}
				visit={visit}
				user={user}
			/>
		);
	} else if (route.name === "room") {
		screen = <RoomPage key={route.sessionId} sessionId={route.sessionId} visit={visit} user={user} />;
	} else {
		screen = (
			<>
				<header class="topbar">
					<a class="brand" href="#/">
						<span class="logo" aria-hidden="true" />
						cameo
					</a>
					<nav class="topbar-nav" aria-label="Main">
						<a href="#/" aria-current={route.name === "gallery" ? "page" : undefined}>
							Characters
						</a>
						<a href="#/personas" aria-current={route.name === "personas" ? "page" : undefined}>
							Personas
						</a>
						<a
							href="#/lorebooks"
							aria-current={route.name === "lorebooks" || route.name === "lorebook" ? "page" : undefined}
						>
							Lorebooks
						</a>
						<a href="#/account" aria-current={route.name === "account" ? "page" : undefined}>
							Account
						</a>
						{user?.role === "admin" && (
							<a href="#/admin" aria-current={route.name === "admin" ? "page" : undefined}>
								Admin
							</a>
						)}
					</nav>
					<SearchBox initial={route.name === "search" ? route.q : ""} />
					<div class="topbar-user">
						{user && <span class="muted topbar-name">{user.name}</span>}
						<button type="button" class="button ghost small" onClick={logOut}>
							Log out
						</button>
					</div>
				</header>
				{page(route)}
			</>
		);
	}

	function page(shown: Route) {
		switch (shown.name) {
			case "personas":
				return <PersonasPage key={visit} />;
			case "lorebooks":
				return <LorebooksPage key={visit} />;
			case "lorebook":
				return <LorebookEditor key={shown.lorebookId} lorebookId={shown.lorebookId} />;
			case "account":
				return <AccountPage key={visit} user={user} onChanged={setUser} onLogOut={logOut} />;
			case "admin":
				return <AdminPage key={visit} user={user} />;
			case "invite":
				return <InvitePage key={shown.code} code={shown.code} />;
			case "search":
				return <SearchPage q={shown.q} />;
			case "not-found":
				return <NotFound />;
			default:
				return <Gallery user={user} />;
		}
	}

	return (
		<>
			{screen}
			<Toaster />
		</>
	);
}

/** An address that names nothing here (a mistyped or tampered link): no request is made for it. */
function NotFound() {
	return (
		<main class="page">
			<section class="empty">
				<h1>Not found</h1>
				<p>
					Nothing lives at this address. <a href="#/">Back to characters</a>
				</p>
			</section>
		</main>
	);
}
