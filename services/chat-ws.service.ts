/**
 * The WebSocket edge: `ws://host:8004/ws/{character_id}?ticket=T[&session_id=ID&after=MESSAGE_ID]` (or
 * `?token=JWT`), or `/ws/session/{session_id}` to join a room, also reachable on the gateway's port when both run in
 * one process. It admits and authenticates during the upgrade (refusing with
 * 401/403/404/429, see chat-access.ts), opens or resumes the session, replays what the client has not seen, stores
 * and echoes user messages, sends them to `chat.user.msg`, and in a cluster serves gRPC `Delivery` so replies reach
 * the sockets it holds. Sockets end when their user is disabled, their token expires or their character is no longer
 * theirs to see, or their owner removed them from the room (close codes in socket-hub.ts). A room's sockets hear who
 * joins and leaves (room-presence.ts).
 */
import http, { type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import { ShuttingDown } from "../src/errors.js";
import ChatMixin, { type ChatThis } from "../mixins/chat.mixin.js";
import { ChatAccess, clientIdentity, connectionFrame, type OpenedChat } from "../src/adapters/chat-access.js";
import { acquireRedis, releaseRedis } from "../src/adapters/redis.js";
import { keepRoutes } from "../src/adapters/chat-runtime.js";
import { handleFrame, turnDeps, type TurnDeps } from "../src/adapters/chat-turns.js";
import { startDeliveryServer, type DeliveryServer } from "../src/adapters/grpc-delivery.js";
import { chatModelName } from "../src/adapters/llm/factory.js";
import { ChatClient, CloseCode, SocketHub, type SocketInfo } from "../src/adapters/socket-hub.js";
import { chatUpgrades, listenForChat, refuseUpgrade, toRefusal } from "../src/adapters/ws-upgrade.js";
import { gatewayServer } from "../src/adapters/gateway-server.js";
import { CharacterEvent } from "../src/domain/characters.js";
import {
	errorFrame,
	messageFrame,
	serializeFrame,
	type ErrorFrame,
	type SessionFrames,
} from "../src/domain/chat-wire.js";
import { revokedBy, UserEvent, type TokensRevokedPayload, type UserDisabledPayload } from "../src/domain/accounts.js";
import { AdminEvent, type LimitsChangedPayload } from "../src/domain/admin.js";
import { RoomEvent, type RoomChangedPayload, type RoomMemberRemovedPayload } from "../src/domain/rooms.js";
import { RoomPresence } from "../src/adapters/room-presence.js";
import { RoomStore } from "../src/adapters/room-store.js";

export type { SocketInfo };

/** Most messages replayed on connect; older history is paged over REST. */
const REPLAY_LIMIT = 200;
/** Longest wait at stop for frames already received to be stored and published. */
const IN_FLIGHT_FRAMES_MS = 5000;

type ChatWsThis = Service &
	ChatThis & {
		state: "running" | "closing";
		access: ChatAccess;
		turns: TurnDeps;
		redis?: Redis;
		hub: SocketHub;
		presence: RoomPresence;
		wss: WebSocketServer;
		httpServer: http.Server;
		grpc?: DeliveryServer;
		address?: string;
		/** Named in the `connection` frame, so nobody mistakes the offline model for an LLM. */
		modelName: string;
		keepAlive?: NodeJS.Timeout;
		stopKeepingRoutes?: () => void;
		detachSockets?: () => void;
		listen(): Promise<void>;
		joinCluster(): Promise<void>;
		catchUp(): Promise<void>;
		upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
		onConnection(ws: WebSocket, chat: OpenedChat): Promise<void>;
		sendError(client: ChatClient, frame: ErrorFrame): void;
		deliverLocal(items: SessionFrames[]): number;
	};

export default function chatWsService(config: Config): ServiceSchema<ServiceSettingSchema, ChatWsThis> {
	return {
		name: "chat-ws",

		/** `this.db` (PostgreSQL), the chat store, runtime and metrics, `publish`. */
		mixins: [ChatMixin(config)],

		settings: { port: config.wsPort },

		/** Tokens are checked by auth, characters looked up (with visibility rules) by characters. */
		dependencies: ["auth", "characters"],

		/** For operators (the REPL calls them on every chat-ws node); `visibility: "public"` keeps them off the gateway. */
		actions: {
			/** This node's open sockets, optionally of one user. */
			sockets: {
				visibility: "public",
				params: { username: { type: "string", optional: true, max: 64 } },
				handler(this: ChatWsThis, ctx: Context<{ username?: string }>): SocketInfo[] {
					return this.hub.describe(this.broker.nodeID, ctx.params.username);
				},
			},

			/** Who has a socket of a room open on this node (RoomPresence asks every node). */
			present: {
				visibility: "public",
				params: { session_id: "uuid" },
				handler(this: ChatWsThis, ctx: Context<{ session_id: string }>): string[] {
					return this.hub.usersIn(ctx.params.session_id);
				},
			},

			/** Closes this node's sockets of a session; returns how many. The client may reconnect (disabling stops that). */
			kick: {
				visibility: "public",
				params: { session_id: "uuid" },
				handler(this: ChatWsThis, ctx: Context<{ session_id: string }>): number {
					return this.hub.closeWhere(
						(c) => c.identity.sessionId === ctx.params.session_id,
						CloseCode.Kicked,
						"Disconnected by an operator",
					);
				},
			},
		},

		/** Grants checked at the handshake are taken back from open sockets too. */
		events: {
			[UserEvent.Disabled](this: ChatWsThis, ctx: Context<UserDisabledPayload>) {
				this.hub.closeWhere(
					(c) => c.identity.username === ctx.params.username,
					CloseCode.AccountDisabled,
					"Account disabled",
				);
			},

			/** An admin changed a user's limits: their next message is held to the new ones. */
			[AdminEvent.LimitsChanged](this: ChatWsThis, ctx: Context<LimitsChangedPayload>) {
				this.turns?.userLimits.drop(ctx.params.username);
			},

			/** Logged out, password changed, account deleted: those tokens' sockets end as an expired token's do. */
			[UserEvent.TokensRevoked](this: ChatWsThis, ctx: Context<TokensRevokedPayload>) {
				this.hub.closeWhere((c) => revokedBy(ctx.params, c.identity), CloseCode.TokenExpired, ctx.params.reason);
			},

			/** Removed from a room, or left it: nothing more reaches their sockets of it, and the room sees them go. */
			[RoomEvent.MemberRemoved](this: ChatWsThis, ctx: Context<RoomMemberRemovedPayload>) {
				const { session_id: sessionId, username } = ctx.params;
				const match = (c: ChatClient) => c.identity.sessionId === sessionId && c.identity.username === username;
				if (this.hub.closeWhere(match, CloseCode.RemovedFromRoom, "Removed from the room") > 0) {
					void this.presence.announce(sessionId);
				}
			},

			[RoomEvent.Changed](this: ChatWsThis, ctx: Context<RoomChangedPayload>) {
				const { session_id } = ctx.params;
				this.hub.deliver([{ session_id, frames: [serializeFrame({ type: "room.changed", session_id })] }]);
			},

			async [CharacterEvent.Changed](this: ChatWsThis) {
				const lost = await this.access
					.lostCharacters()
					.catch((err) => void this.logger.warn("Could not recheck characters:", err));
				for (const client of lost ?? []) {
					this.sendError(client, errorFrame("character_unavailable", "This character is no longer available to you"));
					client.end(CloseCode.CharacterUnavailable, "Character unavailable");
				}
			},
		},

		methods: {
			/** Handles an HTTP upgrade: refuse with a status and JSON body, or hand the socket to `ws`. */
			async upgrade(this: ChatWsThis, req: IncomingMessage, socket: Duplex, head: Buffer) {
				if (this.state !== "running") return refuseUpgrade(socket, toRefusal(ShuttingDown(), this.logger));
				let chat: OpenedChat;
				try {
					chat = await this.access.open(req, socket);
				} catch (err) {
					return refuseUpgrade(socket, toRefusal(err, this.logger));
				}
				this.wss.handleUpgrade(req, socket, head, (ws) => {
					this.onConnection(ws, chat).catch((err) => {
						this.logger.error({ session_id: chat.session.id }, "Could not open chat:", err);
						ws.close(1011, "Internal error");
					});
				});
			},

			async onConnection(this: ChatWsThis, ws: WebSocket, chat: OpenedChat) {
				const sessionId = chat.session.id;
				const h = chat.handshake;
				const options = { resumedAfter: h.after, limits: config.chat, expiresAt: chat.expiresAt };
				const client = new ChatClient(ws, clientIdentity(chat), options);
				// Registered before the backlog is read: a reply stored meanwhile is queued live; the id check drops the overlap.
				const firstOnNode = this.hub.add(client);
				this.metrics.openSockets(this.hub.size);
				// Listeners go on before anything is awaited: `ws` drops frames that arrive while no listener is attached,
				// and clients may send right after `open`. Their frames wait (client.work) until the replay is done.
				ws.on("pong", () => (client.alive = true));
				ws.on("message", (data: RawData, isBinary: boolean) => {
					client.enqueue(
						() => handleFrame(this.turns, client, data, isBinary),
						(err) => this.logger.error({ session_id: sessionId }, "Frame handling failed:", err),
					);
				});
				ws.on("close", () => {
					const lastOfSession = this.hub.remove(client);
					this.metrics.openSockets(this.hub.size);
					if (lastOfSession && this.address) this.runtime.routes.remove(sessionId, this.address).catch(() => undefined);
					if (chat.room && this.state === "running") void this.presence.announce(sessionId);
				});
				ws.on("error", (err) => this.logger.debug({ session_id: sessionId }, `Socket error: ${err.message}`));

				client.work = (async () => {
					if (firstOnNode && this.address) await this.runtime.routes.add(sessionId, this.address);
					ws.send(JSON.stringify(connectionFrame(chat, this.modelName, await this.store.revision(sessionId))));
					const backlog =
						chat.resumed && !h.after
							? await this.store.latestMessages(sessionId, REPLAY_LIMIT)
							: await this.store.messagesAfter(sessionId, h.after, REPLAY_LIMIT);
					client.finishReplay(backlog.map((m) => messageFrame(m, chat.user.username)));
					if (chat.room) void this.presence.announce(sessionId);
				})();
				await client.work;
			},

			/**
			 * The error frames this node decides on go out here, counted by code (the dispatcher counts its own). A refusal
			 * for a limit (it has `retry_after`) counts as a breach: past the allowance the socket is closed instead.
			 */
			sendError(this: ChatWsThis, client: ChatClient, frame: ErrorFrame) {
				if (frame.retry_after !== undefined && !client.breach()) return;
				this.metrics.errorFrame(frame.code);
				client.send(frame);
			},

			/** gRPC and in-process delivery land here. */
			deliverLocal(this: ChatWsThis, items: SessionFrames[]): number {
				const sent = this.hub.deliver(items);
				this.metrics.delivered(items, sent);
				return sent;
			},

			/** The WebSocket server on WS_PORT (beside GET /health) and, one origin for a page, on the gateway's if here. */
			async listen(this: ChatWsThis) {
				this.wss = new WebSocketServer({ noServer: true, maxPayload: config.chat.maxFrameBytes });
				const onUpgrade = chatUpgrades((req, socket, head) => this.upgrade(req, socket, head), this.logger);
				const health = () => ({ sockets: this.hub.size });
				this.httpServer = await listenForChat({ port: config.wsPort, host: config.wsHost, health, onUpgrade });
				this.settings.port = (this.httpServer.address() as { port: number }).port;
				gatewayServer(this.broker)?.on("upgrade", onUpgrade);
			},

			/** Cluster: the gRPC server that replies reach this node's sockets through, and this node's routes to it. */
			async joinCluster(this: ChatWsThis) {
				const onFrames = (items: SessionFrames[]) => this.deliverLocal(items);
				const { grpcHost: host, grpcPort: port } = config;
				this.grpc = await startDeliveryServer({ host, port, onFrames, logger: this.logger });
				const address = (this.address = `${config.grpcAdvertiseHost}:${this.grpc.port}`);
				this.stopKeepingRoutes = keepRoutes({
					routes: this.runtime.routes,
					address,
					logger: this.logger,
					sessionIds: () => this.hub.sessionIds(),
					afterReconnect: () => this.catchUp(),
					onDisconnect: () => this.hub.deliveriesMayFail(),
				});
			},

			/** Shows each socket what was stored while replies could not find this node (its routes lost with Redis). */
			async catchUp(this: ChatWsThis) {
				await this.hub.catchUp(async ({ sessionId, username }, afterId) =>
					(await this.store.messagesAfter(sessionId, afterId, REPLAY_LIMIT)).map((m) => messageFrame(m, username)),
				);
			},
		},

		async started(this: ChatWsThis) {
			this.state = "running";
			this.hub = new SocketHub();
			this.detachSockets = this.runtime.delivery.attachLocal((items) => this.deliverLocal(items));
			if (config.mode === "cluster" && config.redisUrl) this.redis = acquireRedis(config.redisUrl);
			this.access = new ChatAccess(
				config,
				this.broker,
				this.db.sequelize,
				this.store,
				this.hub,
				this.runtime.routes,
				this.redis,
			);
			this.metrics.openSockets(this.hub.size);
			this.modelName = chatModelName(config);
			this.presence = new RoomPresence(
				this.broker,
				new RoomStore(this.db.sequelize),
				this.runtime.delivery,
				this.logger,
			);
			this.turns = turnDeps(this, config, (client, frame) => this.sendError(client, frame));
			await this.listen();
			if (config.mode === "cluster") await this.joinCluster();
			this.keepAlive = setInterval(() => this.hub.pingAll(), config.chat.pingIntervalMs);
			const grpc = this.address ? `, gRPC delivery on ${this.address}` : "";
			this.logger.info(`WebSocket server on ${config.wsHost}:${this.settings.port}${grpc}`);
		},

		async stopped(this: ChatWsThis) {
			this.state = "closing";
			clearInterval(this.keepAlive);
			this.stopKeepingRoutes?.();
			this.detachSockets?.();
			const clients = [...(this.hub?.clients() ?? [])];
			// Clients reconnect with session_id + after and miss nothing: replies are stored, not held here.
			for (const client of clients) client.socket.close(CloseCode.Restarting, "Server restarting; reconnect to resume");
			if (this.address) {
				await Promise.all(
					this.hub.sessionIds().map((id) => this.runtime.routes.remove(id, this.address!).catch(() => undefined)),
				);
			}
			await this.grpc?.stop();
			await new Promise<void>((resolve) => setTimeout(resolve, 100));
			for (const client of this.hub?.clients() ?? []) client.socket.terminate();
			this.wss?.close();
			await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()));
			// Frames already received are stored and published before Redis, PostgreSQL and RabbitMQ close (else only the
			// outbox would send them, a CHAT_REPLY_TIMEOUT later). Bounded: a stuck query must not hold the stop.
			await Promise.race([
				Promise.allSettled(clients.map((c) => c.work)),
				new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_FRAMES_MS).unref()),
			]);
			await this.turns?.quotas.close();
			if (this.redis) await releaseRedis();
		},
	};
}
