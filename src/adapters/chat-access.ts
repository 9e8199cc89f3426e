/**
 * Who may chat, at the handshake and while the socket is open. A handshake is admitted within the handshakes per
 * client IP and per user per minute (counted in Redis in a cluster) and the user's sockets on this node; then the
 * token (auth.validate; a ticket is first traded for its token, auth.redeemWsTicket), the character (characters.get,
 * with its visibility rules) and the persona (the user's own) are checked and the session resumed or opened. Later,
 * a character that changed is looked at again for every socket chatting with it.
 * Refusals are thrown as the errors of src/errors.ts, which ws-upgrade.ts answers with their HTTP status.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ServiceBroker } from "moleculer";
import type { Redis } from "ioredis";
import { QueryTypes, type Sequelize } from "sequelize";
import type { Config } from "../config.js";
import {
	BadRequest,
	HandshakeRejected,
	PersonaNotFound,
	RateLimited,
	SessionNotFound,
	TooManySockets,
} from "../errors.js";
import { canView, type Viewer, type VisibilityFields } from "../domain/characters.js";
import { clientAddress } from "../domain/client-address.js";
import {
	parseChatHandshake,
	pickGreeting,
	tokenExpiry,
	type ChatHandshake,
	type GreetingSource,
} from "../domain/chat-handshake.js";
import type { ChatStore, SessionClaims, SessionRow } from "./chat-store.js";
import { PersonaStore, type PersonaRow } from "./persona-store.js";
import { SessionStore } from "./session-store.js";
import { RoomStore, type Membership } from "./room-store.js";
import type { RouteRegistry } from "./route-registry.js";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { redisKey } from "./redis.js";
import type { ChatClient, ClientIdentity, SocketHub } from "./socket-hub.js";
import type { ConnectionFrame } from "../domain/chat-wire.js";

/** What auth.validate answers. */
export interface ChatUser {
	id: string;
	username: string;
	/** Display name. */
	name: string;
	role: Viewer["role"];
	show_nsfw?: boolean;
	/** The token's id (`jti`). */
	token_id?: string;
	/** Set when the token is an API key (its id). */
	api_key_id?: string;
}

export interface ChatCharacter extends GreetingSource {
	id: string;
}

/** A room as its `connection` frame shows it. */
export interface OpenedRoom {
	reply_mode: string;
	owner: string;
	/** The cast in speaking order (characters deleted since are left out). */
	characters: { id: string; name: string }[];
}

export interface OpenedChat {
	handshake: ChatHandshake;
	user: ChatUser;
	/** The session's character; in a room, the one named in the path, else the first of its cast. */
	character: ChatCharacter;
	session: SessionRow;
	/** Who the user plays in it. */
	persona: Pick<PersonaRow, "id" | "name">;
	/** Set when the session is a room. */
	room?: OpenedRoom;
	resumed: boolean;
	/** When the token expires (ms since the epoch). */
	expiresAt: number | undefined;
}

/** Who a socket of this chat is. */
export function clientIdentity({ user, session, character, persona, room }: OpenedChat): ClientIdentity {
	const { id: userId, username, name, role, show_nsfw: showNsfw } = user;
	const identity: ClientIdentity = { userId, username, name, role, sessionId: session.id, characterId: character.id };
	if (showNsfw) identity.showNsfw = true;
	if (user.token_id) identity.tokenId = user.token_id;
	if (user.api_key_id) identity.apiKey = true;
	if (room) identity.room = { owner: room.owner, persona: persona.name };
	return identity;
}

/**
 * The first frame a socket gets; `model` names the model, so nobody mistakes the offline one for an LLM. `revision`
 * must be read once the socket receives the session's frames (registered, routed), so no change falls in between.
 */
export function connectionFrame(
	{ user, session, character, persona, resumed, room }: OpenedChat,
	model: string,
	revision: number,
): ConnectionFrame {
	const frame: ConnectionFrame = {
		type: "connection",
		message: "Connected to chat",
		session_id: session.id,
		username: user.username,
		character_id: character.id,
		character_name: character.name,
		persona: { id: persona.id, name: persona.name },
		model,
		resumed,
		revision,
	};
	if (room) frame.room = room;
	return frame;
}

type Grant = VisibilityFields & { id: string };

