/**
 * RabbitMQ as operators see it: queue depth and consumers, and the dead-letter queues' replay and purge.
 * Each call opens its own connection: the REPL uses it now and then, and a long-lived one would only go stale.
 */
import amqp, { type Channel, type Connection } from "amqplib";
import type { Config } from "../config.js";
import { Chan, ConsumerGroup } from "../domain/chat-wire.js";

/**
 * The chat channels' consumer groups (as the services declare them). @moleculer/channels' AMQP adapter names a
 * group's queue `<group>.<namespace>.<channel>`, and the services' dead-letter queue `<namespace>.<channel>.dead`.
 */
export const CHANNELS = {
	user: { channel: Chan.UserMsg, group: ConsumerGroup.AiConsumer },
	ai: { channel: Chan.AiMsg, group: ConsumerGroup.Dispatcher },
} as const;
export type ChannelKey = keyof typeof CHANNELS;
export const CHANNEL_KEYS = Object.keys(CHANNELS) as ChannelKey[];

export const IN_PROCESS_CHANNELS = "Embedded mode: the chat channels are in-process; there are no queues.";

/** Depth and consumers of the chat queues and dead-letter queues; null in embedded mode (nothing to inspect). */
export async function queueStatus(config: Config): Promise<QueueDepth[] | null> {
	if (config.mode === "embedded") return null;
	const ns = config.namespace;
	const queues = [
		...CHANNEL_KEYS.map((k) => `${CHANNELS[k].group}.${ns}.${CHANNELS[k].channel}`),
		...CHANNEL_KEYS.map((k) => deadLetterQueue(config, k)),
	];
	return queueDepths(amqpUrl(config), queues);
}

export function deadLetterQueue(config: Config, key: ChannelKey): string {
	return `${config.namespace}.${CHANNELS[key].channel}.dead`;
}

export function amqpUrl(config: Config): string {
	if (config.mode === "embedded") throw new Error(IN_PROCESS_CHANNELS);
	if (!config.amqpUrl)
		throw new Error("RabbitMQ is not configured here: set AMQP_URL (or RABBITMQ_HOST) as the cluster has it");
	return config.amqpUrl;
}

export interface QueueDepth {
	queue: string;
	/** Null when the queue does not exist (its consumers never started, or it was deleted). */
	messages: number | null;
	consumers: number | null;
}

/** Depth and consumers of each queue, in the order given. */
export async function queueDepths(url: string, queues: string[]): Promise<QueueDepth[]> {
	return withConnection(url, async (connection) => {
		const depths: QueueDepth[] = [];
		for (const queue of queues) {
			// A check of a missing queue closes the channel it ran on: one channel per check.
			const channel = await openChannel(connection);
			try {
				const { messageCount, consumerCount } = await channel.checkQueue(queue);
				depths.push({ queue, messages: messageCount, consumers: consumerCount });
			} catch (err) {
				if (!isNotFound(err)) throw err;
				depths.push({ queue, messages: null, consumers: null });
			} finally {
				await channel.close().catch(() => undefined);
			}
		}
		return depths;
	});
}

/**
 * Moves up to `limit` messages from `queue` to `exchange` (persistent, without the dead-letter headers, so they get
 * their retries again). Each is acked only once RabbitMQ has confirmed its new copy: a failure part-way leaves it
 * where it was. At most the messages present at the start move, so one that fails again and comes back is not
 * replayed in a loop. Returns how many moved.
 */
export async function moveMessages(
	url: string,
	queue: string,
	exchange: string,
	limit = Number.POSITIVE_INFINITY,
): Promise<number> {
	return withConnection(url, async (connection) => {
		const check = await openChannel(connection);
		let present: number;
		try {
			present = (await check.checkQueue(queue)).messageCount;
			await check.checkExchange(exchange);
		} finally {
			await check.close().catch(() => undefined);
		}
		const channel = await connection.createConfirmChannel();
		channel.on("error", () => undefined);
		let moved = 0;
		try {
			while (moved < Math.min(limit, present)) {
				const message = await channel.get(queue, { noAck: false });
				if (!message) break;
				const { contentType, contentEncoding, correlationId, messageId } = message.properties;
				channel.publish(exchange, "", message.content, {
					persistent: true,
					contentType,
					contentEncoding,
					correlationId,
					messageId,
				});
				await channel.waitForConfirms();
				channel.ack(message);
				moved += 1;
			}
		} finally {
			await channel.close().catch(() => undefined);
		}
		return moved;
	});
}

/** Deletes every message of `queue`; returns how many there were. */
export async function purgeQueue(url: string, queue: string): Promise<number> {
	return withConnection(url, async (connection) => {
		const channel = await openChannel(connection);
		try {
			// checkQueue first: purging a missing queue would fail with a less helpful error.
			await channel.checkQueue(queue);
			return (await channel.purgeQueue(queue)).messageCount;
		} finally {
			await channel.close().catch(() => undefined);
		}
	});
}

function isNotFound(err: unknown): boolean {
	return (err as { code?: unknown }).code === 404;
}

async function withConnection<T>(url: string, work: (connection: Connection) => Promise<T>): Promise<T> {
	const connection = await amqp.connect(url);
	// Failures surface as rejected operations; without a listener, the 'error' event would crash the process.
	connection.on("error", () => undefined);
	try {
		return await work(connection);
	} finally {
		await connection.close().catch(() => undefined);
	}
}

async function openChannel(connection: Connection): Promise<Channel> {
	const channel = await connection.createChannel();
	channel.on("error", () => undefined);
	return channel;
}
