/**
 * ai-consumer's view of who a chat message is between, what they know, and the prompt made for it. Characters come
 * from `characters.resolve`, users, personas and the active lorebooks from PostgreSQL, all kept here for a minute and
 * dropped at once when a change is broadcast (`forget*`): the broker's cacher sits with the action, so every message
 * was a round trip to the node running `characters`. The session row, read for every message anyway, brings its
 * summary, pinned messages, persona and attached lorebook ids (chat-store.ts), so a steady chat costs no other query.
 */
import { LRUCache } from "lru-cache";
import type { ServiceBroker } from "moleculer";
import { QueryTypes, type Sequelize } from "sequelize";
import { canView, type CharacterView, type Viewer } from "../domain/characters.js";
import type { ImpersonateParams, RoomTurnRef, UserMsgPayload } from "../domain/chat-wire.js";
import type { ChatModel } from "../domain/chat-model.js";
import { historyEntry, type HistoryEntry } from "../domain/history.js";
import {
	assemblePrompt,
	continuePrompt,
	impersonationPrompt,
	type AssembledPrompt,
	type PromptOptions,
} from "../domain/prompt.js";
import { selectLore } from "../domain/lore-matching.js";
import { roomHistory, roomSection } from "../domain/rooms.js";
import type { PersonaRow } from "../domain/personas.js";
import { fullSummary } from "../domain/session-summary.js";
import type { ChatLimits, Config } from "../config.js";
import type { ChatStore, MessageRow, StoredSession } from "./chat-store.js";
import type { ConversationMemory } from "./conversation-memory.js";
import { LorebookStore, type ActiveLorebook } from "./lorebook-store.js";
import { PersonaStore } from "./persona-store.js";

/** A chat's user as the visibility rules, their persona and `{{user}}` need them. */
export type ChatUser = Viewer & { name: string };

/** Whom a message speaks to, and who sent it (null: an account gone since, answered under its login). */
export interface Speakers {
	character: CharacterView;
	user: ChatUser | null;
	/** What the character calls the user when no persona can be found. */
	fallbackName: string;
}

/** What the character and the user are called in the prompt (`{{char}}`, `{{user}}`). */
export interface Names {
	char: string;
	user: string;
}

/** The prompt made for a message, and what the rolling summary needs once the reply is out. */
export interface Prompted {
	session: StoredSession | null;
	history: HistoryEntry[];
	names: Names;
	prompt: AssembledPrompt;
}

/** A `continue`'s prompt, and the reply it extends as it stands. */
export interface ContinuePrompted {
	reply: MessageRow;
	prompt: AssembledPrompt;
	/** Its preset is what the model is called with. */
	session: StoredSession | null;
}

/** Which books a turn reads: the character's, the persona's and the session's. */
export interface LoreTurn {
	characterId: string;
	personaId: string | null;
	sessionId: string | null;
}

export interface ChatPromptsDeps {
	store: ChatStore;
	memory: ConversationMemory;
	/** Prompt and history limits, and the lorebook scan depth and token budget when a book sets none. */
	limits: Pick<ChatLimits, "promptTokens" | "historyWindow" | "lorebookScanDepth" | "lorebookTokens">;
	resolveCharacter(id: string): Promise<CharacterView | null>;
	findUser(username: string): Promise<ChatUser | null>;
	/** The session's persona while it is the user's, else their default (PersonaStore.forSession). */
	findPersona(personaId: string | null, user: ChatUser): Promise<PersonaRow>;
	/** The books active for a turn, in order (LorebookStore.activeFor). */
	activeLorebooks(turn: LoreTurn): Promise<ActiveLorebook[]>;
}