export class ChatAccess {
	private readonly perIp: RateLimiter;
	private readonly perUser: RateLimiter;
	/** A recheck running, and whether another change came in meanwhile (it runs again once, after). */
	private rechecking?: Promise<void>;
	private recheckAgain = false;
	/** Fresh sessions handshakes on this node opened, until their socket closes (the hub has them only once upgraded). */
	private readonly opening = new Set<string>();
	private readonly personas: PersonaStore;
	private readonly sessions: SessionStore;
	private readonly rooms: RoomStore;

	constructor(
		private readonly config: Config,
		private readonly broker: ServiceBroker,
		private readonly sequelize: Sequelize,
		private readonly store: ChatStore,
		private readonly hub: SocketHub,
		private readonly routes: RouteRegistry,
		redis?: Redis,
	) {
		const limiter = (name: string, points: number) =>
			createRateLimiter({ keyPrefix: redisKey(config.namespace, "limit", name), points, durationSeconds: 60, redis });
		this.perIp = limiter("ws-handshake-ip", config.chat.handshakesPerIpPerMinute);
		this.perUser = limiter("ws-handshake-user", config.chat.handshakesPerUserPerMinute);
		this.personas = new PersonaStore(sequelize);
		this.sessions = new SessionStore(sequelize);
		this.rooms = new RoomStore(sequelize);
	}

	/**
	 * Checks a handshake and opens its chat. The user's socket slot on this node is held until `socket` closes,
	 * whether or not the upgrade completes.
	 */
	async open(req: IncomingMessage, socket: Duplex): Promise<OpenedChat> {
		await admit(
			this.perIp,
			clientAddress(req.headers["x-forwarded-for"], req.socket.remoteAddress, this.config.trustedProxyHops),
			"from your address",
		);
		const parsed = parseChatHandshake(req.url ?? "", req.headers.authorization);
		if (!parsed.ok) throw HandshakeRejected(parsed.problem, parsed.detail);
		const h = parsed.value;
		// A ticket stands for a token, which is then checked as one given in the URL would be.
		const token = h.ticket
			? await this.broker.call<string, { ticket: string }>("auth.redeemWsTicket", { ticket: h.ticket })
			: h.token!;
		const user = await this.broker.call<ChatUser, { token: string }>("auth.validate", { token });
		await admit(this.perUser, user.username, "for your account");
		this.claimSlot(user.username, socket);

		// Someone else's persona is "not found" too, as a session is.
		const chosen = h.personaId ? await this.personas.get(user.id, h.personaId) : undefined;
		if (chosen === null) throw PersonaNotFound(h.personaId!);
		const opened = { handshake: h, user, expiresAt: tokenExpiry(token) };
		if (!h.sessionId) {
			const character = await this.visibleCharacter(h.characterId!, user);
			const persona = chosen ?? (await this.personas.defaultFor(user));
			const greeting = pickGreeting(character, h.greeting ?? 0, persona.name);
			const fresh = await this.store.openFreshSession(user.username, character.id, greeting, this.claims(socket));
			if (fresh.persona_id !== persona.id) await this.sessions.update(fresh.id, { personaId: persona.id });
			return { ...opened, character, session: { ...fresh, persona_id: persona.id }, persona, resumed: false };
		}
		const session = await this.store.getSession(h.sessionId);
		// Someone else's session is "not found" too, as over REST, so session ids cannot be probed.
		const membership = session && (await this.rooms.membership(session.id, user.username));
		if (!session || !membership) throw SessionNotFound(h.sessionId);
		if (session.reply_mode !== null) {
			return { ...opened, ...(await this.joinRoom(session, membership, user, chosen, h.characterId)) };
		}
		const character = await this.visibleCharacter(h.characterId ?? session.character_id, user);
		if (session.character_id !== character.id) {
			throw HandshakeRejected("invalid_param", "This chat session is with another character");
		}
		if (chosen && chosen.id !== session.persona_id) {
			await this.sessions.update(session.id, { personaId: chosen.id });
			return { ...opened, character, session: { ...session, persona_id: chosen.id }, persona: chosen, resumed: true };
		}
		const persona = chosen ?? (await this.personas.forSession(session.persona_id, user));
		return { ...opened, character, session, persona, resumed: true };
	}

