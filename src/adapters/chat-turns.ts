/**
 * What a user's turn does on chat-ws: a frame is checked against the socket's rate and the user's limits and parsed;
 * a message is stored (pending its reply), appended to the hot history, echoed to every socket of the session and
 * published to `chat.user.msg`; a regeneration of the last reply is checked and published as the next variant; a stop
 * is broadcast; continue and impersonate are in chat-continue.ts; edits and swipe choices in story-edits.ts. Refusals
 * go back through `refuse` (chat-ws counts them and bounds them).
 */
import type { RawData } from "ws";
import {
	Chan,
	ChatEvent,
	errorFrame,
	messageFrame,
	parseClientFrame,
	serializeFrame,
	userMsgPayload,
	type ErrorFrame,
	type Publish,
	type StopRequestedPayload,
} from "../domain/chat-wire.js";
import type { ChatMetrics } from "./chat-metrics.js";
import type { ChatQuotas } from "./quotas.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ChatStore } from "./chat-store.js";
import type { HistoryCache } from "./history-cache.js";
import { historyEntry } from "../domain/history.js";
import { CloseCode, type ChatClient, type SocketHub } from "./socket-hub.js";
import { isRefusal, storyEdits, type StoryEdits } from "./story-edits.js";
import type { Readable } from "node:stream";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import type { Database } from "./database.js";
import type { ChatRuntime } from "./chat-runtime.js";
import { ContinuationStore } from "./continuations.js";
import { createRateLimiter } from "./rate-limiter.js";
import { createChatQuotas, defaultLimits } from "./quotas.js";
import { UserLimits } from "./user-limits.js";
import { RoomTurns } from "./room-turns.js";
import type { EditFrame, SelectVariantFrame } from "../domain/chat-frames.js";
import { continueReply, impersonate, type SteeringDeps } from "./chat-continue.js";
import {
	notInRooms,
	regenerateRoomReply,
	relayTyping,
	shareRoomMessage,
	triggerReply,
	type RoomDeps,
} from "./room-chat.js";

/** What chat-ws's sockets need, built from the service: its store, hub, runtime, metrics and publisher. */
export function turnDeps(
	service: {
		broker: ServiceBroker;
		db: Database;
		store: ChatStore;
		hub: SocketHub;
		runtime: ChatRuntime;
		metrics: ChatMetrics;
		logger: TurnDeps["logger"];
		publish: Publish;
	},
	config: Config,
	refuse: TurnDeps["refuse"],
): TurnDeps {
	const { broker, db, store, hub, runtime, metrics, logger } = service;
	const publish: Publish = (channel, payload) => service.publish(channel, payload);
	const perMinute = (keyPrefix: string, points: number) =>
		createRateLimiter({ keyPrefix, points, durationSeconds: 60 });
	const userLimits = new UserLimits(db.sequelize, defaultLimits(config));
	return {
		...{ store, hub, metrics, logger, publish, refuse, history: runtime.history },
		maxContentChars: config.chat.maxContentChars,
		limiter: perMinute("ws-msg", config.chat.messagesPerMinute),
		typingLimiter: perMinute("ws-typing", config.chat.typingPerMinute),
		quotas: createChatQuotas(config, userLimits),
		userLimits,
		stop: (session_id) => void broker.broadcast(ChatEvent.StopRequested, { session_id } satisfies StopRequestedPayload),
		story: storyEdits(service, config),
		continuations: new ContinuationStore(db.sequelize, config.chat.replyTimeoutSeconds),
		impersonate: (params) => broker.call<Readable, typeof params>("ai-consumer.impersonate", params),
		turns: new RoomTurns(db.sequelize, publish, logger, config.chat),
		deliver: (sessionId, frames) => runtime.delivery.send(sessionId, frames),
	};
}

export interface TurnDeps extends SteeringDeps, RoomDeps {
	/** Frames per socket per minute. */
	limiter: RateLimiter;
	/** Messages and tokens per user, on every node. */
	quotas: ChatQuotas;
	/** The limits `quotas` holds each user to; an admin's change drops the user's (chat-ws's `user.limits.changed`). */
	userLimits: UserLimits;
	maxContentChars: number;
	/** Stops the reply being written for the session, wherever it is generated. */
	stop(sessionId: string): void;
	store: ChatStore;
	history: HistoryCache;
	hub: SocketHub;
	metrics: ChatMetrics;
	publish: Publish;
	refuse(client: ChatClient, frame: ErrorFrame): void;
	/** Edits and swipe choices, shared with REST: every socket of the session hears of them. */
	story: StoryEdits;
	logger: { error(...a: unknown[]): void; warn(...a: unknown[]): void };
}