/** ai-consumer's prompts: characters from `characters.resolve`, the rest from PostgreSQL. */
export function chatPrompts(deps: {
	broker: ServiceBroker;
	sequelize: Sequelize;
	store: ChatStore;
	memory: ConversationMemory;
	config: Config;
}): ChatPrompts {
	const { broker, sequelize } = deps;
	const personas = new PersonaStore(sequelize);
	const lorebooks = new LorebookStore(sequelize);
	return new ChatPrompts({
		store: deps.store,
		memory: deps.memory,
		limits: deps.config.chat,
		resolveCharacter: (id) => broker.call<CharacterView | null, { id: string }>("characters.resolve", { id }),
		findUser: async (username) => {
			const [user] = await sequelize.query<ChatUser>(
				`SELECT id, role, name, show_nsfw FROM users WHERE username = $1`,
				{
					bind: [username],
					type: QueryTypes.SELECT,
				},
			);
			return user ?? null;
		},
		findPersona: (personaId, user) => personas.forSession(personaId, user),
		activeLorebooks: (turn) => lorebooks.activeFor(turn),
	});
}

const CACHED_CHARACTERS = 10_000;
const CACHED_USERS = 10_000;
const CACHED_PERSONAS = 10_000;
const CACHED_BOOK_SETS = 10_000;
const CACHED_BOOKS = 5_000;
/**
 * Every cache: a minute at most, a safety net for a change whose broadcast was lost (a node reconnecting to the
 * transporter); a fetch under way when a change drops its key still answers the message that asked (it began
 * before the change) but is not kept.
 */
const CACHING = { ttl: 60_000, ignoreFetchAbort: true } as const;

export class ChatPrompts {
	/** Characters as `characters.resolve` answered; forgotten when any character changes. */
	private readonly characters: LRUCache<string, { view: CharacterView | null }>;
	/** Users by username (id, role, display name), for private characters, personas and the name without one. */
	private readonly users: LRUCache<string, { user: ChatUser | null }>;
	/** Personas by `user id|session's persona id`: what `{{user}}` is and what the prompt says of them. */
	private readonly personas: LRUCache<string, PersonaRow, ChatUser>;
	/** The books of a turn by `character|persona|session's book ids`: sessions with the same books share them. */
	private readonly bookSets: LRUCache<string, ActiveLorebook[], LoreTurn>;
	/** One object per book (by id; a card's by character), however many sets hold it. */
	private readonly books: LRUCache<string, ActiveLorebook>;
	/** Counts the changes to lorebooks seen: books read before the latest one are not held. */
	private lorebookChanges = 0;

	constructor(private readonly deps: ChatPromptsDeps) {
		this.characters = new LRUCache({
			max: CACHED_CHARACTERS,
			...CACHING,
			fetchMethod: async (id) => ({ view: await deps.resolveCharacter(id) }),
		});
		this.users = new LRUCache({
			max: CACHED_USERS,
			...CACHING,
			fetchMethod: async (username) => ({ user: await deps.findUser(username) }),
		});
		this.personas = new LRUCache({
			max: CACHED_PERSONAS,
			...CACHING,
			fetchMethod: (key, _stale, { context: user }) => deps.findPersona(key.split("|")[1] || null, user),
		});
		this.books = new LRUCache({ max: CACHED_BOOKS, ttl: CACHING.ttl });
		this.bookSets = new LRUCache({
			max: CACHED_BOOK_SETS,
			...CACHING,
			fetchMethod: async (_key, _stale, { context: turn }) => {
				const changes = this.lorebookChanges;
				const books = await deps.activeLorebooks(turn);
				return changes === this.lorebookChanges ? books.map((book) => this.shared(book, turn.characterId)) : books;
			},
		});
	}

	/** A character changed (its card's own book with it): the next message reads it again. */
	forgetCharacters(): void {
		this.characters.clear();
		this.forgetLorebooks();
	}

	/** A persona of this user changed (renamed, described, deleted, made default, given other books). */
	forgetPersonas(userId: string): void {
		for (const key of this.personas.keys()) if (key.startsWith(`${userId}|`)) this.personas.delete(key);
		this.forgetLorebooks();
	}

	/** A lorebook, or what one is attached to, changed. */
	forgetLorebooks(): void {
		this.lorebookChanges += 1;
		this.bookSets.clear();
		this.books.clear();
	}

