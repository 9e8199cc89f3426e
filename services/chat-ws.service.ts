/**
 * The WebSocket edge: `ws://host:8004/ws/{character_id}?token=JWT[&session_id=ID&after=MESSAGE_ID]`, also reachable
 * on the gateway's port when both run in one process. It authenticates during the upgrade (refusing with 401/403/404),
 * opens or resumes the session, replays what the client has not seen, stores and echoes user messages, sends them to
 * `chat.user.msg`, and in a cluster serves gRPC `Delivery` so replies reach the sockets it holds.
 */
import http, { type IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatStore, type SessionRow } from "../src/adapters/chat-store.js";
import { createChatRuntime, ROUTE_TTL_SECONDS, type ChatRuntime } from "../src/adapters/chat-runtime.js";
import { historyEntry } from "../src/adapters/history-cache.js";
import { startDeliveryServer, type DeliveryServer, type SessionFrames } from "../src/adapters/grpc-delivery.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import { createChatQuotas, type ChatQuotas } from "../src/adapters/quotas.js";
import { chatMetrics, type ChatMetrics } from "../src/adapters/chat-metrics.js";
import { chatModelName } from "../src/adapters/llm.js";
import { ChatClient, SocketHub } from "../src/adapters/socket-hub.js";
import { answerClientError, refusal, refuseUpgrade, toRefusal } from "../src/adapters/ws-upgrade.js";
import { isChatPath, parseChatHandshake, type ChatHandshake } from "../src/domain/chat-handshake.js";
import {
	Chan,
	ChatEvent,
	errorFrame,
	messageFrame,
	parseClientFrame,
	type ConnectionFrame,
	type ErrorFrame,
	type StopRequestedPayload,
	type UserMsgPayload,
} from "../src/domain/chat-wire.js";
import type { AuthUser } from "./auth.service.js";

/** Most messages replayed on connect; older history is paged over REST. */
const REPLAY_LIMIT = 200;
const CLOSE_RESTARTING = 1012;
/** Longest wait at stop for frames already received to be stored and published. */
const IN_FLIGHT_FRAMES_MS = 5000;
/** Application close codes are 4000-4999 (RFC 6455). */
const CLOSE_KICKED = 4000;

export interface SocketInfo {
	node_id: string;
	session_id: string;
	username: string;
	character_id: string;
	connected_at: string;
}

interface OpenedChat {
	user: AuthUser;
	character: { id: string; name: string; greeting: string; alternate_greetings?: string[] };
	session: SessionRow;
	resumed: boolean;
}

type ChatWsThis = Service &
	DbThis & {
		state: "running" | "closing";
		store: ChatStore;
		runtime: ChatRuntime;
		hub: SocketHub;
		wss: WebSocketServer;
		httpServer: http.Server;
		gatewayServer?: http.Server;
		grpc?: DeliveryServer;
		address?: string;
		limiter: RateLimiter;
		quotas: ChatQuotas;
		metrics: ChatMetrics;
		/** Named in the `connection` frame, so nobody mistakes the offline model for an LLM. */
		modelName: string;
		timers: NodeJS.Timeout[];
		stopCatchingUp?: () => void;
		upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
		openChat(h: ChatHandshake): Promise<OpenedChat>;
		onConnection(ws: WebSocket, chat: OpenedChat, h: ChatHandshake): Promise<void>;
		onFrame(client: ChatClient, data: RawData, isBinary: boolean): Promise<void>;
		userMessage(client: ChatClient, content: string): Promise<void>;
		regenerate(client: ChatClient, replyTo: string): Promise<void>;
		sendError(client: ChatClient, frame: ErrorFrame): void;
		deliverLocal(items: SessionFrames[]): number;
	};

