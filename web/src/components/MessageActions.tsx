/**
 * A message's actions behind a "⋯" button: a menu that opens on click or tap, is driven by the keyboard like a
 * native menu (arrows, Home/End, Escape back to the button, Tab out), and closes on a tap outside it. It opens upward
 * near the bottom of the screen, where the newest messages are, so it is never cut off by the composer.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { MoreIcon } from "./icons";

export interface MenuAction {
	label: string;
	icon: ComponentChildren;
	onSelect: () => void;
	danger?: boolean;
}

export function MessageActions({ actions, align }: { actions: MenuAction[]; align: "start" | "end" }) {
	const [open, setOpen] = useState(false);
	const [upward, setUpward] = useState(true);
	const root = useRef<HTMLDivElement>(null);
	const button = useRef<HTMLButtonElement>(null);

	const items = () => [...(root.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];

	useEffect(() => {
		if (!open) return;
		items()[0]?.focus();
		const outside = (e: PointerEvent) => {
			if (!root.current?.contains(e.target as Node)) setOpen(false);
		};
		document.addEventListener("pointerdown", outside);
		return () => document.removeEventListener("pointerdown", outside);
	}, [open]);

	function toggle() {
		const rect = button.current?.getBoundingClientRect();
		setUpward(!rect || rect.top > window.innerHeight / 2);
		setOpen(!open);
	}

	function close(refocus: boolean) {
		setOpen(false);
		if (refocus) button.current?.focus();
	}

	function onKeyDown(e: KeyboardEvent) {
		const all = items();
		const at = all.indexOf(document.activeElement as HTMLElement);
		const move: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
		if (e.key in move) {
			e.preventDefault();
			all[(move[e.key] + all.length) % all.length]?.focus();
		} else if (e.key === "Escape") {
			e.preventDefault();
			close(true);
		} else if (e.key === "Tab") {
			close(false);
		}
	}

	return (
		<div class="message-actions" ref={root}>
			<button
				ref={button}
				type="button"
				class="icon-button tiny actions-button"
				aria-label="Message actions"
				aria-haspopup="menu"
				aria-expanded={open}
				onClick={toggle}
			>
				<MoreIcon />
			</button>
			{open && (
				<div
					class={`actions-menu ${upward ? "up" : "down"} align-${align}`}
					role="menu"
					aria-label="Message actions"
					onKeyDown={onKeyDown}
				>
					{actions.map((action) => (
						<button
							key={action.label}
							type="button"
							role="menuitem"
							tabIndex={-1}
							class={action.danger ? "menu-item danger" : "menu-item"}
							onClick={() => {
								// Focus goes back to the button, unless the action takes it (an edit box, a confirmation).
								close(true);
								action.onSelect();
							}}
						>
							{action.icon}
							{action.label}
						</button>
					))}
				</div>
			)}
		</div>
	);
}
