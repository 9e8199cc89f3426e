/**
 * The frame of a character's page and of a room: a sidebar (the way back, a title) beside the conversation (a drawer on phones, closed by its
 * backdrop), and an empty busy conversation until there is one to show; or, when it can't be shown, why.
 */
import type { ComponentChildren } from "preact";
import { BackIcon, CloseIcon } from "./icons";

export function ChatLayout(props: {
	sidebarLabel: string;
	/** Atop the sidebar, beside the way back. */
	sidebarTitle: string;
	/** The drawer's close button's name: "Close chat list". */
	closeLabel: string;
	sidebar: ComponentChildren;
	/** Whether the drawer is open (phones). */
	drawer: boolean;
	onCloseDrawer: () => void;
	/** The conversation; null until it can be shown. */
	children: ComponentChildren;
}) {
	return (
		<div class="chat-layout">
			<aside class={props.drawer ? "sidebar open" : "sidebar"} aria-label={props.sidebarLabel}>
				<div class="sidebar-head">
					<a class="icon-button" href="#/" aria-label="Back to characters">
						<BackIcon />
					</a>
					<span class="sidebar-title">{props.sidebarTitle}</span>
					<button
						type="button"
						class="icon-button only-phone"
						aria-label={props.closeLabel}
						onClick={props.onCloseDrawer}
					>
						<CloseIcon />
					</button>
				</div>
				{props.sidebar}
			</aside>
			{props.drawer && <div class="drawer-backdrop only-phone" onClick={props.onCloseDrawer} />}
			{props.children ?? <main class="conversation" aria-busy="true" />}
		</div>
	);
}

/** Why a chat or a room can't be shown, and the way back. */
export function ChatError({ error }: { error: string }) {
	return (
		<main class="page">
			<p class="empty">{error}</p>
			<p class="empty">
				<a href="#/">Back to characters</a>
			</p>
		</main>
	);
}
