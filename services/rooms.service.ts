/**
 * Rooms over REST (issue 15): creating one with a cast of characters, its members (added by username by the owner, or
 * joining through an invite link; leaving; removed by the owner) and its invite links. A room is shown as GET
 * /sessions/:id shows it (sessions.get). Someone who is not in a room gets 404 for it, as for any session not theirs;
 * a member asking for what only the owner may do gets 403 NOT_ROOM_OWNER.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { RoomStore, type RoomShape } from "../src/adapters/room-store.js";
import { PersonaStore } from "../src/adapters/persona-store.js";
import { castOf } from "../src/adapters/room-cast.js";
import { pickGreeting } from "../src/domain/chat-handshake.js";
import { TITLE_MAX_CHARS } from "../src/domain/session-view.js";
import {
	DEFAULT_REPLY_MODE,
	REPLY_MODES,
	RoomEvent,
	type ReplyMode,
	type RoomChangedPayload,
	type RoomMemberRemovedPayload,
} from "../src/domain/rooms.js";
import {
	INVITE_MAX_TTL_SECONDS,
	INVITE_MAX_USES,
	INVITE_MIN_TTL_SECONDS,
	INVITE_PARAMS,
	inviteState,
	inviteTerms,
	roomParams,
	toInviteView,
	type RoomView,
} from "../src/domain/room-view.js";
import {
	InviteExpired,
	InviteNotFound,
	MemberNotFound,
	NotARoom,
	NotRoomOwner,
	OwnerCannotLeave,
	PersonaNotFound,
	RoomFull,
	SessionNotFound,
	Unauthorized,
	UserNotFound,
} from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

interface RoomsMeta {
	user?: AuthUser;
	$statusCode?: number;
	$location?: string;
}
interface CreateParams {
	character_ids: string[];
	title?: string | null;
	reply_mode?: ReplyMode;
	persona_id?: string;
}
interface IdParams {
	id: string;
}
interface MemberParams extends IdParams {
	username: string;
}
interface InviteParams extends IdParams {
	max_uses?: number | null;
	expires_in_seconds?: number;
}
interface CodeParams {
	code: string;
}
interface InviteCodeParams extends IdParams, CodeParams {}

type RoomsThis = Service &
	DbThis & {
		rooms: RoomStore;
		personas: PersonaStore;
		ownedRoom(ctx: Context<IdParams, RoomsMeta>, mustBeRoom: boolean): Promise<RoomShape>;
		roomView(ctx: Context<unknown, RoomsMeta>, id: string): Promise<RoomView>;
		changed(ctx: Context, id: string): void;
	};

const ID = { type: "uuid" } as const;
/** base64url of 18 random bytes is 24 characters; anything else cannot be a code. */
const CODE = { type: "string", min: 1, max: 64, pattern: "^[A-Za-z0-9_-]+$" } as const;

