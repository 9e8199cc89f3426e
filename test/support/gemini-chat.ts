/**
 * One embedded cameo answering with a real LangChain Gemini client that talks to a fake Gemini server, for tests that
 * read the prompts the model was sent: its gateway, its chat-ws, the database, and a public character whose
 * post-history instructions name `{{user}}` ("Answer {{user}} in rhyme.").
 */
import { expect, vi } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { AiConsumerThis } from "../../services/ai-consumer.service.js";
import { startFakeGemini, type FakeServer, type RecordedRequest } from "./fake-gemini.js";
import { createTestCharacter, testConfig, uniqueName } from "./config.js";
import { gatewayOrigin } from "./gateway.js";

export const FAKE_GEMINI_KEY = "fake-gemini-key";

export interface GeminiChat {
	fake: FakeServer;
	broker: ServiceBroker;
	sequelize: Sequelize;
	/** The gateway's origin, and chat-ws's. */
	api: string;
	wsBase: string;
	characterId: string;
	stop(): Promise<void>;
}

export async function startGeminiChat(env: Record<string, string> = {}): Promise<GeminiChat> {
	const fake = await startFakeGemini({ apiKey: FAKE_GEMINI_KEY });
	const config = testConfig({
		NAMESPACE: uniqueName("gem"),
		GOOGLE_API_KEY: FAKE_GEMINI_KEY,
		GEMINI_BASE_URL: fake.url,
		LLM_MAX_RETRIES: "0",
		CHAT_MESSAGES_PER_MINUTE: "1000",
		...env,
	});
	const broker = createBroker(config, { logger: false });
	await broker.start();
	const sequelize = (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize;
	const characterId = await createTestCharacter(broker);
	await sequelize.query(`UPDATE ai_characters SET post_history_instructions = $2 WHERE id = $1`, {
		bind: [characterId, "Answer {{user}} in rhyme."],
	});
	await broker.cacher?.clean("characters.**");
	// The key and model are checked at start (one request), before any test counts requests.
	const consumer = broker.getLocalService("ai-consumer") as unknown as AiConsumerThis;
	await vi.waitFor(() => expect(consumer.llmStatus.summary).toBe("ok"));
	return {
		fake,
		broker,
		sequelize,
		api: gatewayOrigin(broker),
		wsBase: `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`,
		characterId,
		async stop() {
			await broker.stop();
			await fake.stop();
		},
	};
}

/** The system instruction of a Gemini request, as one text. */
export function systemOf(request: RecordedRequest): string {
	return request.body.systemInstruction.parts.map((p: { text: string }) => p.text).join("");
}
