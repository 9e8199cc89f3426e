/**
 * @moleculer/channels' AMQP adapter, hardened for a broker restart:
 * - When RabbitMQ goes away mid-message, the adapter's consumer callback acks or re-publishes on a closed channel;
 *   amqplib throws, and the adapter leaves that promise unhandled, which would crash the process. Nothing is lost
 *   by catching it: RabbitMQ requeues every unacked message of a closed channel, and the adapter reconnects and
 *   resubscribes by itself.
 * - The adapter acks (or re-publishes) a message on the channel it holds at that moment. A message whose handler
 *   outlasts a reconnection came on the old channel: its delivery tag means nothing, or another message, on the new
 *   one, which RabbitMQ then closes (406 unknown delivery tag), and the consumer with it. Here each consumer acks on
 *   the channel it consumes from; on a closed one the ack fails as above, and RabbitMQ has requeued the message.
 * - On that resubscribe the adapter prefixes the dead-letter queue and exchange names a second time
 *   (`<ns>.<ns>.chat.user.msg.dead`), so dead letters would go where nobody looks. Each subscribe here starts from
 *   the names the channel was first subscribed with.
 */
import channels from "@moleculer/channels";

type AmqpMessage = unknown;
type ConsumerHandler = (msg: AmqpMessage) => Promise<void>;
interface Channel {
	deadLettering?: object;
}

const BaseAmqpAdapter = channels.Adapters.AMQP as unknown as new (opts: object) => {
	logger: { warn(...args: unknown[]): void };
	channel: unknown;
	createConsumerHandler(chan: unknown): ConsumerHandler;
	subscribe(chan: Channel, svc: unknown): Promise<void>;
};

export class ResilientAmqpAdapter extends BaseAmqpAdapter {
	private readonly firstDeadLettering = new WeakMap<Channel, object | undefined>();

	createConsumerHandler(chan: unknown): ConsumerHandler {
		// The adapter's handler reads `this.channel` when it acks: give it a view of this adapter whose channel stays
		// the one it is about to consume from.
		const consumingFrom = Object.create(this, { channel: { value: this.channel } }) as this;
		const handle = super.createConsumerHandler.call(consumingFrom, chan);
		return (msg) =>
			handle(msg).catch((err: Error) => {
				this.logger.warn(`AMQP message left unacked (${err.message}); RabbitMQ will redeliver it`);
			});
	}

	async subscribe(chan: Channel, svc: unknown): Promise<void> {
		if (this.firstDeadLettering.has(chan)) chan.deadLettering = structuredClone(this.firstDeadLettering.get(chan));
		else this.firstDeadLettering.set(chan, structuredClone(chan.deadLettering));
		return super.subscribe(chan, svc);
	}
}

/**
 * Whether a failure now is final. AMQP: the adapter counts redeliveries in a header and dead-letters the message
 * once the count reaches maxRetries. The in-process adapter never redelivers, so every attempt is the last.
 */
export function isLastAttempt(raw: unknown, maxRetries: number): boolean {
	const properties = (raw as { properties?: { headers?: Record<string, unknown> } } | undefined)?.properties;
	if (!properties) return true;
	return (Number(properties.headers?.["x-redelivered-count"]) || 0) + 1 >= maxRetries;
}