export default function roomsService(config: Config): ServiceSchema<ServiceSettingSchema, RoomsThis> {
	const maxMembers = config.chat.roomMaxMembers;
	return {
		name: "rooms",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** A room of the caller's: its cast (greetings stored in cast order), title, reply mode and persona. */
			create: {
				description:
					`Create a room: character_ids (1 to ${config.chat.roomMaxCharacters} characters you may see, distinct, ` +
					`in speaking order; each one's greeting opens it), title (1 to ${TITLE_MAX_CHARS} characters), ` +
					`reply_mode (${REPLY_MODES.join(", ")}; default ${DEFAULT_REPLY_MODE}), persona_id (one of yours)`,
				params: {
					...roomParams(config.chat.roomMaxCharacters),
					title: { type: "string", trim: true, min: 1, max: TITLE_MAX_CHARS, nullable: true, optional: true },
					persona_id: { type: "uuid", optional: true },
				},
				async handler(this: RoomsThis, ctx: Context<CreateParams, RoomsMeta>) {
					const user = requireUser(ctx.meta);
					const { character_ids: ids, title, reply_mode: replyMode, persona_id: personaId } = ctx.params;
					const persona = personaId
						? await this.personas.get(user.id, personaId)
						: await this.personas.defaultFor(user);
					if (!persona) throw PersonaNotFound(personaId!);
					const cast = await castOf(ctx, ids);
					const id = await this.rooms.create({
						owner: user.username,
						characterIds: cast.map((c) => c.id),
						replyMode: replyMode ?? DEFAULT_REPLY_MODE,
						title: title ?? null,
						personaId: personaId ?? null,
						greetings: cast
							.map((c) => ({ characterId: c.id, content: pickGreeting(c, 0, persona.name) }))
							.filter((g) => g.content),
					});
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/sessions/${id}`;
					return this.roomView(ctx, id);
				},
			},

			/** The owner adds someone by username; someone already in the room is answered 200 as they are. */
			addMember: {
				description:
					"Add someone to your room by username (an active account): 201 with the room; 200 if they are in it " +
					`already; 409 ROOM_FULL past ${maxMembers} people (you included). Someone you removed is let back in`,
				params: { id: ID, username: { type: "string", min: 1, max: 64 } },
				async handler(this: RoomsThis, ctx: Context<MemberParams, RoomsMeta>) {
					await this.ownedRoom(ctx, true);
					const who = await this.rooms.candidate(ctx.params.username);
					if (!who) throw UserNotFound(ctx.params.username);
					const result = await this.rooms.addMember(ctx.params.id, who.username, maxMembers);
					if (result === "full") throw RoomFull(ctx.params.id, maxMembers);
					if (result === "joined") {
						await this.personas.defaultFor(who);
						this.changed(ctx, ctx.params.id);
						ctx.meta.$statusCode = 201;
						ctx.meta.$location = `/sessions/${ctx.params.id}`;
					}
					return this.roomView(ctx, ctx.params.id);
				},
			},

			/** A member leaves (they may come back by a link); the owner deletes the room instead. */
			leave: {
				description: "Leave a room you are a member of (its owner deletes it instead: 409 OWNER_CANNOT_LEAVE)",
				params: { id: ID },
				async handler(this: RoomsThis, ctx: Context<IdParams, RoomsMeta>) {
					const user = requireUser(ctx.meta);
					const place = await this.rooms.membership(ctx.params.id, user.username);
					if (!place) throw SessionNotFound(ctx.params.id);
					if (place.role === "owner") throw OwnerCannotLeave(ctx.params.id);
					if (!(await this.rooms.leave(ctx.params.id, user.username))) throw SessionNotFound(ctx.params.id);
					removed(ctx, ctx.params.id, user.username);
					this.changed(ctx, ctx.params.id);
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** The owner removes a member: their sockets close, and they can neither read nor rejoin the room. */
			removeMember: {
				description:
					"Remove a member from your room: their connections close at once, and they can neither read the room " +
					"nor rejoin it through a link (only you can add them back)",
				params: { id: ID, username: { type: "string", min: 1, max: 64 } },
				async handler(this: RoomsThis, ctx: Context<MemberParams, RoomsMeta>) {
					const room = await this.ownedRoom(ctx, false);
					if (room.owner.toLowerCase() === ctx.params.username.toLowerCase()) throw OwnerCannotLeave(room.id);
					const gone = await this.rooms.removeMember(room.id, ctx.params.username);
					if (!gone) throw MemberNotFound(ctx.params.username);
					if (!gone.already) {
						removed(ctx, room.id, gone.username);
						this.changed(ctx, room.id);
					}
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** A link that lets people join: single use by default, lasting a week. */
			createInvite: {
				description:
					`Make an invite link to your room: max_uses (1 to ${INVITE_MAX_USES}, null for unlimited; default 1), ` +
					`expires_in_seconds (${INVITE_MIN_TTL_SECONDS} to ${INVITE_MAX_TTL_SECONDS}; default a week). ` +
					"Anyone logged in joins with POST /invites/{code}/accept",
				params: {
					id: ID,
					...INVITE_PARAMS,
				},
				async handler(this: RoomsThis, ctx: Context<InviteParams, RoomsMeta>) {
					const room = await this.ownedRoom(ctx, true);
					const invite = await this.rooms.createInvite(room.id, room.owner, inviteTerms(ctx.params));
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/sessions/${room.id}/invites`;
					return toInviteView(invite);
				},
			},

			/** The room's invites that still work. */
			invites: {
				description: "Your room's invite links that still let someone in (not expired, uses left), newest first",
				params: { id: ID },
				async handler(this: RoomsThis, ctx: Context<IdParams, RoomsMeta>) {
					const room = await this.ownedRoom(ctx, false);
					const now = new Date();
					const invites = await this.rooms.invites(room.id);
					return invites.filter((i) => inviteState(i, now) === "live").map(toInviteView);
				},
			},

			/** Revokes a link; those who joined through it stay. */
			revokeInvite: {
				description: "Revoke one of your room's invite links (who joined through it stays)",
				params: { id: ID, code: CODE },
				async handler(this: RoomsThis, ctx: Context<InviteCodeParams, RoomsMeta>) {
					const room = await this.ownedRoom(ctx, false);
					if (!(await this.rooms.revokeInvite(room.id, ctx.params.code))) throw InviteNotFound();
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** Joins the room of an invite; the owner and members are answered with the room without using the link. */
			acceptInvite: {
				description:
					"Join a room through an invite link: 200 with the room (a member already joins for free); " +
					"404 INVITE_NOT_FOUND, 410 INVITE_EXPIRED (expired or used up), 409 ROOM_FULL",
				params: { code: CODE },
				async handler(this: RoomsThis, ctx: Context<CodeParams, RoomsMeta>) {
					const user = requireUser(ctx.meta);
					const { result, sessionId } = await this.rooms.acceptInvite(ctx.params.code, user.username, maxMembers);
					if (result === "unknown" || result === "refused" || !sessionId) throw InviteNotFound();
					if (result === "expired") throw InviteExpired();
					if (result === "full") throw RoomFull(sessionId, maxMembers);
					if (result === "joined") {
						await this.personas.defaultFor(user);
						this.changed(ctx, sessionId);
					}
					return this.roomView(ctx, sessionId);
				},
			},
		},

		methods: {
			/** The caller's own session `id` (a room when `mustBeRoom`): 404 when not theirs at all, 403 for a member. */
			async ownedRoom(this: RoomsThis, ctx: Context<IdParams, RoomsMeta>, mustBeRoom: boolean): Promise<RoomShape> {
				const user = requireUser(ctx.meta);
				const [room, place] = await Promise.all([
					this.rooms.shape(ctx.params.id),
					this.rooms.membership(ctx.params.id, user.username),
				]);
				if (!room || !place) throw SessionNotFound(ctx.params.id);
				if (place.role !== "owner") throw NotRoomOwner(ctx.params.id);
				if (mustBeRoom && room.reply_mode === null) throw NotARoom(room.id);
				return room;
			},

			/** The room as GET /sessions/:id shows it to the caller. */
			roomView(this: RoomsThis, ctx: Context<unknown, RoomsMeta>, id: string): Promise<RoomView> {
				return ctx.call<RoomView, IdParams>("sessions.get", { id });
			},

			/** Tells every node the room changed (chat-ws sends its sockets a `room` frame). */
			changed(this: RoomsThis, ctx: Context, id: string): void {
				void ctx.broadcast(RoomEvent.Changed, { session_id: id } satisfies RoomChangedPayload);
			},
		},

		started(this: RoomsThis) {
			this.rooms = new RoomStore(this.db.sequelize);
			this.personas = new PersonaStore(this.db.sequelize);
		},
	};
}

/** Tells every node that `username` is out of the room: chat-ws closes their sockets there (4003). */
function removed(ctx: Context, sessionId: string, username: string): void {
	void ctx.broadcast(RoomEvent.MemberRemoved, { session_id: sessionId, username } satisfies RoomMemberRemovedPayload);
}

function requireUser(meta: RoomsMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}
