/**
 * What the operators' REPL commands do, as plain async functions of a running broker (and of the config, for
 * RabbitMQ). They return data; src/repl/operator-commands.ts parses arguments and prints it. The broker may be a
 * REPL-only node: everything goes through actions (`visibility: "public"`) or straight to RabbitMQ.
 */
import { readFile } from "node:fs/promises";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import type { Caller, CharacterView } from "../domain/characters.js";
import type { ChatStats } from "../adapters/chat-store.js";
import {
	CHANNELS,
	CHANNEL_KEYS,
	IN_PROCESS_CHANNELS,
	amqpUrl,
	deadLetterQueue,
	moveMessages,
	purgeQueue,
	queueStatus,
	type ChannelKey,
	type QueueDepth,
} from "../adapters/queue-inspector.js";

export { CHANNEL_KEYS, IN_PROCESS_CHANNELS, queueStatus, type ChannelKey, type QueueDepth };
import { UserNotFound } from "../errors.js";
import { callEveryNode, type NodeFailure, type PerNode } from "../adapters/every-node.js";
import type { SocketInfo } from "../../services/chat-ws.service.js";
import type { OperatorMessage } from "../../services/dispatcher.service.js";
import type { UserView } from "../domain/accounts.js";

/** Who characters.update sees when an operator disables a character. */
const OPERATOR: Caller = { id: "00000000-0000-0000-0000-000000000000", username: "operator", role: "admin" };

/** Open sockets on every chat-ws node, optionally of one user. */
export async function listSockets(
	broker: ServiceBroker,
	username?: string,
): Promise<{ nodes: string[]; sockets: SocketInfo[]; failures: NodeFailure[] }> {
	const { nodes, results, failures } = await callEveryNode<SocketInfo[]>(
		broker,
		"chat-ws",
		"sockets",
		username ? { username } : {},
	);
	const sockets = results.flatMap((r) => r.value).sort((a, b) => a.connected_at.localeCompare(b.connected_at));
	return { nodes, sockets, failures };
}

/** Closes a session's sockets on every chat-ws node; `closed` per node that answered. */
export async function kickSession(
	broker: ServiceBroker,
	sessionId: string,
): Promise<PerNode<number> & { total: number }> {
	const outcome = await callEveryNode<number>(broker, "chat-ws", "kick", { session_id: sessionId });
	return { ...outcome, total: outcome.results.reduce((sum, r) => sum + r.value, 0) };
}

/** Posts a message into a chat as the character's side, marked `model: "operator"`. */
export function sayInSession(broker: ServiceBroker, sessionId: string, content: string): Promise<OperatorMessage> {
	return broker.call("dispatcher.say", { session_id: sessionId, content });
}

export function chatStats(broker: ServiceBroker, minutes?: number): Promise<ChatStats> {
	return broker.call("dispatcher.stats", minutes === undefined ? {} : { minutes });
}

/**
 * Sends dead letters back through their channel (at most `limit`, else all present now), where their consumers get
 * them with a fresh count of retries.
 */
export async function replayDeadLetters(
	config: Config,
	key: ChannelKey,
	limit?: number,
): Promise<{ from: string; to: string; moved: number }> {
	const from = deadLetterQueue(config, key);
	const to = `${config.namespace}.${CHANNELS[key].channel}`;
	return { from, to, moved: await moveMessages(amqpUrl(config), from, to, limit) };
}

export async function purgeDeadLetters(config: Config, key: ChannelKey): Promise<{ queue: string; purged: number }> {
	const queue = deadLetterQueue(config, key);
	return { queue, purged: await purgeQueue(amqpUrl(config), queue) };
}

export function listUsers(broker: ServiceBroker, q?: string, limit = 50): Promise<UserView[]> {
	return broker.call("auth.list", { ...(q ? { q } : {}), limit });
}

export function setUserDisabled(broker: ServiceBroker, username: string, disabled: boolean): Promise<UserView> {
	return broker.call("auth.setDisabled", { username, disabled });
}

export function promoteUser(broker: ServiceBroker, username: string): Promise<UserView> {
	return broker.call("auth.setRole", { username, role: "admin" });
}

export interface NewCharacterInput {
	owner: string;
	name: string;
	prompt: string;
	greeting?: string;
}

/** A public character owned by `owner`, created as if they had made it. */
export async function addCharacter(broker: ServiceBroker, input: NewCharacterInput): Promise<CharacterView> {
	const owner = await findUser(broker, input.owner);
	const params = {
		name: input.name,
		system_prompt: input.prompt,
		...(input.greeting ? { greeting: input.greeting } : {}),
	};
	return broker.call("characters.create", params, { meta: { user: owner } });
}

/** A character from a card file (a card PNG, or V1/V2/V3 JSON), owned by `owner`. */
export async function importCharacter(broker: ServiceBroker, file: string, owner: string): Promise<CharacterView> {
	const bytes = await readFile(file);
	const user = await findUser(broker, owner);
	const params = isPng(bytes) ? { png: bytes.toString("base64") } : { card: parseJson(bytes, file) };
	return broker.call("characters.importCard", params, { meta: { user } });
}

/** Hides a character from the gallery and new chats (an admin's `is_active: false`). */
export function disableCharacter(broker: ServiceBroker, id: string): Promise<CharacterView> {
	return broker.call("characters.update", { id, is_active: false }, { meta: { user: OPERATOR } });
}

async function findUser(broker: ServiceBroker, username: string): Promise<Caller> {
	const [user] = await broker.call<UserView[], object>("auth.list", { username, limit: 1 });
	if (!user) throw UserNotFound(username);
	return { id: user.id, username: user.username, role: user.role as Caller["role"] };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function isPng(bytes: Buffer): boolean {
	return bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
}

function parseJson(bytes: Buffer, file: string): unknown {
	try {
		return JSON.parse(bytes.toString("utf8"));
	} catch (err) {
		throw new Error(`${file} is neither a card PNG nor JSON (${(err as Error).message})`);
	}
}