/** One frame from a client, after the frames before it (ChatClient.enqueue). */
export async function handleFrame(deps: TurnDeps, client: ChatClient, data: RawData, isBinary: boolean): Promise<void> {
	if (client.expired()) return client.end(CloseCode.TokenExpired, "Token expired");
	const parsed = parseClientFrame(data as Buffer, isBinary, deps.maxContentChars);
	// Typing news has its own, quiet limit: it must not use up the messages a socket may send.
	if (parsed.ok && parsed.frame.type === "typing") return relayTyping(deps, client);
	const { allowed, retryAfterSeconds } = await deps.limiter.hit(client.id);
	if (!allowed) {
		const tooFast = errorFrame("rate_limited", "You are sending messages too fast", { retry_after: retryAfterSeconds });
		return deps.refuse(client, tooFast);
	}
	if (!parsed.ok) return deps.refuse(client, parsed.error);
	const frame = parsed.frame;
	if (frame.type === "stop") return deps.stop(client.identity.sessionId);
	// Edits and swipe choices change what is stored, not what the model is asked: no quota.
	if (frame.type === "edit" || frame.type === "select_variant") return steerStory(deps, client, frame);
	// Messages, regenerations, continues and impersonations cost a model call: they count against the user's limits on
	// every node.
	if (client.identity.room && (frame.type === "continue" || frame.type === "impersonate")) {
		return deps.refuse(client, notInRooms(frame.type));
	}
	if (!client.identity.room && frame.type === "trigger") {
		return deps.refuse(client, errorFrame("not_in_cast", "Triggers are for rooms: this chat has one character"));
	}
	const refused = await deps.quotas.admitMessage(client.identity.username);
	if (refused) return deps.refuse(client, refused);
	if (frame.type === "regenerate" && client.identity.room) return regenerateRoomReply(deps, client, frame);
	if (frame.type === "regenerate") return regenerateReply(deps, client, frame.reply_to);
	if (frame.type === "trigger") return triggerReply(deps, client, frame.character_id);
	if (frame.type === "continue") return continueReply(deps, client);
	if (frame.type === "impersonate") return impersonate(deps, client);
	if (frame.type === "message") return storeUserMessage(deps, client, frame.content);
}

export async function storeUserMessage(deps: TurnDeps, client: ChatClient, content: string): Promise<void> {
	const { sessionId, username, name, characterId, room } = client.identity;
	let row;
	try {
		const message = { session_id: sessionId, username, character_id: characterId, content };
		row = await deps.store.insertUserMessage(room ? { ...message, speaker: room.persona } : message);
	} catch (err) {
		deps.logger.error({ session_id: sessionId }, "Could not store a user message:", err);
		return deps.refuse(client, errorFrame("internal_error", "Your message could not be saved; please send it again"));
	}
	deps.metrics.messageIn();
	await deps.history
		.append(sessionId, historyEntry(row))
		.catch((err) => deps.logger.warn({ session_id: sessionId, message_id: row.id }, "History append failed:", err));
	const echo = messageFrame(row, username);
	client.send(echo);
	if (room) return shareRoomMessage(deps, row);
	// Other devices on the same session see it too (this socket drops the duplicate by id).
	deps.hub.deliver([{ session_id: sessionId, frames: [serializeFrame(echo)] }]);

	// If this publish is lost, the dispatcher's outbox sweep publishes it again.
	await deps
		.publish(Chan.UserMsg, userMsgPayload(row, { user_name: name }))
		.catch((err: Error) =>
			deps.logger.warn(
				{ session_id: sessionId, message_id: row.id },
				`Publish failed, outbox will retry: ${err.message}`,
			),
		);
}

/** An edit or a swipe choice: every socket of the session is sent the change; a refusal goes to this one. */
async function steerStory(deps: TurnDeps, client: ChatClient, frame: EditFrame | SelectVariantFrame): Promise<void> {
	const { sessionId, room, username } = client.identity;
	try {
		// A room's story is its owner's to steer; a member may correct their own lines.
		if (room && room.owner !== username) {
			const message = frame.type === "edit" ? await deps.store.getMessage(frame.id) : null;
			if (message?.session_id !== sessionId || message.role !== "user" || message.username !== username) {
				const what = "In a room, you may edit your own messages; the rest is the owner's to change";
				return deps.refuse(client, errorFrame("not_allowed", what));
			}
		}
		const result =
			frame.type === "edit"
				? await deps.story.edit(sessionId, frame.id, frame.content)
				: await deps.story.select(sessionId, frame.id);
		if (isRefusal(result)) deps.refuse(client, result);
	} catch (err) {
		deps.logger.error({ session_id: sessionId, message_id: frame.id }, `Could not ${frame.type}:`, err);
		deps.refuse(client, errorFrame("internal_error", "Your change could not be saved; please try again"));
	}
}

/** Asks for another variant of the reply to the session's last user message. */
export async function regenerateReply(deps: TurnDeps, client: ChatClient, replyTo: string): Promise<void> {
	const { sessionId, name } = client.identity;
	const message = await deps.store.getMessage(replyTo);
	if (!message || message.session_id !== sessionId || message.role !== "user") {
		return deps.refuse(
			client,
			errorFrame("cannot_regenerate", "No such message of yours in this chat", { reply_to: replyTo }),
		);
	}
	if ((await deps.store.lastUserMessageId(sessionId)) !== message.id) {
		return deps.refuse(
			client,
			errorFrame("cannot_regenerate", "Only the reply to your last message can be regenerated", { reply_to: replyTo }),
		);
	}
	const variant = await deps.store.startRegeneration(message.id);
	await deps.publish(Chan.UserMsg, userMsgPayload(message, { user_name: name, variant })).catch((err: Error) => {
		deps.logger.warn(
			{ session_id: sessionId, message_id: message.id },
			`Publish of a regeneration failed: ${err.message}`,
		);
		void deps.store.endRegeneration(message.id).catch(() => undefined);
		deps.refuse(
			client,
			errorFrame("ai_unavailable", "Could not ask for another reply; try again", { reply_to: replyTo }),
		);
	});
}