export default function chatWsService(config: Config): ServiceSchema<ServiceSettingSchema, ChatWsThis> {
	return {
		name: "chat-ws",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

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
					return [...this.hub.clients()]
						.filter((c) => !ctx.params.username || c.identity.username === ctx.params.username)
						.map((c) => ({
							node_id: this.broker.nodeID,
							session_id: c.identity.sessionId,
							username: c.identity.username,
							character_id: c.identity.characterId,
							connected_at: c.connectedAt.toISOString(),
						}));
				},
			},

			/** Closes this node's sockets of a session; returns how many. The client may reconnect (disable the user to stop that). */
			kick: {
				visibility: "public",
				params: { session_id: "uuid" },
				handler(this: ChatWsThis, ctx: Context<{ session_id: string }>): number {
					const clients = [...this.hub.clients()].filter((c) => c.identity.sessionId === ctx.params.session_id);
					for (const c of clients) c.socket.close(CLOSE_KICKED, "Disconnected by an operator");
					return clients.length;
				},
			},
		},

		methods: {
			/** Handles an HTTP upgrade: refuse with a status and JSON body, or hand the socket to `ws`. */
			async upgrade(this: ChatWsThis, req: IncomingMessage, socket: Duplex, head: Buffer) {
				// A client that hangs up mid-handshake must not take the node down.
				socket.on("error", () => socket.destroy());
				if (this.state !== "running") return refuseUpgrade(socket, { status: 503, code: "SHUTTING_DOWN", detail: "Server is restarting; retry" });
				const parsed = parseChatHandshake(req.url ?? "", req.headers.authorization);
				if (!parsed.ok) return refuseUpgrade(socket, parsed.refusal);
				let chat: OpenedChat;
				try {
					chat = await this.openChat(parsed.value);
				} catch (err) {
					return refuseUpgrade(socket, toRefusal(err, this.logger));
				}
				this.wss.handleUpgrade(req, socket, head, (ws) => {
					this.onConnection(ws, chat, parsed.value).catch((err) => {
						this.logger.error({ session_id: chat.session.id }, "Could not open chat:", err);
						ws.close(1011, "Internal error");
					});
				});
			},

			async openChat(this: ChatWsThis, h: ChatHandshake): Promise<OpenedChat> {
				const user = await this.broker.call<AuthUser, { token: string }>("auth.validate", { token: h.token });
				const character = await this.broker.call<OpenedChat["character"], { id: string }>(
					"characters.get",
					{ id: h.characterId },
					{ meta: { user: { id: user.id, username: user.username, role: user.role } } },
				);
				if (!h.sessionId) {
					const session = await this.store.createSession(user.username, character.id);
					const greeting = pickGreeting(character, h.greeting);
					if (greeting) {
						await this.store.insertAiMessage({
							id: randomUUID(),
							reply_to: null,
							session_id: session.id,
							username: user.username,
							character_id: character.id,
							content: greeting,
							model: "greeting",
						});
					}
					return { user, character, session, resumed: false };
				}
				const session = await this.store.getSession(h.sessionId);
				if (!session) throw refusal(404, "SESSION_NOT_FOUND", "Chat session not found");
				if (session.username !== user.username) throw refusal(403, "FORBIDDEN", "This chat session belongs to someone else");
				if (session.character_id !== character.id) throw refusal(400, "VALIDATION_ERROR", "This chat session is with another character");
				return { user, character, session, resumed: true };
			},

			async onConnection(this: ChatWsThis, ws: WebSocket, chat: OpenedChat, h: ChatHandshake) {
				const sessionId = chat.session.id;
				const client = new ChatClient(ws, { userId: chat.user.id, username: chat.user.username, sessionId, characterId: chat.character.id }, h.after);
				// Registered before the backlog is read: a reply stored meanwhile is queued live, and the id check drops the overlap.
				const firstOnNode = this.hub.add(client);
				this.metrics.openSockets(this.hub.size);
				// Listeners go on before anything is awaited: `ws` drops frames that arrive while no listener is attached,
				// and clients may send right after `open`. Their frames wait (client.work) until the replay is done.
				ws.on("pong", () => (client.alive = true));
				ws.on("message", (data, isBinary) => {
					client.work = client.work.then(() => this.onFrame(client, data, isBinary)).catch((err) => this.logger.error({ session_id: sessionId }, "Frame handling failed:", err));
				});
				ws.on("close", () => {
					const lastOfSession = this.hub.remove(client);
					this.metrics.openSockets(this.hub.size);
					if (lastOfSession && this.address) this.runtime.routes.remove(sessionId, this.address).catch(() => undefined);
				});
				ws.on("error", (err) => this.logger.debug({ session_id: sessionId }, `Socket error: ${err.message}`));

				client.work = (async () => {
					if (firstOnNode && this.address) await this.runtime.routes.add(sessionId, this.address);
					const hello: ConnectionFrame = {
						type: "connection",
						message: "Connected to chat",
						session_id: sessionId,
						username: chat.user.username,
						character_id: chat.character.id,
						character_name: chat.character.name,
						model: this.modelName,
						resumed: chat.resumed,
					};
					ws.send(JSON.stringify(hello));
					const backlog =
						chat.resumed && !h.after
							? await this.store.latestMessages(sessionId, REPLAY_LIMIT)
							: await this.store.messagesAfter(sessionId, h.after, REPLAY_LIMIT);
					client.finishReplay(backlog.map(messageFrame));
				})();
				await client.work;
			},

			async onFrame(this: ChatWsThis, client: ChatClient, data: RawData, isBinary: boolean) {
				const { allowed, retryAfterSeconds } = await this.limiter.hit(client.id);
				if (!allowed) {
					return this.sendError(client, errorFrame("rate_limited", "You are sending messages too fast", { retry_after: retryAfterSeconds }));
				}
				const parsed = parseClientFrame(data as Buffer, isBinary, config.chat.maxContentChars);
				if (!parsed.ok) return this.sendError(client, parsed.error);
				const frame = parsed.frame;
				if (frame.type === "stop") {
					return void this.broker.broadcast(ChatEvent.StopRequested, { session_id: client.identity.sessionId } satisfies StopRequestedPayload);
				}
				// Messages and regenerations cost a model call: they count against the user's limits on every node.
				const refused = await this.quotas.admitMessage(client.identity.username);
				if (refused) return this.sendError(client, refused);
				if (frame.type === "regenerate") return this.regenerate(client, frame.reply_to);
				return this.userMessage(client, frame.content);
			},

			async userMessage(this: ChatWsThis, client: ChatClient, content: string) {
				const { sessionId, username, characterId } = client.identity;
				let row;
				try {
					row = await this.store.insertUserMessage({ session_id: sessionId, username, character_id: characterId, content });
				} catch (err) {
					this.logger.error({ session_id: sessionId }, "Could not store a user message:", err);
					return this.sendError(client, errorFrame("internal_error", "Your message could not be saved; please send it again"));
				}
				this.metrics.messageIn();
				await this.runtime.history.append(sessionId, historyEntry(row)).catch((err) => this.logger.warn({ session_id: sessionId, message_id: row.id }, "History append failed:", err));
				const echo = messageFrame(row);
				client.send(echo);
				// Other devices on the same session see it too (this socket drops the duplicate by id).
				this.hub.deliver([{ session_id: sessionId, frames: [JSON.stringify(echo)] }]);

				const payload: UserMsgPayload = { message_id: row.id, session_id: sessionId, username, character_id: characterId, content: row.content };
				// If this publish is lost, the dispatcher's outbox sweep publishes it again.
				await this.broker.sendToChannel(Chan.UserMsg, payload, { persistent: true }).catch((err: Error) => this.logger.warn({ session_id: sessionId, message_id: row.id }, `Publish failed, outbox will retry: ${err.message}`));
			},

			/** Asks for another variant of the reply to the session's last user message. */
			async regenerate(this: ChatWsThis, client: ChatClient, replyTo: string) {
				const { sessionId, username, characterId } = client.identity;
				const message = await this.store.getMessage(replyTo);
				if (!message || message.session_id !== sessionId || message.role !== "user") {
					return this.sendError(client, errorFrame("cannot_regenerate", "No such message of yours in this chat", { reply_to: replyTo }));
				}
				if ((await this.store.lastUserMessageId(sessionId)) !== message.id) {
					return this.sendError(client, errorFrame("cannot_regenerate", "Only the reply to your last message can be regenerated", { reply_to: replyTo }));
				}
				const variant = await this.store.nextVariant(message.id);
				const payload: UserMsgPayload = { message_id: message.id, session_id: sessionId, username, character_id: characterId, content: message.content, variant };
				await this.broker.sendToChannel(Chan.UserMsg, payload, { persistent: true }).catch((err: Error) => {
					this.logger.warn({ session_id: sessionId, message_id: message.id }, `Publish of a regeneration failed: ${err.message}`);
					this.sendError(client, errorFrame("ai_unavailable", "Could not ask for another reply; try again", { reply_to: replyTo }));
				});
			},

			/** The error frames this node decides on go out here, counted by code (the dispatcher counts its own). */
			sendError(this: ChatWsThis, client: ChatClient, frame: ErrorFrame) {
				this.metrics.errorFrame(frame.code);
				client.send(frame);
			},

			/** gRPC and in-process delivery land here. */
			deliverLocal(this: ChatWsThis, items: SessionFrames[]): number {
				const sent = this.hub.deliver(items);
				this.metrics.delivered(items, sent);
				return sent;
			},
		},

		async started(this: ChatWsThis) {
			this.state = "running";
			this.store = new ChatStore(this.db.sequelize);
			this.runtime = createChatRuntime(config, this.broker, this.logger);
			this.hub = new SocketHub();
			this.metrics = chatMetrics(this.broker);
			this.metrics.openSockets(this.hub.size);
			this.modelName = chatModelName(config);
			this.limiter = createRateLimiter({ keyPrefix: "ws-msg", points: config.chat.messagesPerMinute, durationSeconds: 60 });
			this.quotas = createChatQuotas(config);
			this.wss = new WebSocketServer({ noServer: true, maxPayload: config.chat.maxFrameBytes });
			const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
				if (isChatPath(req.url)) {
					// Whatever goes wrong in a handshake, the client gets an answer and the socket is not left hanging.
					return void this.upgrade(req, socket, head).catch((err) => refuseUpgrade(socket, toRefusal(err, this.logger)));
				}
				refuseUpgrade(socket, { status: 404, code: "NOT_FOUND", detail: "Connect to /ws/{character_id}" });
			};

			this.httpServer = http.createServer((req, res) => {
				const healthy = req.method === "GET" && req.url === "/health";
				res.writeHead(healthy ? 200 : 404, { "Content-Type": "application/json" });
				res.end(JSON.stringify(healthy ? { status: "ok", sockets: this.hub.size } : { detail: "Not found", code: "NOT_FOUND" }));
			});
			this.httpServer.on("upgrade", onUpgrade);
			this.httpServer.on("clientError", answerClientError);
			await new Promise<void>((resolve) => this.httpServer.listen(config.wsPort, resolve));
			this.settings.port = (this.httpServer.address() as { port: number }).port;

			// Same process as the gateway: serve /ws on its port too, so a browser page needs one origin.
			this.gatewayServer = (this.broker.getLocalService("api") as unknown as { server?: http.Server } | undefined)?.server;
			this.gatewayServer?.on("upgrade", onUpgrade);

			if (config.mode === "cluster") {
				this.grpc = await startDeliveryServer({ host: config.grpcHost, port: config.grpcPort, onFrames: (items) => this.deliverLocal(items), logger: this.logger });
				this.address = `${config.grpcAdvertiseHost}:${this.grpc.port}`;
				const refresh = setInterval(() => {
					this.runtime.routes.refresh(this.hub.sessionIds(), this.address!).catch((err) => this.logger.warn("Route refresh failed:", err));
				}, (ROUTE_TTL_SECONDS * 1000) / 3);
				this.timers = [refresh];
				// Redis is back, maybe empty (restarted): re-register now, not at the next heartbeat, and show each socket
				// what was stored while replies could not find this node.
				this.stopCatchingUp = this.runtime.routes.onReconnect(() => {
					this.runtime.routes
						.refresh(this.hub.sessionIds(), this.address!)
						.then(() => this.hub.catchUp(async (sessionId, afterId) => (await this.store.messagesAfter(sessionId, afterId, REPLAY_LIMIT)).map(messageFrame)))
						.catch((err) => this.logger.warn("Catching up after a Redis reconnection failed:", err));
				});
			} else {
				this.timers = [];
			}
			this.timers.push(setInterval(() => this.hub.pingAll(), config.chat.pingIntervalMs));
			this.logger.info(`WebSocket server on :${this.settings.port}${this.address ? `, gRPC delivery on ${this.address}` : ""}`);
		},

		async stopped(this: ChatWsThis) {
			this.state = "closing";
			this.timers?.forEach(clearInterval);
			this.stopCatchingUp?.();
			const clients = [...(this.hub?.clients() ?? [])];
			// Clients reconnect with session_id + after and miss nothing: replies are stored, not held here.
			for (const client of clients) client.socket.close(CLOSE_RESTARTING, "Server restarting; reconnect to resume");
			if (this.address) {
				await Promise.all(this.hub.sessionIds().map((id) => this.runtime.routes.remove(id, this.address!).catch(() => undefined)));
			}
			await this.grpc?.stop();
			await new Promise<void>((resolve) => setTimeout(resolve, 100));
			for (const client of this.hub?.clients() ?? []) client.socket.terminate();
			this.wss?.close();
			await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()));
			// Frames already received are stored and published before Redis, PostgreSQL and RabbitMQ close (else only the
			// outbox would send them, a CHAT_REPLY_TIMEOUT later). Bounded: a stuck query must not hold the stop.
			await Promise.race([Promise.allSettled(clients.map((c) => c.work)), new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_FRAMES_MS).unref())]);
			await this.runtime?.close();
			await this.quotas?.close();
		},
	};
}

/** The greeting a new session opens with: the card's first message, or the alternate one the client asked for. */
function pickGreeting(character: OpenedChat["character"], index = 0): string {
	const greetings = [character.greeting, ...(character.alternate_greetings ?? [])];
	return greetings[index] || greetings.find(Boolean) || "";
}
