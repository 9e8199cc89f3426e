/**
 * The scrolling list of a chat's or a room's messages: it follows new text while the reader is at the bottom and
 * leaves them alone when they scrolled up to read, and offers the earlier messages when there are more. Opened from a
 * search hit (`?message={id}`), it reads older pages until that message is there, then scrolls to it and marks it.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState, type MutableRef } from "preact/hooks";
import { routeFocus } from "../router";
import { toast } from "../toast";

export interface FollowedLog {
	list: MutableRef<HTMLDivElement | null>;
	/** Whether to keep the newest message in view; set it when the reader sends, so their line shows. */
	stick: MutableRef<boolean>;
}

/** The list's element and whether it sticks to the bottom, kept there on every render and every resize. */
export function useFollowedLog(): FollowedLog {
	const list = useRef<HTMLDivElement>(null);
	const stick = useRef(true);
	// Follow new text while the reader is at the bottom; leave them alone when they scrolled up to read.
	useLayoutEffect(() => {
		const el = list.current;
		if (el && stick.current) el.scrollTop = el.scrollHeight;
	});
	// A resize (a phone's keyboard opening) shortens the list without a scroll of the reader's: keep the newest
	// message in view if they were at the bottom before it.
	useEffect(() => {
		const el = list.current;
		if (!el) return;
		const observer = new ResizeObserver(() => {
			if (stick.current) el.scrollTop = el.scrollHeight;
		});
		observer.observe(el);
		return () => observer.disconnect();
	}, []);
	return { list, stick };
}

export function MessageLog(props: {
	log: FollowedLog;
	label: string;
	hasMore: boolean;
	onLoadOlder: () => Promise<unknown>;
	children: ComponentChildren;
}) {
	const { list, stick } = props.log;
	useFocusedMessage(props.log, props.hasMore, props.onLoadOlder);
	return (
		<div
			class="messages"
			ref={list}
			role="log"
			aria-label={props.label}
			onScroll={(e) => {
				const el = e.currentTarget;
				stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
			}}
		>
			{props.hasMore && (
				<button
					type="button"
					class="button ghost small load-older"
					onClick={() => props.onLoadOlder().catch(() => toast("Couldn't load older messages", "error"))}
				>
					Load earlier messages
				</button>
			)}
			{props.children}
		</div>
	);
}

/**
 * The message the address named when the log opened (read once: the chat may rewrite its address), brought into view:
 * older pages are read until it is among the rows, then it is scrolled to the middle and marked. A message no longer
 * there (rewound, or the chat deleted since) is said so once all pages are read.
 */
function useFocusedMessage(log: FollowedLog, hasMore: boolean, onLoadOlder: () => Promise<unknown>) {
	const [target, setTarget] = useState(routeFocus);
	const [, setReads] = useState(0);
	const reading = useRef(false);
	useEffect(() => {
		const el = log.list.current;
		if (!target || !el || reading.current) return;
		const row = el.querySelector<HTMLElement>(`[data-id="${CSS.escape(target)}"]`);
		if (row) {
			log.stick.current = false;
			row.scrollIntoView({ block: "center" });
			row.classList.add("focused");
			setTarget(undefined);
		} else if (!el.querySelector("[data-id]")) {
			// The history is not read yet.
		} else if (!hasMore) {
			toast("That message is no longer in this chat", "error");
			setTarget(undefined);
		} else {
			reading.current = true;
			onLoadOlder()
				.catch(() => setTarget(undefined))
				.finally(() => {
					reading.current = false;
					setReads((n) => n + 1);
				});
		}
	});
}
