/**
 * The /v1 API's characters-as-models, without transport: which model id names which character, the prompt made
 * around a client's messages, and stop sequences cut from the reply as it streams.
 *
 * Model ids: a character is listed under its slug. Slugs are unique per owner only, so when the caller sees several
 * characters with one slug, the slug names the caller's own, else the ownerless (seed) one, else the oldest; each of
 * the others is listed under its UUID. Every character is also reachable by its UUID.
 */
import type { ClientMessage, CompletionRequest, ModelEntry, WireRefusal } from "./openai-wire.js";
import { overridesOf, type ModelOverrides } from "./model-settings.js";
import { checkContent } from "./chat-wire.js";
import { assemblePrompt, type AssembledPrompt, type PromptCharacter, type PromptOptions } from "./prompt.js";
import type { HistoryEntry } from "./history.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "./token-count.js";
import { isUuid } from "./uuid.js";

/** What naming a character as a model reads of it (a CharacterSummary has it all). */
export interface ModelCharacter {
	id: string;
	slug: string;
	creator: string;
	created_by: string | null;
	created_at: string;
}

/** Who comes first for a slug: the caller's own, the ownerless, then the oldest (then the lower id). */
function precedes(a: ModelCharacter, b: ModelCharacter, viewerId: string): boolean {
	const rank = (c: ModelCharacter) => (c.created_by === viewerId ? 0 : c.created_by === null ? 1 : 2);
	if (rank(a) !== rank(b)) return rank(a) < rank(b);
	const [at, bt] = [Date.parse(a.created_at), Date.parse(b.created_at)];
	return at !== bt ? at < bt : a.id < b.id;
}

/** The model id of each character (by character id), as the rules above give them. */
export function modelIds(characters: readonly ModelCharacter[], viewerId: string): Map<string, string> {
	const bySlug = new Map<string, ModelCharacter>();
	for (const c of characters) {
		const held = bySlug.get(c.slug);
		if (!held || precedes(c, held, viewerId)) bySlug.set(c.slug, c);
	}
	return new Map(characters.map((c) => [c.id, bySlug.get(c.slug) === c ? c.slug : c.id]));
}

/** GET /v1/models' entries, in the order given. */
export function modelEntries(characters: readonly ModelCharacter[], viewerId: string): ModelEntry[] {
	const ids = modelIds(characters, viewerId);
	return characters.map((c) => ({
		id: ids.get(c.id) ?? c.id,
		object: "model",
		created: Math.floor(Date.parse(c.created_at) / 1000),
		owned_by: c.created_by === viewerId ? "you" : c.creator || "cameo",
	}));
}

/** The id of the character `model` names among those the caller sees; a UUID is taken as it is (checked later). */
export function characterIdOf(
	model: string,
	characters: readonly ModelCharacter[],
	viewerId: string,
): string | undefined {
	if (isUuid(model)) return model.toLowerCase();
	for (const [characterId, id] of modelIds(characters, viewerId)) if (id === model) return characterId;
	return undefined;
}

/**
 * The prompt for a client's messages: its `user` and `assistant` messages are the conversation, its `system` (and
 * `developer`) ones, in order, instructions appended to the character's system message (after the card, persona and
 * lore; before the history, whose budget they take from). The card's post-history instructions stay last.
 */
export function completionPrompt(
	character: PromptCharacter,
	messages: readonly ClientMessage[],
	userName: string,
	opts: PromptOptions,
): AssembledPrompt {
	const history = conversationOf(messages);
	const instructions = messages
		.filter((m) => m.role === "system" && m.content.trim())
		.map((m) => m.content.trim())
		.join("\n\n");
	if (!instructions) return assemblePrompt(character, history, userName, opts);
	const instructionCost = countTokens(instructions) + MESSAGE_OVERHEAD_TOKENS;
	const budgetTokens = (opts.budgetTokens ?? Number.POSITIVE_INFINITY) - instructionCost;
	const assembled = assemblePrompt(character, history, userName, { ...opts, budgetTokens });
	const [system, ...rest] = assembled.messages;
	return {
		...assembled,
		messages: [{ role: "system", content: `${system.content}\n\n${instructions}` }, ...rest],
		tokens: assembled.tokens + instructionCost,
		parts: [...assembled.parts, { part: "instruction", tokens: instructionCost }],
	};
}