	/**
	 * The character and who is asking, or null if the character is gone or the user may no longer see it: a
	 * character turned private or inactive must not reach the model on anyone else's behalf.
	 */
	async lookUp(
		payload: Pick<UserMsgPayload, "character_id" | "username" | "user_name" | "room">,
	): Promise<Speakers | null> {
		const character = (await this.characters.fetch(payload.character_id))?.view;
		if (!character) return null;
		const user = (await this.users.fetch(payload.username))?.user ?? null;
		// A room's cast is its owner's choice: a member may be answered by the owner's private character.
		const owner = payload.room ? ((await this.users.fetch(payload.room.owner))?.user ?? null) : user;
		if (!canView(character, null) && !canView(character, owner)) return null;
		return { character, user, fallbackName: payload.user_name ?? user?.name ?? payload.username };
	}

	/**
	 * The prompt: the character, the user's persona, the lore the recent messages call up, the session's summary
	 * (rebuilt first by `model` when an edit left it stale), its pinned messages and as much recent history as the
	 * budget holds.
	 */
	async assemble(payload: UserMsgPayload, speakers: Speakers, model: ChatModel): Promise<Prompted> {
		const stored = await this.deps.store.getSession(payload.session_id);
		if (payload.room) return this.assembleRoomTurn(payload, payload.room, stored, speakers, model);
		const history = await this.deps.memory.history(payload);
		const { session, names, options } = await this.context(stored, speakers, history, model);
		return { session, history, names, prompt: assemblePrompt(speakers.character, history, names.user, options) };
	}

	/**
	 * A room's turn: the room's latest messages (the reply being regenerated left out) as the speaking character reads
	 * them, everyone else's lines named, and who else is in the room; the asking member's persona is `{{user}}`.
	 */
	private async assembleRoomTurn(
		payload: UserMsgPayload,
		room: RoomTurnRef,
		stored: StoredSession | null,
		speakers: Speakers,
		model: ChatModel,
	): Promise<Prompted> {
		const rows = await this.deps.store.latestMessages(
			payload.session_id,
			this.deps.limits.historyWindow,
			undefined,
			true,
		);
		const speakerId = speakers.character.id;
		const last = rows.at(-1);
		if (
			payload.variant &&
			last?.role === "ai" &&
			last.reply_to === payload.message_id &&
			last.character_id === speakerId
		) {
			rows.pop();
		}
		const castIds = stored?.character_ids ?? [speakerId];
		const cast = await Promise.all(castIds.map(async (id) => (await this.characters.fetch(id))?.view ?? null));
		const nameOf = new Map(cast.filter((c) => c !== null).map((c) => [c.id, c.name]));
		const asked = stored && { ...stored, persona_id: room.persona_id };
		const lines = rows.map((row) => ({ ...historyEntry(row), character_id: row.character_id, speaker: row.speaker }));
		const people = [...new Set(rows.flatMap((row) => (row.speaker ? [row.speaker] : [])))];
		// What the asking member is called: their persona's name in the room, else their display name.
		const asking = (await this.persona(room.persona_id, speakers.user))?.name ?? speakers.fallbackName;
		const history = roomHistory(lines, speakerId, {
			character: (id) => nameOf.get(id) ?? "Someone",
			person: asking,
		});
		const { session, names, options } = await this.context(asked, speakers, history, model);
		const others = [...nameOf].filter(([id]) => id !== speakerId).map(([, name]) => name);
		options.room = roomSection(speakers.character.name, others, people);
		return { session, history, names, prompt: assemblePrompt(speakers.character, history, names.user, options) };
	}

	/**
	 * A `continue`'s prompt: the session up to and including the reply to extend, read from PostgreSQL (a continue is
	 * rare, and the stored reply is what is extended). Null if the reply is gone (rewound meanwhile).
	 */
	async continuation(payload: UserMsgPayload, speakers: Speakers, model: ChatModel): Promise<ContinuePrompted | null> {
		const { rows, history, names, options, session } = await this.recent(
			payload.session_id,
			speakers,
			model,
			payload.continue_id,
		);
		const reply = rows.at(-1);
		if (!reply || reply.id !== payload.continue_id) return null;
		return { reply, session, prompt: continuePrompt(speakers.character, history, names.user, options) };
	}

