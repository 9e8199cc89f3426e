/**
 * @moleculer/channels' AMQP adapter, hardened for a broker restart:
 * - When RabbitMQ goes away mid-message, the adapter's consumer callback acks or re-publishes on a closed channel;
 *   amqplib throws, and the adapter leaves that promise unhandled, which would crash the process. Nothing is lost
 *   by catching it: RabbitMQ requeues every unacked message of a closed channel, and the adapter reconnects and
 *   resubscribes by itself.
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
	createConsumerHandler(chan: unknown): ConsumerHandler;
	subscribe(chan: Channel, svc: unknown): Promise<void>;
};

export class ResilientAmqpAdapter extends BaseAmqpAdapter {
	private readonly firstDeadLettering = new WeakMap<Channel, object | undefined>();

	createConsumerHandler(chan: unknown): ConsumerHandler {
		const handle = super.createConsumerHandler(chan);
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
