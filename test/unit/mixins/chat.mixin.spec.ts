import { describe, expect, it, vi } from "vitest";
import { ServiceBroker, type Service } from "moleculer";
import ChatMixin, { type ChatThis } from "../../../mixins/chat.mixin.js";
import { loadConfig } from "../../../src/config.js";
import { Chan, userMsgPayload } from "../../../src/domain/chat-wire.js";

const config = loadConfig({
	DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
	JWT_SECRET: "x".repeat(40),
	LOGLEVEL: "warn",
});

type Lifecycle = (this: unknown) => unknown;

describe("ChatMixin", () => {
	const mixin = ChatMixin(config);

	it("should carry no channels, which a service's own would replace", () => {
		expect(mixin).not.toHaveProperty("channels");
	});

	it("should set up the store, runtime and metrics on start and close the runtime on stop", async () => {
		const broker = new ServiceBroker({ logger: false });
		const service = { broker, logger: broker.logger, db: { sequelize: {} } } as unknown as Service & ChatThis;
		await (mixin.started as Lifecycle).call(service);
		expect(service.store).toBeDefined();
		expect(service.runtime.history).toBeDefined();
		expect(service.metrics.tokens).toBeTypeOf("function");
		const close = vi.spyOn(service.runtime, "close");
		await (mixin.stopped as Lifecycle).call(service);
		expect(close).toHaveBeenCalledOnce();
	});

	it("should publish persistently on the named channel", async () => {
		const sendToChannel = vi.fn().mockResolvedValue(undefined);
		const service = { broker: { sendToChannel } } as unknown as Service & ChatThis;
		const payload = userMsgPayload({ id: "m", session_id: "s", username: "u", character_id: "c", content: "Hi" });
		await (mixin.methods!.publish as ChatThis["publish"]).call(service, Chan.UserMsg, payload);
		expect(sendToChannel).toHaveBeenCalledWith(Chan.UserMsg, payload, { persistent: true });
	});
});
