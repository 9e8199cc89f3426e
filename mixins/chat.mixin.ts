/**
 * The wiring chat-ws, ai-consumer and the dispatcher share: `this.db` (DbMixin), the chat store, the chat runtime
 * (history cache, routes, delivery) and the metrics, ready before the service's own `started` runs and closed after
 * its `stopped`; and `publish`, the one way onto the chat channels. No `channels` here: Moleculer replaces a mixin's
 * `channels` with the service's own (STYLE.md §2), so each service declares its consumers itself.
 */
import type { Service, ServiceSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "./db.mixin.js";
import { ChatStore } from "../src/adapters/chat-store.js";
import { createChatRuntime, type ChatRuntime } from "../src/adapters/chat-runtime.js";
import { chatMetrics, type ChatMetrics } from "../src/adapters/chat-metrics.js";
import type { ChannelPayloads, Publish } from "../src/domain/chat-wire.js";

export interface ChatThis extends DbThis {
	store: ChatStore;
	runtime: ChatRuntime;
	metrics: ChatMetrics;
	publish: Publish;
}

type This = Service & ChatThis;

export default function ChatMixin(config: Config): Partial<ServiceSchema> {
	return {
		mixins: [DbMixin(config)],

		methods: {
			/** Persistent: a message waits in RabbitMQ through a restart of it. */
			async publish<C extends keyof ChannelPayloads>(this: This, channel: C, payload: ChannelPayloads[C]) {
				await this.broker.sendToChannel(channel, payload, { persistent: true });
			},
		},

		/** After DbMixin's `started` has opened the database. */
		started(this: Service) {
			const self = this as This;
			self.store = new ChatStore(self.db.sequelize);
			self.runtime = createChatRuntime(config, this.broker, this.logger);
			self.metrics = chatMetrics(this.broker);
		},

		async stopped(this: Service) {
			await (this as This).runtime?.close();
		},
	};
}
