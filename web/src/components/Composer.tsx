/**
 * The box a message is written in: Enter sends, Shift+Enter starts a new line; it grows with the text, takes the line
 * the model writes for the user (impersonation), and turns into a stop button while a reply is being written.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Impersonation } from "../chat/state";
import { SendIcon, StopIcon } from "./icons";

export function Composer(props: {
	/** What the box is for: its label and placeholder ("Message Odile"). */
	label: string;
	disabled: boolean;
	generating: boolean;
	/** The line being written for the user: it fills the input box, to edit and send once complete. */
	impersonation: Impersonation | null;
	onSend: (text: string) => boolean;
	onStop: () => void;
	/** Called on every keystroke that changes the text (a room tells the others, at its own pace). */
	onTyping?: () => void;
}) {
	const [text, setText] = useState("");
	const input = useRef<HTMLTextAreaElement>(null);
	const writing = props.impersonation !== null && !props.impersonation.done;

	useEffect(() => {
		if (!props.impersonation) return;
		setText(props.impersonation.content);
		if (props.impersonation.done) input.current?.focus();
	}, [props.impersonation]);

	// Grow with the text up to a few lines, then scroll.
	useEffect(() => {
		const el = input.current;
		if (!el) return;
		el.style.height = "auto";
		el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
	}, [text]);

	function submit() {
		const content = text.trim();
		if (!content || props.disabled || writing) return;
		if (props.onSend(content)) setText("");
	}

	return (
		<form
			class="composer"
			onSubmit={(e) => {
				e.preventDefault();
				submit();
			}}
		>
			<textarea
				ref={input}
				rows={1}
				value={text}
				maxLength={4000}
				readOnly={writing}
				placeholder={writing ? "Writing your next line…" : props.label}
				aria-label={props.label}
				onInput={(e) => {
					setText(e.currentTarget.value);
					if (e.currentTarget.value.trim()) props.onTyping?.();
				}}
				onKeyDown={(e) => {
					// Enter sends, Shift+Enter starts a new line; never while an input method is composing.
					if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
						e.preventDefault();
						submit();
					}
				}}
			/>
			{props.generating ? (
				<button type="button" class="send stop" aria-label="Stop generating" onClick={props.onStop}>
					<StopIcon />
				</button>
			) : (
				<button
					type="submit"
					class="send"
					aria-label="Send message"
					disabled={props.disabled || writing || !text.trim()}
				>
					<SendIcon />
				</button>
			)}
		</form>
	);
}
