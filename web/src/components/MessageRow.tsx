/**
 * One row of the conversation: your message on the right under the name of the persona you play (with Retry when its
 * reply failed), or a reply on the left with its variants (swipes; the pager chooses the one the story continues
 * from). Every message has its actions: edit in place, copy, pin (kept in the prompt; a pinned one shows a pin),
 * branch from here and delete from here (after a confirmation); a reply also "Why did it say that?" (its prompt).
 * In a room, a reply is under the name and picture of the character who said it, and another person's message is on
 * the left under theirs; pins, prompts and branches are not offered there, and only its owner steers its story (edits
 * any line, deletes from one, chooses among replies): a member edits their own lines.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatItem, Message } from "../chat/state";
import { clockTime, filled } from "../format";
import { renderMarkdown } from "../markdown";
import { toast } from "../toast";
import { Avatar, type AvatarSource } from "./Avatar";
import { MessageActions, type MenuAction } from "./MessageActions";
import {
	BranchIcon,
	ChevronLeft,
	ChevronRight,
	CopyIcon,
	EditIcon,
	InspectIcon,
	PinIcon,
	RegenerateIcon,
	TrashIcon,
} from "./icons";

/** What a row can do to the story; each reports its own failure. */
export interface RowHandlers {
	onRegenerate: (replyTo: string) => void;
	onSelectVariant: (id: string) => void;
	/** Resolves true once the edit shows, false when it was not saved (said in a toast). */
	onEdit: (id: string, content: string) => Promise<boolean>;
	onRewind: (id: string) => Promise<void>;
	onBranch: (id: string) => Promise<void>;
	onTogglePin: (id: string) => Promise<void>;
	/** Shows what the prompt of reply `id` was made of. */
	onInspect: (id: string) => void;
}

/** Who a reply is by: a character's name and picture. */
export type Speaker = AvatarSource & { name: string };

interface Props extends RowHandlers {
	item: ChatItem;
	/** The character who said the reply (in a chat, its one character; in a room, the one of its cast who spoke). */
	character: Speaker;
	/** Someone else's message in a room: whose, by the name they wrote as. */
	sender?: string;
	/** In a room: no pins, prompts or branches. */
	inRoom?: boolean;
	/** Whether you may edit every line, delete from one and choose among replies (a room's members may not). */
	steer?: boolean;
	/** Who you play in this chat: `{{user}}`, and the name over your messages. */
	you: { name: string } | null;
	pinned: boolean;
	canRegenerate: boolean;
	canRetry: boolean;
	/** The last message of yours has no reply (a rewind took it): offer to ask for one. */
	canAskReply: boolean;
}

