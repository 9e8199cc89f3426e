/**
 * One row of the conversation: your message on the right (with Retry when its reply failed), or a reply on the left
 * with its variants (swipes).
 */
import type { User } from "../api";
import type { ChatItem } from "../chat/state";
import { clockTime, filled } from "../format";
import { renderMarkdown } from "../markdown";
import { Avatar } from "./Avatar";
import { ChevronLeft, ChevronRight, RegenerateIcon } from "./icons";

interface Props {
	item: ChatItem;
	characterName: string;
	user: User | null;
	canRegenerate: boolean;
	canRetry: boolean;
	onRegenerate: (replyTo: string) => void;
	onSelect: (replyTo: string, index: number) => void;
}

export function MessageRow({ item, characterName, user, canRegenerate, canRetry, onRegenerate, onSelect }: Props) {
	if (item.kind === "user") {
		const m = item.message;
		return (
			<div class="row row-user" data-id={m.id}>
				<div class="bubble bubble-user">
					<MessageText text={filled(m.content, characterName, user)} />
					{m.timestamp && <time dateTime={m.timestamp}>{clockTime(m.timestamp)}</time>}
				</div>
				{item.failure && (
					<div class="reply-failure">
						<p class="bubble-error" role="alert">
							{item.failure}
						</p>
						{canRetry && (
							<button type="button" class="link-button" onClick={() => onRegenerate(m.id)}>
								<RegenerateIcon /> Retry
							</button>
						)}
					</div>
				)}
			</div>
		);
	}

	const m = item.variants[item.index];
	const count = item.variants.length;
	const replyTo = item.replyTo;
	return (
		<div class="row row-ai" data-id={m.id} data-streaming={m.streaming ? "" : undefined}>
			<Avatar name={characterName} size="sm" />
			<div class="bubble-column">
				<div class="bubble bubble-ai">
					<span class="author">{characterName}</span>
					<MessageText text={filled(m.content, characterName, user)} streaming={m.streaming} />
				</div>
				<div class="meta">
					{m.timestamp && <time dateTime={m.timestamp}>{clockTime(m.timestamp)}</time>}
					{m.stopped && <span class="stopped">stopped</span>}
					{replyTo && count > 1 && (
						<span class="variants" role="group" aria-label="Alternative replies">
							<button
								type="button"
								class="icon-button tiny"
								aria-label="Previous reply"
								disabled={item.index === 0}
								onClick={() => onSelect(replyTo, item.index - 1)}
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
								onClick={() => onSelect(replyTo, item.index + 1)}
							>
								<ChevronRight />
							</button>
						</span>
					)}
					{replyTo && canRegenerate && (
						<button
							type="button"
							class="link-button"
							aria-label="Regenerate reply"
							onClick={() => onRegenerate(replyTo)}
						>
							<RegenerateIcon /> Regenerate
						</button>
					)}
				</div>
			</div>
		</div>
	);
}

/** A message's text as safe Markdown (see ../markdown.ts); while it streams, a caret after the last block. */
function MessageText({ text, streaming = false }: { text: string; streaming?: boolean }) {
	// markdown-it escapes all HTML in the text: the only tags here are the subset's own.
	return (
		<div class={streaming ? "text streaming" : "text"} dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />
	);
}
