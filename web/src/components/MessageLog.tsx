/**
 * The scrolling list of a chat's or a room's messages: it follows new text while the reader is at the bottom and
 * leaves them alone when they scrolled up to read, and offers the earlier messages when there are more.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, type MutableRef } from "preact/hooks";
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
