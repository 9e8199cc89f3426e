/**
 * Chat history over REST: a user's sessions (newest first, with the character, a title, the last message, the persona
 * and lorebooks), one session, its title and persona, a session's messages page by page, branching a session off at a message, and deleting one.
 * Owner only, except that a room's members see it, read its messages and choose their persona in it (rooms.service.ts
 * has the rest of rooms); someone else's session is indistinguishable from none.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatStore, type SessionRow } from "../src/adapters/chat-store.js";
import { SessionStore, type SessionChanges, type SessionViewer } from "../src/adapters/session-store.js";
import { PersonaStore } from "../src/adapters/persona-store.js";
import { LorebookStore, MAX_ATTACHED_LOREBOOKS } from "../src/adapters/lorebook-store.js";
import { RoomStore } from "../src/adapters/room-store.js";
import { castOf } from "../src/adapters/room-cast.js";
import { LorebookEvent, type LorebookChangedPayload } from "../src/domain/lorebook.js";
import { toMessageView } from "../src/domain/message-view.js";
import { TITLE_MAX_CHARS, type ListedSession } from "../src/domain/session-view.js";
import { PRESET_FIELDS, presetChange, presetParams, type PresetChange } from "../src/domain/chat-presets.js";
import { assertModelAllowed } from "../src/adapters/llm/models.js";
import { roomChange, roomParams, toRoomView, type RoomView } from "../src/domain/room-view.js";
import {
	DEFAULT_REPLY_MODE,
	REPLY_MODES,
	RoomEvent,
	type ReplyMode,
	type RoomChangedPayload,
	type RoomMemberRemovedPayload,
} from "../src/domain/rooms.js";
import {
	MessageNotFound,
	NotRoomOwner,
	PersonaNotFound,
	SessionNotFound,
	Unauthorized,
	ValidationFailed,
} from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

interface SessionsMeta {
	user?: AuthUser;
	$statusCode?: number;
	$location?: string;
}
interface ListParams {
	limit: number;
	offset: number;
	character_id?: string;
}
interface MessagesParams {
	id: string;
	before?: string;
	limit: number;
}
interface IdParams {
	id: string;
}
interface UpdateParams extends IdParams, PresetChange {
	title?: string | null;
	persona_id?: string | null;
	lorebook_ids?: string[];
	reply_mode?: ReplyMode;
	character_ids?: string[];
}
interface BranchParams extends IdParams {
	message_id: string;
}

type SessionsThis = Service &
	DbThis & {
		store: ChatStore;
		sessions: SessionStore;
		personas: PersonaStore;
		lorebooks: LorebookStore;
		rooms: RoomStore;
		ownSession(ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow>;
		readableSession(ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow>;
		listedSession(meta: SessionsMeta, id: string): Promise<ListedSession>;
		roomView(meta: SessionsMeta, id: string, stored?: { title: string | null }): Promise<RoomView>;
		withDefaultPersona(meta: SessionsMeta, sessions: ListedSession[]): Promise<ListedSession[]>;
	};

export default function sessionsService(config: Config): ServiceSchema<ServiceSettingSchema, SessionsThis> {
	return {
		name: "sessions",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/**
			 * My sessions in which I said something (a character opened and left is not one) and my branches, most recently
			 * active first; not those with a character I may no longer see (made private or inactive since: its name is
			 * not mine to read). `character_id`: one character's chats (the web client resumes the latest).
			 */
			list: {
				description:
					"Your chat sessions in which you have sent a message, and your branches, most recently active first; " +
					"`character_id` lists one character's. `title` is yours, else the character and your first line",
				params: {
					limit: { type: "number", integer: true, min: 1, max: 100, default: 20, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 10_000, default: 0, convert: true },
					character_id: { type: "uuid", optional: true },
				},
				async handler(this: SessionsThis, ctx: Context<ListParams, SessionsMeta>) {
					const { limit, offset, character_id: characterId } = ctx.params;
					const sessions = await this.sessions.list(viewerOf(ctx.meta), { limit, offset, characterId });
					const rooms = await this.rooms.details(sessions.map((s) => s.id));
					return (await this.withDefaultPersona(ctx.meta, sessions)).map((s) => toRoomView(s, rooms.get(s.id)!));
				},
			},

			/** One session as the list shows it. */
			get: {
				description:
					"One of your chat sessions, or a room you are in: its character, title, where it was branched from, its " +
					"last message, `revision` (how many changes in place its story has had), `owner`, `reply_mode` (null " +
					"for a one-character chat), `characters` (in speaking order) and `members` (the owner first)",
				params: { id: "uuid" },
				async handler(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>) {
					return this.roomView(ctx.meta, ctx.params.id);
				},
			},

			/**
			 * Names a session (null gives it back its default title), chooses who the user plays in it (their own
			 * persona; null goes back to their default), the lorebooks active in it, and a room's reply mode and cast
			 * (given to a one-character chat, either makes it a room). A room's member may only choose their persona.
			 * The action keeps its first name: it began as renaming.
			 */
			rename: {
				description:
					`Change a session: title (1 to ${TITLE_MAX_CHARS} characters, or null for the default one), ` +
					"persona_id (one of your personas, or null for your default), lorebook_ids (the books active in it, in " +
					`order: yours or public ones), reply_mode (${REPLY_MODES.join(", ")}) and character_ids (1 to ` +
					`${config.chat.roomMaxCharacters} distinct characters, in speaking order): either makes a one-character ` +
					`chat a room; and its preset, ${PRESET_FIELDS.join(", ")} replacing the character's settings in it ` +
					"(null clears one; a model outside LLM_ALLOWED_MODELS is 422 MODEL_NOT_ALLOWED); at least one. A " +
					"room's member may change only persona_id (theirs in the room): 403 NOT_ROOM_OWNER otherwise",
				params: {
					id: "uuid",
					title: { type: "string", trim: true, min: 1, max: TITLE_MAX_CHARS, nullable: true, optional: true },
					persona_id: { type: "uuid", nullable: true, optional: true },
					lorebook_ids: { type: "array", items: "uuid", max: MAX_ATTACHED_LOREBOOKS, optional: true },
					reply_mode: roomParams(config.chat.roomMaxCharacters).reply_mode,
					character_ids: { ...roomParams(config.chat.roomMaxCharacters).character_ids, optional: true },
					...presetParams(config.llm),
				},
				async handler(this: SessionsThis, ctx: Context<UpdateParams, SessionsMeta>) {
					const { id, title, persona_id: personaId, lorebook_ids: lorebookIds } = ctx.params;
					const { reply_mode: replyMode, character_ids: characterIds } = ctx.params;
					for (const [field, value] of Object.entries({ reply_mode: replyMode, character_ids: characterIds })) {
						// The validator lets an optional field be null: a room stays a room, with a cast.
						const message = `${field} cannot be null`;
						if (value === null) throw ValidationFailed(message, [{ field, message, type: "required" }]);
					}
					const preset = presetChange(ctx.params);
					const ownerOnly = [title, lorebookIds, replyMode, characterIds, preset].some((v) => v !== undefined);
					if (!ownerOnly && personaId === undefined) {
						const fields = ["title", "persona_id", "lorebook_ids", "reply_mode", "character_ids", ...PRESET_FIELDS];
						const message = `Send at least one of ${fields.join(", ")}`;
						throw ValidationFailed(message, [{ field: "title", message, type: "required" }]);
					}
					assertModelAllowed(config.llm, "model", preset?.model);
					const user = requireUser(ctx.meta);
					const session = await this.listedSession(ctx.meta, id);
					if (session.owner !== user.username && ownerOnly) throw NotRoomOwner(id);
					if (personaId && !(await this.personas.get(user.id, personaId))) throw PersonaNotFound(personaId);
					if (session.owner !== user.username) {
						await this.rooms.setMemberPersona(id, user.username, personaId ?? null);
						void ctx.broadcast(RoomEvent.Changed, { session_id: id } satisfies RoomChangedPayload);
						return this.roomView(ctx.meta, id);
					}
					const shape = (await this.rooms.shape(id))!;
					const room = roomChange(shape, { reply_mode: replyMode, character_ids: characterIds }, DEFAULT_REPLY_MODE);
					if (room) {
						const cast = await castOf(ctx, room.character_ids);
						await this.rooms.updateRoom(
							id,
							room.reply_mode,
							cast.map((c) => c.id),
						);
					}
					if (lorebookIds) {
						await this.lorebooks.attach({ kind: "session", id: session.id }, user, lorebookIds);
						void this.broker.broadcast(LorebookEvent.Changed, {} satisfies LorebookChangedPayload);
					}
					const changes: SessionChanges = { title, personaId, preset };
					const unchanged = title === undefined && personaId === undefined && !preset;
					const updated = unchanged ? session : await this.sessions.update(session.id, changes);
					if (!updated) throw SessionNotFound(session.id);
					if (room || shape.reply_mode !== null)
						void ctx.broadcast(RoomEvent.Changed, { session_id: id } satisfies RoomChangedPayload);
					// The title as this change stored it (another one may follow at once), the persona and books as they are now.
					return this.roomView(ctx.meta, session.id, updated);
				},
			},

			/** One page of a session's (or a room's) messages in chronological order; `before` pages back from a message id. */
			messages: {
				description:
					"A page of a session's messages, oldest first; `before` pages back. `revision`: the changes in place " +
					"(edits, rewinds, swipe choices, continued replies) the page holds; frames up to it are in it",
				params: {
					id: "uuid",
					before: { type: "uuid", optional: true },
					limit: { type: "number", integer: true, min: 1, max: 200, default: 50, convert: true },
				},
				async handler(this: SessionsThis, ctx: Context<MessagesParams, SessionsMeta>) {
					const session = await this.readableSession(ctx);
					// One extra row tells whether an older page exists.
					const rows = await this.store.pageMessages(session.id, ctx.params.before, ctx.params.limit + 1);
					const hasMore = rows.length > ctx.params.limit;
					return {
						session_id: session.id,
						character_id: session.character_id,
						// Read before the page: the page has every change up to it (a client ignores frames up to it).
						revision: Number(session.revision),
						has_more: hasMore,
						messages: rows.slice(0, ctx.params.limit).reverse().map(toMessageView),
					};
				},
			},

			/** Deletes a session and all its messages; a room's members are cut off from it. */
			remove: {
				description: "Delete a session (or your room) and its messages",
				params: { id: "uuid" },
				async handler(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>) {
					const session = await this.ownSession(ctx);
					const people = await this.rooms.people(session.id);
					await this.store.deleteSession(session.id);
					for (const username of people.filter((p) => p !== session.username)) {
						const removed: RoomMemberRemovedPayload = { session_id: session.id, username };
						void ctx.broadcast(RoomEvent.MemberRemoved, removed);
					}
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/**
			 * A new session continuing from one of this session's messages: copies of the messages up to it (the replies
			 * shown, or the swipe branched from), the original left as it is; both go on independently.
			 */
			branch: {
				description:
					"Branch a session off at one of its messages: a new session with copies of the messages up to and " +
					"including it (the replies shown); the original is unchanged",
				params: { id: "uuid", message_id: "uuid" },
				async handler(this: SessionsThis, ctx: Context<BranchParams, SessionsMeta>) {
					const session = await this.listedSession(ctx.meta, ctx.params.id);
					if (session.owner !== requireUser(ctx.meta).username) throw NotRoomOwner(session.id);
					const branchId = await this.sessions.branch(session.id, ctx.params.message_id);
					if (!branchId) throw MessageNotFound(ctx.params.message_id);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/sessions/${branchId}`;
					return this.roomView(ctx.meta, branchId);
				},
			},
		},

		methods: {
			async ownSession(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow> {
				const user = requireUser(ctx.meta);
				const session = await this.store.getSession(ctx.params.id);
				if (!session || session.username !== user.username) throw SessionNotFound(ctx.params.id);
				return session;
			},

			/** My session, or a room I am a member of (404 for anyone else: removed members too). */
			async readableSession(this: SessionsThis, ctx: Context<IdParams, SessionsMeta>): Promise<SessionRow> {
				const user = requireUser(ctx.meta);
				const [session, place] = await Promise.all([
					this.store.getSession(ctx.params.id),
					this.rooms.membership(ctx.params.id, user.username),
				]);
				if (!session || !place) throw SessionNotFound(ctx.params.id);
				return session;
			},

			/** The session as GET /sessions/:id shows it, with its cast and people; `stored`: the title as a change stored it. */
			async roomView(this: SessionsThis, meta: SessionsMeta, id: string, stored?: { title: string | null }) {
				const listed = await this.listedSession(meta, id);
				const rooms = await this.rooms.details([id]);
				return toRoomView(stored ? { ...listed, title: stored.title } : listed, rooms.get(id)!);
			},

			/** My session as the list shows it: unknown, someone else's or with a character I may no longer see is a 404. */
			async listedSession(this: SessionsThis, meta: SessionsMeta, id: string): Promise<ListedSession> {
				const session = await this.sessions.find(viewerOf(meta), id);
				if (!session) throw SessionNotFound(id);
				const [shown] = await this.withDefaultPersona(meta, [session]);
				return shown;
			},

			/** Sessions of a user who has no persona at all show the default made for them now. */
			async withDefaultPersona(this: SessionsThis, meta: SessionsMeta, sessions: ListedSession[]) {
				if (sessions.every((s) => s.persona_id)) return sessions;
				const persona = await this.personas.defaultFor(requireUser(meta));
				return sessions.map((s) => (s.persona_id ? s : { ...s, persona_id: persona.id, persona_name: persona.name }));
			},
		},

		started(this: SessionsThis) {
			this.store = new ChatStore(this.db.sequelize);
			this.sessions = new SessionStore(this.db.sequelize);
			this.personas = new PersonaStore(this.db.sequelize);
			this.lorebooks = new LorebookStore(this.db.sequelize);
			this.rooms = new RoomStore(this.db.sequelize);
		},
	};
}

function requireUser(meta: SessionsMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

function viewerOf(meta: SessionsMeta): SessionViewer {
	const user = requireUser(meta);
	return { username: user.username, id: user.id, isAdmin: user.role === "admin", showNsfw: user.show_nsfw };
}