	/** An `impersonate`'s prompt (the session's recent history, then the ask to write the user's next line) and session. */
	async impersonation(
		params: ImpersonateParams,
		speakers: Speakers,
		model: ChatModel,
	): Promise<{ prompt: AssembledPrompt; session: StoredSession | null }> {
		const { history, names, options, session } = await this.recent(params.session_id, speakers, model);
		return { prompt: impersonationPrompt(speakers.character, history, names.user, options), session };
	}

	/**
	 * What a prompt outside any session is made with (the /v1 API, whose client sends the conversation): the names, the
	 * user's default persona and the lore `history` calls up from the character's and the persona's books.
	 */
	async detached(speakers: Speakers, history: HistoryEntry[], model: ChatModel) {
		const { names, options } = await this.context(null, speakers, history, model);
		return { names, options };
	}

	/** The session's latest messages as the story shows them (up to and including `upToId`, if given). */
	private async recent(sessionId: string, speakers: Speakers, model: ChatModel, upToId?: string) {
		const [stored, rows] = await Promise.all([
			this.deps.store.getSession(sessionId),
			this.deps.store.latestMessages(sessionId, this.deps.limits.historyWindow, upToId, true),
		]);
		const history = rows.map(historyEntry);
		return { rows, history, ...(await this.context(stored, speakers, history, model)) };
	}

	/**
	 * What a prompt of the session is made with besides its history: the names, the persona's description, the lore
	 * fired by the recent messages, the summary (rebuilt first when an edit left it stale) and the pinned messages.
	 */
	private async context(
		stored: StoredSession | null,
		{ character, user, fallbackName }: Speakers,
		history: HistoryEntry[],
		model: ChatModel,
	): Promise<{ session: StoredSession | null; names: Names; options: PromptOptions }> {
		const persona = await this.persona(stored?.persona_id ?? null, user);
		const names = { char: character.name, user: persona?.name ?? fallbackName };
		const [session, lore] = await Promise.all([
			stored && this.deps.memory.withTrueSummary(model, stored, history, names),
			this.lore(stored, character.id, persona?.id ?? null, history),
		]);
		const options: PromptOptions = {
			budgetTokens: this.deps.limits.promptTokens,
			summary: session && fullSummary(session),
			personaDescription: persona?.description || undefined,
			lore,
			pinned: session?.pinned.map(historyEntry),
		};
		return { session, names, options };
	}

	/** Whom the user plays: the session's persona while it is theirs, else their default; none for an account gone since. */
	private async persona(personaId: string | null, user: ChatUser | null): Promise<PersonaRow | undefined> {
		return user ? this.personas.fetch(`${user.id}|${personaId ?? ""}`, { context: user }) : undefined;
	}

	/** The lore entries the latest messages (the one answered last) call up from the turn's books; none without books. */
	private async lore(
		session: StoredSession | null,
		characterId: string,
		personaId: string | null,
		history: HistoryEntry[],
	) {
		const key = `${characterId}|${personaId ?? ""}|${session?.lorebook_ids.join(",") ?? ""}`;
		const turn = { characterId, personaId, sessionId: session?.id ?? null };
		const books = (await this.bookSets.fetch(key, { context: turn })) ?? [];
		if (books.length === 0) return undefined;
		const { lorebookScanDepth: scanDepth, lorebookTokens: tokenBudget } = this.deps.limits;
		const depth = Math.max(scanDepth, ...books.map((b) => b.scan_depth ?? 0));
		return selectLore(
			books,
			history.slice(-depth).map((e) => e.content),
			{ scanDepth, tokenBudget },
		);
	}

	/** The copy of `book` already held, else `book`, now held: what lore matching learns of a book is learnt once. */
	private shared(book: ActiveLorebook, characterId: string): ActiveLorebook {
		const key = book.id ?? `card:${characterId}`;
		const held = this.books.get(key);
		if (held) return held;
		this.books.set(key, book);
		return book;
	}
}