export function MessageRow(props: Props) {
	const { item, character, you, pinned } = props;
	const characterName = character.name;
	const m = item.kind === "user" ? item.message : item.variants[item.index];
	const [editing, setEditing] = useState(false);
	const [confirming, setConfirming] = useState(false);
	const [busy, setBusy] = useState(false);
	const shown = filled(m.content, characterName, you);

	async function run(work: () => Promise<void>) {
		setBusy(true);
		try {
			await work();
		} catch (err) {
			toast(err instanceof Error ? err.message : "Something went wrong", "error");
		} finally {
			setBusy(false);
		}
	}

	const theirs = props.sender !== undefined;
	const steer = props.steer ?? true;
	/** Memory, the prompt inspector and branches are a one-character chat's. */
	function oneCharacterActions(): MenuAction[] {
		return [
			{
				label: pinned ? "Unpin" : "Pin to memory",
				icon: <PinIcon />,
				onSelect: () => void run(() => props.onTogglePin(m.id)),
			},
			...(item.kind === "ai" && item.replyTo
				? [{ label: "Why did it say that?", icon: <InspectIcon />, onSelect: () => props.onInspect(m.id) }]
				: []),
			{ label: "Branch from here", icon: <BranchIcon />, onSelect: () => void run(() => props.onBranch(m.id)) },
		];
	}
	const actions: MenuAction[] = [
		...(steer || (item.kind === "user" && !theirs)
			? [{ label: "Edit", icon: <EditIcon />, onSelect: () => setEditing(true) }]
			: []),
		{ label: "Copy text", icon: <CopyIcon />, onSelect: () => void copy(shown) },
		...(props.inRoom ? [] : oneCharacterActions()),
		...(steer
			? [{ label: "Delete from here", icon: <TrashIcon />, danger: true, onSelect: () => setConfirming(true) }]
			: []),
	];
	const pin = pinned && (
		<span class="pin-marker" title="Pinned: always in the prompt" role="img" aria-label="Pinned">
			<PinIcon size={14} />
		</span>
	);
	const menu = !m.streaming && !editing && m.timestamp && (
		<MessageActions actions={actions} align={item.kind === "user" ? "end" : "start"} />
	);
	const edited = m.edited_at && (
		<span class="edited" title={`Edited ${new Date(m.edited_at).toLocaleString()}`}>
			edited
		</span>
	);
	const body = editing ? (
		<EditBox
			message={m}
			onCancel={() => setEditing(false)}
			onSave={async (content) => {
				if (content === m.content || (await props.onEdit(m.id, content))) setEditing(false);
			}}
		/>
	) : (
		<MessageText text={shown} streaming={m.streaming} />
	);
	const confirm = confirming && (
		<RewindConfirm
			busy={busy}
			onConfirm={() => void run(() => props.onRewind(m.id)).then(() => setConfirming(false))}
			onCancel={() => setConfirming(false)}
		/>
	);

	if (item.kind === "user" && theirs) {
		return (
			<div class={pinned ? "row row-ai row-other pinned" : "row row-ai row-other"} data-id={m.id}>
				<Avatar name={props.sender!} size="sm" />
				<div class="bubble-column">
					<div class="bubble bubble-ai bubble-other">
						<span class="author">{props.sender}</span>
						{body}
					</div>
					<div class="meta">
						{m.timestamp && <time dateTime={m.timestamp}>{clockTime(m.timestamp)}</time>}
						{edited}
						{pin}
						{menu}
					</div>
				</div>
			</div>
		);
	}

	if (item.kind === "user") {
		return (
			<div class={`row row-user${editing ? " editing" : ""}${pinned ? " pinned" : ""}`} data-id={m.id}>
				<div class="user-line">
					{(menu || edited || pin) && (
						<div class="meta meta-user">
							{menu}
							{edited}
							{pin}
						</div>
					)}
					<div class="bubble bubble-user">
						{you && <span class="author author-user">{you.name}</span>}
						{body}
						{m.timestamp && !editing && <time dateTime={m.timestamp}>{clockTime(m.timestamp)}</time>}
					</div>
				</div>
				{confirm}
				{item.failure && (
					<div class="reply-failure">
						<p class="bubble-error" role="alert">
							{item.failure}
						</p>
						{props.canRetry && (
							<button type="button" class="link-button" onClick={() => props.onRegenerate(m.id)}>
								<RegenerateIcon /> Retry
							</button>
						)}
					</div>
				)}
				{!item.failure && props.canAskReply && (
					<button type="button" class="link-button" onClick={() => props.onRegenerate(m.id)}>
						<RegenerateIcon /> Get a reply
					</button>
				)}
			</div>
		);
	}

	const count = item.variants.length;
	return (
		<div
			class={pinned ? "row row-ai pinned" : "row row-ai"}
			data-id={m.id}
			data-streaming={m.streaming ? "" : undefined}
		>
			<Avatar name={characterName} size="sm" character={character} />
			<div class={editing ? "bubble-column editing" : "bubble-column"}>
				<div class="bubble bubble-ai">
					<span class="author">{characterName}</span>
					{body}
				</div>
				<div class="meta">
					{m.timestamp && <time dateTime={m.timestamp}>{clockTime(m.timestamp)}</time>}
					{m.stopped && <span class="stopped">stopped</span>}
					{edited}
					{pin}
					{item.replyTo && count > 1 && steer && (
						<span class="variants" role="group" aria-label="Alternative replies">
							<button
								type="button"
								class="icon-button tiny"
								aria-label="Previous reply"
								disabled={item.index === 0}
								onClick={() => props.onSelectVariant(item.variants[item.index - 1].id)}
							>
								<ChevronLeft />
							</button>
							<span class="variant-count">
								{item.index + 1}/{count}
							</span>
							<button
								type="button"
								class="icon-button tiny"
								aria-label="Next reply"
								disabled={item.index === count - 1}
								onClick={() => props.onSelectVariant(item.variants[item.index + 1].id)}
							>
								<ChevronRight />
							</button>
						</span>
					)}
					{item.replyTo && props.canRegenerate && (
						<button
							type="button"
							class="link-button"
							aria-label="Regenerate reply"
							onClick={() => props.onRegenerate(item.replyTo!)}
						>
							<RegenerateIcon /> Regenerate
						</button>
					)}
					{menu}
				</div>
				{confirm}
			</div>
		</div>
	);
}

