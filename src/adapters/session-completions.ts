/**
 * The /v1 API's stored-session mode (`session_id`, an extension of OpenAI's request): the client's last message goes
 * into one of the caller's chats as a message sent over the WebSocket would (stored, echoed to the chat's sockets,
 * published to `chat.user.msg`); the normal pipeline answers it (ai-consumer streams it to the chat's sockets, the
 * dispatcher stores the reply once and delivers it), and the reply is read back here once stored.
 * `answerInSession` is the whole mode; `postToSession` and `awaitedReply` its two halves.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Chan, messageFrame, replyIdOf, userMsgPayload, type Publish, type Usage } from "../domain/chat-wire.js";
import { historyEntry } from "../domain/history.js";
import { countTokens } from "../domain/token-count.js";
import { sessionTurn } from "../domain/completions.js";
import { completionHead, type CompletionRequest } from "../domain/openai-wire.js";
import { CompletionRefused, ProviderUnavailable, SessionNotFound } from "../errors.js";
import { answerCompletion, type CompletionRuns } from "./completion-runs.js";
import type { ChatStore, MessageRow } from "./chat-store.js";
import type { ChatMetrics } from "./chat-metrics.js";
import type { Delivery } from "./delivery.js";
import type { HistoryCache } from "./history-cache.js";

export interface SessionPostDeps {
	store: ChatStore;
	history: HistoryCache;
	delivery: Delivery;
	metrics: ChatMetrics;
	publish: Publish;
	logger: { warn(...args: unknown[]): void };
}

/** Who asked (the gateway's `meta.user`). */
type Caller = { id: string; username: string; name?: string };

export interface SessionCompletionDeps {
	posts: SessionPostDeps;
	runs: CompletionRuns;
	/** CHAT_REPLY_TIMEOUT: how long the answer waits for the stored reply. */
	timeoutMs: number;
	/** CHAT_MAX_CONTENT_CHARS: as on the WebSocket. */
	maxContentChars: number;
	/** The WebSocket's per-user limits: throws the 429. */
	admit(username: string): Promise<void>;
	/** Stops the chat's reply in progress (the chat's own stop). */
	stop(sessionId: string): void;
	/** The prompt's tokens as the prompt inspector kept them (asked as the caller); 0 when it has none. */
	promptTokens(sessionId: string, replyId: string, caller: Caller): Promise<number>;
}

/**
 * `session_id`: the client's last message, stored in that chat of the caller's and answered by the normal pipeline
 * (the user's other devices see both, once); the stored reply is the answer.
 */
export async function answerInSession(
	deps: SessionCompletionDeps,
	request: CompletionRequest,
	caller: Caller,
	characterId: string,
	completionId: string,
): ReturnType<typeof answerCompletion> {
	const { username } = caller;
	const { messages, session_id: sessionId = "" } = request;
	const session = await deps.posts.store.getSession(sessionId);
	const content = sessionTurn(session, { username, characterId }, messages, deps.maxContentChars);
	if (content === null) throw SessionNotFound(sessionId);
	if (typeof content !== "string") throw CompletionRefused(content);
	await deps.admit(username);
	const message = { session_id: sessionId, username, character_id: characterId, content };
	const row = await postToSession(deps.posts, message, caller.name ?? username);
	const controller = deps.runs.begin(completionId);
	const { text, usage } = awaitedReply({
		store: deps.posts.store,
		message: row,
		signal: controller.signal,
		timeoutMs: deps.timeoutMs,
		stop: () => deps.stop(sessionId),
		promptTokens: (replyId) => deps.promptTokens(sessionId, replyId, caller),
	});
	return answerCompletion({
		stream: request.stream,
		includeUsage: request.include_usage,
		head: completionHead(completionId, request.model),
		text,
		usage,
		controller,
		refusalOf: (err) => err,
		onEnd: () => deps.runs.end(completionId),
	});
}

/** How often the stored reply is looked for: a reply takes seconds, a lookup is one indexed read. */
const REPLY_POLL_MS = 200;

/** Stores `message` as the user's next line in their chat, shows it on the chat's sockets and asks for its reply. */
export async function postToSession(
	deps: SessionPostDeps,
	message: { session_id: string; username: string; character_id: string; content: string },
	userName: string,
): Promise<MessageRow> {
	const row = await deps.store.insertUserMessage(message);
	const ids = { session_id: row.session_id, message_id: row.id };
	deps.metrics.messageIn();
	await deps.history
		.append(row.session_id, historyEntry(row))
		.catch((err) => deps.logger.warn(ids, "History append failed:", err));
	// The user's other devices see it at once (a socket of theirs drops the duplicate by id).
	await deps.delivery
		.send(row.session_id, [messageFrame(row, row.username)])
		.catch((err) => deps.logger.warn(ids, "Delivery failed:", err));
	// If this publish is lost, the dispatcher's outbox sweep publishes it again.
	await deps
		.publish(Chan.UserMsg, userMsgPayload(row, { user_name: userName }))
		.catch((err: Error) => deps.logger.warn(ids, `Publish failed, outbox will retry: ${err.message}`));
	return row;
}

/**
 * The reply to `message` as an answer's text: one piece once the dispatcher has stored it, with its usage (its own
 * tokens, and the prompt's as the inspector kept them). Aborting `signal` stops the chat's reply (`stop`), which is
 * then stored as far as it got. The text throws a 503 when the reply failed, the message was rewound meanwhile, or
 * nothing came within `timeoutMs`.
 */
export function awaitedReply(opts: {
	store: ChatStore;
	message: MessageRow;
	signal: AbortSignal;
	timeoutMs: number;
	stop(): void;
	promptTokens(replyId: string): Promise<number>;
}): { text: AsyncGenerator<string>; usage(): Usage } {
	opts.signal.addEventListener("abort", () => opts.stop(), { once: true });
	let usage: Usage = { input_tokens: 0, output_tokens: 0 };
	async function* text(): AsyncGenerator<string> {
		const until = Date.now() + opts.timeoutMs;
		while (Date.now() < until) {
			opts.signal.throwIfAborted();
			const asked = await opts.store.getMessage(opts.message.id);
			if (!asked) throw ProviderUnavailable("The message was rewound before it was answered");
			if (asked.reply_status === "failed") throw ProviderUnavailable("The AI model could not answer; try again");
			const reply =
				asked.reply_status === "replied" &&
				(await opts.store.getMessage(replyIdOf({ message_id: asked.id, variant: 0 })));
			if (reply) {
				usage = { input_tokens: await opts.promptTokens(reply.id), output_tokens: countTokens(reply.content) };
				yield reply.content;
				return;
			}
			await sleep(REPLY_POLL_MS, undefined, { signal: opts.signal });
		}
		throw ProviderUnavailable("No reply came in time; it will still reach the chat when it comes");
	}
	return { text: text(), usage: () => usage };
}