/**
 * What the reply is generated with: the character's own model settings, each replaced by the request's sampling field
 * when it gives one (the model layer then clamps them to the operator's bounds, as a chat preset's).
 */
export function completionOverrides(
	character: Parameters<typeof overridesOf>[0],
	request: Pick<CompletionRequest, "temperature" | "top_p" | "max_tokens">,
): ModelOverrides {
	return {
		...overridesOf(character),
		...(request.temperature === undefined ? {} : { temperature: request.temperature }),
		...(request.top_p === undefined ? {} : { topP: request.top_p }),
		...(request.max_tokens === undefined ? {} : { maxOutputTokens: request.max_tokens }),
	};
}

/** The client's conversation as history entries (ids by position; nothing is stored). */
export function conversationOf(messages: readonly ClientMessage[]): HistoryEntry[] {
	return messages.flatMap((m, i): HistoryEntry[] =>
		m.role === "system" || (m.role === "assistant" && !m.content)
			? []
			: [{ id: `m${i}`, role: m.role === "user" ? "user" : "ai", content: m.content }],
	);
}

/**
 * Cuts a streamed reply at the first stop sequence: text that may be the start of one is held back until the next
 * chunk tells, so no part of a stop sequence is ever sent.
 */
export class StopCutter {
	private held = "";
	/** A stop sequence was met: nothing more is to be sent. */
	stopped = false;

	constructor(private readonly stops: readonly string[]) {}

	/** What of `chunk` (after what was held) may be sent now. */
	push(chunk: string): string {
		if (this.stopped) return "";
		const text = this.held + chunk;
		if (this.stops.length === 0) return text;
		const at = Math.min(...this.stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
		if (Number.isFinite(at)) {
			this.stopped = true;
			this.held = "";
			return text.slice(0, at);
		}
		const keep = Math.max(0, ...this.stops.map((s) => heldPrefix(text, s)));
		this.held = text.slice(text.length - keep);
		return text.slice(0, text.length - keep);
	}

	/** The reply ended: what was held back was no stop sequence after all. */
	flush(): string {
		const rest = this.stopped ? "" : this.held;
		this.held = "";
		return rest;
	}
}

/** The length of the longest end of `text` that `stop` starts with (shorter than `stop` itself). */
function heldPrefix(text: string, stop: string): number {
	for (let n = Math.min(stop.length - 1, text.length); n > 0; n--) if (text.endsWith(stop.slice(0, n))) return n;
	return 0;
}

/** What the stored-session mode reads of a chat. */
export interface SessionOfTurn {
	username: string;
	character_id: string;
	/** Set for a room. */
	reply_mode: string | null;
}

/**
 * The text the stored-session mode stores: the client's last message, which must be the user's, checked as a message
 * sent over the WebSocket is; or null when the chat is not the caller's (404 alike: its existence is not told), or
 * the refusal of the request.
 */
export function sessionTurn(
	session: SessionOfTurn | null,
	turn: { username: string; characterId: string },
	messages: readonly ClientMessage[],
	maxContentChars: number,
): string | WireRefusal | null {
	if (!session || session.username !== turn.username) return null;
	const refusal = (message: string, param: string, code = "invalid_value"): WireRefusal => ({
		status: 400,
		message,
		param,
		code,
	});
	if (session.reply_mode !== null)
		return refusal("A room cannot be continued over /v1", "session_id", "room_not_supported");
	if (session.character_id !== turn.characterId)
		return refusal("'model' must name the chat's character", "model", "model_mismatch");
	const at = messages.length - 1;
	if (messages[at].role !== "user")
		return refusal("The last message must be the user's: it is the one stored and answered", `messages[${at}]`);
	const checked = checkContent(messages[at].content, maxContentChars);
	return "code" in checked ? refusal(checked.message, `messages[${at}].content`, checked.code) : checked.content;
}
