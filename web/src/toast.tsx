/** Short notices at the bottom of the screen (rate limits, imports, connection trouble), shown for a few seconds. */
import { useEffect, useState } from "preact/hooks";

interface Toast {
	id: number;
	text: string;
	tone: "info" | "error";
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<(t: Toast[]) => void>();

function publish(next: Toast[]): void {
	toasts = next;
	for (const listener of listeners) listener(toasts);
}

export function toast(text: string, tone: Toast["tone"] = "info"): void {
	const id = nextId++;
	publish([...toasts.filter((t) => t.text !== text), { id, text, tone }]);
	window.setTimeout(() => publish(toasts.filter((t) => t.id !== id)), 5000);
}

export function Toaster() {
	const [items, setItems] = useState(toasts);
	useEffect(() => {
		listeners.add(setItems);
		return () => void listeners.delete(setItems);
	}, []);
	return (
		<div class="toasts" role="status" aria-live="polite">
			{items.map((t) => (
				<div key={t.id} class={`toast toast-${t.tone}`}>
					{t.text}
				</div>
			))}
		</div>
	);
}
