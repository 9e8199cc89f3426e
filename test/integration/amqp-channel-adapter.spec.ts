/**
 * ResilientAmqpAdapter across a RabbitMQ restart, on a RabbitMQ node of this file's own (kill -9 and start).
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { ServiceBroker, type Middleware } from "moleculer";
import channels from "@moleculer/channels";
import { ResilientAmqpAdapter } from "../../src/adapters/amqp-channel-adapter.js";
import { PrivateRabbitMq } from "../support/private-servers.js";
import { eventually, killStarted, within } from "../support/process.js";

let rabbitMq: PrivateRabbitMq;
let broker: ServiceBroker;

beforeAll(async () => {
	rabbitMq = await PrivateRabbitMq.create();
	await rabbitMq.start(60_000);
}, 90_000);

afterAll(async () => {
	// Bounded: a consumer the bug has broken does not stop, and RabbitMQ must be killed anyway.
	if (broker) await within(broker.stop(), 10_000, "the broker to stop").catch(() => undefined);
	await killStarted();
	await rabbitMq?.remove();
}, 60_000);

describe("ResilientAmqpAdapter", () => {
	it("should keep consuming after a handler outlasts a reconnection (its ack must not go to the new channel)", async () => {
		const adapter = new ResilientAmqpAdapter({
			amqp: { url: rabbitMq.url, queueOptions: { durable: true }, messageOptions: { persistent: true } },
		});
		type ChannelsOptions = Parameters<typeof channels.Middleware>[0];
		broker = new ServiceBroker({
			logger: false,
			middlewares: [channels.Middleware({ adapter } as unknown as ChannelsOptions) as unknown as Middleware],
		});
		const started: string[] = [];
		const handled: string[] = [];
		let release: () => void = () => undefined;
		const released = new Promise<void>((resolve) => (release = resolve));
		broker.createService({
			name: "slow-consumer",
			channels: {
				"test.work": {
					group: "test",
					async handler(payload: { name: string }) {
						started.push(payload.name);
						if (payload.name === "slow") await released;
						handled.push(payload.name);
					},
				},
			},
		});
		await broker.start();

		await broker.sendToChannel("test.work", { name: "slow" });
		await eventually(() => started.includes("slow"), 10_000, "the slow message to be picked up");
		await rabbitMq.kill();
		await rabbitMq.start(60_000);
		// Probes until one is handled: the adapter has reconnected and consumes from a new channel.
		await eventually(
			async () => {
				await broker.sendToChannel("test.work", { name: "probe" }).catch(() => undefined);
				return handled.includes("probe");
			},
			30_000,
			"the consumer to be back",
			500,
		);
		// The slow handler ends now, and acks what RabbitMQ delivered to it on the old channel.
		release();
		await eventually(() => handled.includes("slow"), 10_000, "the slow handler to end");

		await broker.sendToChannel("test.work", { name: "after" });
		await eventually(() => handled.includes("after"), 10_000, "a message sent after that to be handled");
	}, 90_000);
});
