/** A dialog over the page: Escape or the close button dismisses it, and focus starts inside it. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { CloseIcon } from "./icons";

export function Modal({
	title,
	onClose,
	children,
	wide = false,
}: {
	title: string;
	onClose: () => void;
	children: ComponentChildren;
	/** For long forms: more room on wide screens. */
	wide?: boolean;
}) {
	const panel = useRef<HTMLDivElement>(null);
	// The latest handler, without re-running the effect (and stealing focus) on every render.
	const close = useRef(onClose);
	close.current = onClose;
	useEffect(() => {
		// A dialog with nothing to fill in or press (a read-only view) takes the focus itself, so Tab starts inside it.
		(
			panel.current?.querySelector<HTMLElement>("input, textarea, select, button:not(.icon-button)") ?? panel.current
		)?.focus();
		const onKey = (e: KeyboardEvent) => e.key === "Escape" && close.current();
		window.addEventListener("keydown", onKey);
		return () => window.removeEventListener("keydown", onKey);
	}, []);
	return (
		<div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
			<div
				class={wide ? "modal modal-wide" : "modal"}
				role="dialog"
				aria-modal="true"
				aria-label={title}
				ref={panel}
				tabIndex={-1}
			>
				<header class="modal-header">
					<h2>{title}</h2>
					<button type="button" class="icon-button" aria-label="Close" onClick={onClose}>
						<CloseIcon />
					</button>
				</header>
				{children}
			</div>
		</div>
	);
}
