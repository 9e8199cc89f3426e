/**
 * "Why did it say that?": what the prompt of one reply was made of (GET /sessions/{id}/messages/{reply_id}/prompt),
 * as the parts with their token counts (system prompt, persona, each lore entry by name, summary, pinned messages,
 * history, post-history instructions) and the exact messages sent to the model. Only the latest replies of a chat
 * keep theirs: for an older one the dialog says so.
 */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, errorText, type PromptRecord } from "../api";
import { Modal } from "./Modal";

const PART_NAMES: Record<string, string> = {
	system: "System prompt and character",
	persona: "Your persona",
	lore: "Lore",
	summary: "Summary",
	pinned: "Pinned messages",
	examples: "Example dialogue",
	history: "Chat history",
	post_history: "Post-history instructions",
	instruction: "Instruction",
};

const NOT_KEPT =
	"This reply's prompt is no longer kept: only the latest replies of a chat keep theirs. Ask again on a newer reply.";

export function PromptInspector({
	sessionId,
	replyId,
	onClose,
}: {
	sessionId: string;
	replyId: string;
	onClose: () => void;
}) {
	const [record, setRecord] = useState<PromptRecord | null>(null);
	const [error, setError] = useState("");

	useEffect(() => {
		api<PromptRecord>(`/sessions/${encodeURIComponent(sessionId)}/messages/${encodeURIComponent(replyId)}/prompt`).then(
			setRecord,
			(err) => setError(err instanceof ApiError && err.status === 404 ? NOT_KEPT : errorText(err)),
		);
	}, [sessionId, replyId]);

	return (
		<Modal title="Why did it say that?" onClose={onClose} wide>
			{error && <p class="notice">{error}</p>}
			{!record && !error && <p class="muted">Reading the prompt…</p>}
			{record && (
				<div class="inspector">
					<p class="muted small">
						{record.model} · {record.total_tokens.toLocaleString()} tokens ·{" "}
						<time dateTime={record.created_at}>{new Date(record.created_at).toLocaleString()}</time>
					</p>
					<table class="inspector-parts">
						<caption class="group-title">What the prompt was made of</caption>
						<thead>
							<tr>
								<th scope="col">Part</th>
								<th scope="col" class="number">
									Tokens
								</th>
							</tr>
						</thead>
						<tbody>
							{record.parts.map((p, i) => (
								<tr key={i} class={`part-${p.part}`}>
									<th scope="row">
										{PART_NAMES[p.part] ?? p.part}
										{p.name && <span class="part-name">{p.name}</span>}
									</th>
									<td class="number">{p.tokens.toLocaleString()}</td>
								</tr>
							))}
						</tbody>
					</table>
					<h3 class="group-title">The messages sent to the model</h3>
					<ol class="inspector-messages">
						{record.messages.map((m, i) => (
							<li key={i} class={`prompt-message prompt-${m.role}`}>
								<div class="prompt-message-head">
									<span class="badge">{m.role}</span>
									<span class="muted small">{m.tokens.toLocaleString()} tokens</span>
								</div>
								<pre class="prompt-content">{m.content}</pre>
							</li>
						))}
					</ol>
				</div>
			)}
		</Modal>
	);
}
