/**
 * @moleculer/channels' AMQP adapter, hardened for a broker restart. When RabbitMQ goes away mid-message, the
 * adapter's consumer callback acks or re-publishes on a closed channel; amqplib throws, and the adapter leaves that
 * promise unhandled, which would crash the process. Nothing is lost by catching it: RabbitMQ requeues every
 * unacked message of a closed channel, and the adapter reconnects and resubscribes by itself.
 */
import channels from "@moleculer/channels";

type AmqpMessage = unknown;
type ConsumerHandler = (msg: AmqpMessage) => Promise<void>;

const BaseAmqpAdapter = channels.Adapters.AMQP as unknown as new (opts: object) => {
	logger: { warn(...args: unknown[]): void };
	createConsumerHandler(chan: unknown): ConsumerHandler;
};

export class ResilientAmqpAdapter extends BaseAmqpAdapter {
	createConsumerHandler(chan: unknown): ConsumerHandler {
		const handle = super.createConsumerHandler(chan);
		return (msg) =>
			handle(msg).catch((err: Error) => {
				this.logger.warn(`AMQP message left unacked (${err.message}); RabbitMQ will redeliver it`);
			});
	}
}