	/**
	 * A member joining a room: its cast is the owner's choice, judged by their rights (ai-consumer checks again for every
	 * reply), so it is resolved here without the member's. A persona chosen in the URL becomes theirs in the room.
	 */
	private async joinRoom(
		session: SessionRow,
		membership: Membership,
		user: ChatUser,
		chosen: PersonaRow | undefined,
		characterId: string | undefined,
	) {
		const cast = await Promise.all(
			(session.character_ids ?? [session.character_id]).map((id) =>
				this.broker.call<ChatCharacter | null, { id: string }>("characters.resolve", { id }),
			),
		);
		const present = cast.filter((c): c is ChatCharacter => c !== null);
		const character = characterId ? present.find((c) => c.id === characterId) : present[0];
		if (!character) throw HandshakeRejected("invalid_param", "This character is not in this room");
		if (chosen && chosen.id !== membership.persona_id)
			await this.rooms.choosePersona(session.id, membership, user.username, chosen.id);
		const persona = chosen ?? (await this.personas.forSession(membership.persona_id, user));
		const room: OpenedRoom = {
			reply_mode: session.reply_mode!,
			owner: session.username,
			characters: present.map(({ id, name }) => ({ id, name })),
		};
		return { character, session, persona, room, resumed: true };
	}

	/** The character of a one-character chat, as its user may see it (else "not found"). */
	private visibleCharacter(id: string, user: ChatUser): Promise<ChatCharacter> {
		const meta = { user: { id: user.id, username: user.username, role: user.role, show_nsfw: user.show_nsfw } };
		return this.broker.call<ChatCharacter, { id: string }>("characters.get", { id }, { meta });
	}

	/**
	 * After a change to characters: the sockets whose user may no longer see their character (made private or
	 * inactive, deleted). One query for all the characters this node's sockets chat with; changes that come in while
	 * it runs are covered by one more run.
	 */
	async lostCharacters(): Promise<ChatClient[]> {
		if (this.rechecking) {
			this.recheckAgain = true;
			await this.rechecking;
			return [];
		}
		const lost: ChatClient[] = [];
		this.rechecking = (async () => {
			do {
				this.recheckAgain = false;
				// A room's cast was the owner's to choose: its replies are checked against them (ai-consumer).
				const clients = [...this.hub.clients()].filter((c) => c.identity.room === undefined);
				const ids = [...new Set(clients.map((c) => c.identity.characterId))];
				if (ids.length === 0) continue;
				const grants = await this.sequelize.query<Grant>(
					`SELECT id, created_by, is_public, is_active, hidden, nsfw FROM ai_characters WHERE id = ANY($1::uuid[])`,
					{
						bind: [ids],
						type: QueryTypes.SELECT,
					},
				);
				const byId = new Map(grants.map((g) => [g.id, g]));
				for (const client of clients) {
					const grant = byId.get(client.identity.characterId);
					const { userId, role, showNsfw } = client.identity;
					if (!grant || !canView(grant, { id: userId, role, show_nsfw: showNsfw })) lost.push(client);
				}
			} while (this.recheckAgain);
		})();
		try {
			await this.rechecking;
		} finally {
			this.rechecking = undefined;
		}
		return [...new Set(lost)];
	}

	/**
	 * An empty session is taken while a socket holds it here, on another node (the route registry; a handshake there
	 * that has not registered yet can slip through, and then two fresh tabs share an empty chat), or is opening here.
	 */
	private claims(socket: Duplex): SessionClaims {
		return {
			taken: async (ids) => {
				const held = await Promise.all(
					ids.map(
						async (id) => this.opening.has(id) || this.hub.holds(id) || (await this.routes.lookup(id)).length > 0,
					),
				);
				return new Set(ids.filter((_, i) => held[i]));
			},
			claim: (id) => {
				if (socket.destroyed) return;
				this.opening.add(id);
				socket.once("close", () => this.opening.delete(id));
			},
		};
	}

	private claimSlot(username: string, socket: Duplex): void {
		const max = this.config.chat.maxSocketsPerUser;
		if (!this.hub.claimSlot(username, max)) throw TooManySockets(max);
		if (socket.destroyed) {
			this.hub.releaseSlot(username);
			throw BadRequest("The connection closed during the handshake");
		}
		socket.once("close", () => this.hub.releaseSlot(username));
	}
}

async function admit(limiter: RateLimiter, key: string, whose: string): Promise<void> {
	const { allowed, retryAfterSeconds } = await limiter.hit(key);
	if (allowed) return;
	throw RateLimited(retryAfterSeconds, `Too many connection attempts ${whose}; retry in ${retryAfterSeconds} s`);
}