/** Asks before a rewind; it has the focus, and Escape cancels. */
function RewindConfirm(props: { busy: boolean; onConfirm: () => void; onCancel: () => void }) {
	const button = useRef<HTMLButtonElement>(null);
	useEffect(() => button.current?.focus(), []);
	return (
		<div
			class="rewind-confirm"
			role="alertdialog"
			aria-label="Delete from here"
			onKeyDown={(e) => e.key === "Escape" && props.onCancel()}
		>
			<span>Delete this message and everything after it?</span>
			<button ref={button} type="button" class="button danger small" disabled={props.busy} onClick={props.onConfirm}>
				Delete
			</button>
			<button type="button" class="button ghost small" onClick={props.onCancel}>
				Cancel
			</button>
		</div>
	);
}

async function copy(text: string): Promise<void> {
	try {
		await navigator.clipboard.writeText(text);
		toast("Copied to the clipboard");
	} catch {
		toast("Couldn't copy: this browser didn't allow it.", "error");
	}
}

/** The message's text to change: Save (or Ctrl+Enter) sends it, Cancel (or Escape) leaves it as it was. */
function EditBox({
	message,
	onSave,
	onCancel,
}: {
	message: Message;
	onSave: (content: string) => Promise<void>;
	onCancel: () => void;
}) {
	const [text, setText] = useState(message.content);
	// Open, with its text, until the server has the edit (or refused it).
	const [saving, setSaving] = useState(false);
	const input = useRef<HTMLTextAreaElement>(null);

	useEffect(() => {
		const el = input.current;
		if (!el) return;
		el.focus();
		el.setSelectionRange(el.value.length, el.value.length);
	}, []);

	// Grow with the text, so the whole message is in view while it is edited.
	useEffect(() => {
		const el = input.current;
		if (!el) return;
		el.style.height = "auto";
		el.style.height = `${Math.min(el.scrollHeight + 2, 360)}px`;
	}, [text]);

	const content = text.trim();
	async function save() {
		if (!content || saving) return;
		setSaving(true);
		await onSave(content);
		setSaving(false);
	}

	return (
		<form
			class="edit-box"
			aria-busy={saving}
			onSubmit={(e) => {
				e.preventDefault();
				void save();
			}}
		>
			<textarea
				ref={input}
				value={text}
				maxLength={4000}
				aria-label="Edit message"
				onInput={(e) => setText(e.currentTarget.value)}
				onKeyDown={(e) => {
					if (e.key === "Escape") {
						e.preventDefault();
						onCancel();
					} else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
						e.preventDefault();
						void save();
					}
				}}
			/>
			<div class="edit-actions">
				<button type="button" class="button ghost small" onClick={onCancel}>
					Cancel
				</button>
				<button type="submit" class="button primary small" disabled={!content || saving}>
					{saving ? "Saving…" : "Save"}
				</button>
			</div>
		</form>
	);
}

/** A message's text as safe Markdown (see ../markdown.ts); while it streams, a caret after the last block. */
function MessageText({ text, streaming = false }: { text: string; streaming?: boolean }) {
	// markdown-it escapes all HTML in the text: the only tags here are the subset's own.
	return (
		<div class={streaming ? "text streaming" : "text"} dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />
	);
}
