/**
 * ai-consumer's view of who a chat message is between, and the prompt made for it. Characters come from
 * `characters.resolve` and users from PostgreSQL, both kept here for a minute: the broker's cacher sits with the
 * action, so every message was a round trip to the node running `characters`.
 */
import { LRUCache } from "lru-cache";
import { canView, type CharacterView, type Viewer } from "../domain/characters.js";
import type { ImpersonateParams, UserMsgPayload } from "../domain/chat-wire.js";
import type { ChatModel } from "../domain/chat-model.js";
import { historyEntry, type HistoryEntry } from "../domain/history.js";
import { assemblePrompt, continuePrompt, impersonationPrompt, type AssembledPrompt } from "../domain/prompt.js";
import type { ChatLimits } from "../config.js";
import type { ChatStore, MessageRow, SessionRow } from "./chat-store.js";
import type { ConversationMemory } from "./conversation-memory.js";

/** A chat's user as the visibility rules and `{{user}}` need them. */
export type ChatUser = Viewer & { name: string };

/** Whom a message speaks to, and what the character calls its sender. */
export interface Speakers {
	character: CharacterView;
	userName: string;
}

/** The prompt made for a message, and what the rolling summary needs once the reply is out. */
export interface Prompted {
	session: SessionRow | null;
	history: HistoryEntry[];
	prompt: AssembledPrompt;
}

/** A `continue`'s prompt, and the reply it extends as it stands. */
export interface ContinuePrompted {
	reply: MessageRow;
	prompt: AssembledPrompt;
}

export interface ChatPromptsDeps {
	store: ChatStore;
	memory: ConversationMemory;
	/** Tokens a prompt may use (CHAT_PROMPT_TOKENS); the messages of the session it may hold (CHAT_HISTORY_WINDOW). */
	limits: Pick<ChatLimits, "promptTokens" | "historyWindow">;
	resolveCharacter(id: string): Promise<CharacterView | null>;
	findUser(username: string): Promise<ChatUser | null>;
}

const CACHED_CHARACTERS = 10_000;
const CHARACTER_TTL_MS = 60_000;
const CACHED_USERS = 10_000;
const USER_TTL_MS = 60_000;

export class ChatPrompts {
	/** Characters as `characters.resolve` answered; forgotten when any character changes. */
	private readonly characters: LRUCache<string, { view: CharacterView | null }>;
	/** Users by username (id, role, display name), for private characters and messages without `user_name`. */
	private readonly users: LRUCache<string, { user: ChatUser | null }>;

	constructor(private readonly deps: ChatPromptsDeps) {
		this.characters = new LRUCache({
			max: CACHED_CHARACTERS,
			// A safety net for a change whose broadcast was lost (a node reconnecting to the transporter).
			ttl: CHARACTER_TTL_MS,
			fetchMethod: async (id) => ({ view: await deps.resolveCharacter(id) }),
		});
		this.users = new LRUCache({
			max: CACHED_USERS,
			ttl: USER_TTL_MS,
			fetchMethod: async (username) => ({ user: await deps.findUser(username) }),
		});
	}

	/** A character changed: the next message reads it again. */
	forgetCharacters(): void {
		this.characters.clear();
	}

	/**
	 * The character and what it calls the user, or null if it is gone or the user may no longer see it: a
	 * character turned private or inactive must not reach the model on anyone else's behalf.
	 */
	async lookUp(payload: Pick<UserMsgPayload, "character_id" | "username" | "user_name">): Promise<Speakers | null> {
		const character = (await this.characters.fetch(payload.character_id))?.view;
		const userName = character && (await this.userName(payload, character));
		return character && userName ? { character, userName } : null;
	}

	/**
	 * The prompt: the character, the session's summary (rebuilt first by `model` when an edit left it stale) and as
	 * much recent history as the budget holds.
	 */
	async assemble(payload: UserMsgPayload, { character, userName }: Speakers, model: ChatModel): Promise<Prompted> {
		const stored = await this.deps.store.getSession(payload.session_id);
		const history = await this.deps.memory.history(payload);
		const names = { char: character.name, user: userName };
		const session = stored && (await this.deps.memory.withTrueSummary(model, stored, history, names));
		const budget = { budgetTokens: this.deps.limits.promptTokens, summary: session?.summary };
		return { session, history, prompt: assemblePrompt(character, history, userName, budget) };
	}

	/**
	 * A `continue`'s prompt: the session up to and including the reply to extend, read from PostgreSQL (a continue is
	 * rare, and the stored reply is what is extended). Null if the reply is gone (rewound meanwhile).
	 */
	async continuation(payload: UserMsgPayload, speakers: Speakers, model: ChatModel): Promise<ContinuePrompted | null> {
		const { rows, history, budget } = await this.recent(payload.session_id, speakers, model, payload.continue_id);
		const reply = rows.at(-1);
		if (!reply || reply.id !== payload.continue_id) return null;
		return { reply, prompt: continuePrompt(speakers.character, history, speakers.userName, budget) };
	}

	/** An `impersonate`'s prompt: the session's recent history, then the ask to write the user's next line. */
	async impersonation(params: ImpersonateParams, speakers: Speakers, model: ChatModel): Promise<AssembledPrompt> {
		const { history, budget } = await this.recent(params.session_id, speakers, model);
		return impersonationPrompt(speakers.character, history, speakers.userName, budget);
	}

	/**
	 * The session's latest messages as the story shows them (up to and including `upToId`, if given), and the prompt
	 * budget with the session's summary (rebuilt first when an edit left it stale).
	 */
	private async recent(sessionId: string, { character, userName }: Speakers, model: ChatModel, upToId?: string) {
		const [stored, rows] = await Promise.all([
			this.deps.store.getSession(sessionId),
			this.deps.store.latestMessages(sessionId, this.deps.limits.historyWindow, upToId, true),
		]);
		const history = rows.map(historyEntry);
		const names = { char: character.name, user: userName };
		const session = stored && (await this.deps.memory.withTrueSummary(model, stored, history, names));
		return { rows, history, budget: { budgetTokens: this.deps.limits.promptTokens, summary: session?.summary } };
	}

	/**
	 * What the character calls the user (`{{user}}`: the display name), or null if they may not view the
	 * character (any more). Public characters need no lookup when chat-ws named the user; private and
	 * inactive ones are checked against the user's id and role.
	 */
	private async userName(
		payload: Pick<UserMsgPayload, "username" | "user_name">,
		character: CharacterView,
	): Promise<string | null> {
		const open = canView(character, null);
		if (open && payload.user_name) return payload.user_name;
		const user = (await this.users.fetch(payload.username))?.user ?? null;
		if (!open && !canView(character, user)) return null;
		return payload.user_name ?? user?.name ?? payload.username;
	}
}
