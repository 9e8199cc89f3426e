/**
 * The rolling summary stays true: when an edit or a rewind cleared it (summary and summary_upto_seq null) and the
 * session has turns older than the history window, ai-consumer folds them again BEFORE it prompts, so the next reply
 * neither forgets them nor remembers what was edited away. The ai-consumer on the in-process channels (embedded mode)
 * with the characters service and the run's PostgreSQL; a test service captures what it publishes on `chat.ai.msg`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config.js";
import charactersService from "../../services/characters.service.js";
import aiConsumerService, { type AiConsumerThis } from "../../services/ai-consumer.service.js";
import { acquireDatabase, releaseDatabase, type Database } from "../../src/adapters/database.js";
import { ChatStore, type MessageRow } from "../../src/adapters/chat-store.js";
import type { ChatMessage, ChatModel } from "../../src/domain/chat-model.js";
import { Chan, replyId, type AiMsgPayload, type UserMsgPayload } from "../../src/domain/chat-wire.js";
import { OfflineModel } from "../../src/domain/offline-model.js";
import { SEED_CHARACTERS } from "../../src/domain/seed-characters.js";
import type { Character } from "../../models/index.js";
import { testConfig, uniqueName } from "../support/config.js";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
/** A small window: a few turns are already older than it. */
const WINDOW = 6;
const config = testConfig({
	SERVICES: "characters,ai-consumer",
	NAMESPACE: uniqueName("sum"),
	CHAT_HISTORY_WINDOW: String(WINDOW),
});
const SUMMARY_HEADING = "Summary of the conversation so far:";
const isSummaryPrompt = (messages: ChatMessage[]) => messages[0].content.startsWith("You maintain a running summary");

describe("a stale rolling summary", () => {
	const broker = new ServiceBroker({ ...createBrokerOptions(config), logger: false });
	broker.createService(charactersService(config));
	const consumer = broker.createService(
		aiConsumerService(config) as unknown as ServiceSchema,
	) as unknown as AiConsumerThis;
	const published: AiMsgPayload[] = [];
	broker.createService({
		name: "capture",
		channels: {
			[Chan.AiMsg]: {
				group: "test",
				handler(payload: AiMsgPayload) {
					published.push(payload);
				},
			},
		},
	});

	let db: Database;
	let store: ChatStore;
	let character: Character;
	let username: string;

	/** A session of `turns` turns ("turn i" and "answer i"), oldest first. */
	async function session(turns: number): Promise<{ sessionId: string; rows: MessageRow[] }> {
		const sessionId = (await store.createSession(username, character.id)).id;
		const rows: MessageRow[] = [];
		for (let i = 0; i < turns; i++) {
			const said = { session_id: sessionId, username, character_id: character.id };
			const row = await store.insertUserMessage({ ...said, content: `turn ${i}` });
			const reply = await store.insertAiMessage({
				...said,
				id: replyId(row.id),
				reply_to: row.id,
				content: `answer ${i}`,
				model: "offline",
			});
			rows.push(row, reply!.row);
		}
		return { sessionId, rows };
	}

	/** What an edit that touched summarised turns leaves: the summary cleared. */
	async function markStale(sessionId: string): Promise<void> {
		await db.sequelize.query(`UPDATE chat_sessions SET summary = NULL, summary_upto_seq = NULL WHERE id = $1`, {
			bind: [sessionId],
		});
	}

	/** Sends a new user message through the channel and waits for its reply to be published. */
	async function ask(sessionId: string, content: string): Promise<AiMsgPayload> {
		const row = await store.insertUserMessage({ session_id: sessionId, username, character_id: character.id, content });
		const payload: UserMsgPayload = {
			message_id: row.id,
			session_id: sessionId,
			username,
			character_id: character.id,
			content,
		};
		await broker.sendToChannel(Chan.UserMsg, payload);
		return vi.waitFor(
			() => {
				const reply = published.find((m) => m.reply_to === row.id);
				if (!reply) throw new Error("no reply yet");
				return reply;
			},
			{ timeout: 10_000 },
		);
	}

	/** A model named `name` that keeps every prompt; summary prompts get `summary` (or its error), others a reply. */
	function recordingModel(name: string, summary: () => string): { model: ChatModel; prompts: ChatMessage[][] } {
		const prompts: ChatMessage[][] = [];
		const offline = new OfflineModel();
		return {
			prompts,
			model: {
				name,
				async *stream(messages, opts) {
					prompts.push(messages);
					if (isSummaryPrompt(messages)) yield summary();
					else yield* offline.stream(messages, opts);
				},
			},
		};
	}

	async function withModel<T>(model: ChatModel, fn: () => Promise<T>): Promise<T> {
		const original = consumer.model;
		consumer.model = model;
		try {
			return await fn();
		} finally {
			consumer.model = original;
		}
	}

	beforeAll(async () => {
		await broker.start();
		db = await acquireDatabase(config, quiet);
		store = new ChatStore(db.sequelize);
		username = uniqueName("sum");
		await db.models.User.create({ username, name: "Mira", hashed_password: "not-a-real-hash" });
		const seed = await db.models.Character.findOne({ where: { slug: SEED_CHARACTERS[0].slug } });
		if (!seed) throw new Error("seed character missing");
		character = seed;
	});

	afterAll(async () => {
		await broker.stop();
		await releaseDatabase();
	});

	it("should be folded again from the edited turns before the prompt, without a model", async () => {
		const { sessionId, rows } = await session(5);
		// The window holds the new message and the five before it: turns 0 to 2 lie outside.
		const outside = rows.slice(0, rows.length + 1 - WINDOW);
		await store.updateSummary(sessionId, "Mira said turn 0 and turn 1 as first written.", outside.at(-1)!.seq);
		await db.sequelize.query(`UPDATE messages SET content = 'turn 1, edited' WHERE id = $1`, { bind: [rows[2].id] });
		await markStale(sessionId);

		const { model, prompts } = recordingModel("offline", () => "never asked");
		await withModel(model, () => ask(sessionId, "what happened so far?"));
		expect(prompts).toHaveLength(1);
		const system = prompts[0][0].content;
		expect(system).toContain(SUMMARY_HEADING);
		expect(system).toContain("turn 1, edited");
		expect(system).not.toContain("as first written");
		const stored = await store.getSession(sessionId);
		expect(stored?.summary_upto_seq).toBe(outside.at(-1)!.seq);
		expect(stored?.summary).toContain("turn 1, edited");
	});

	it("should ask the model for the new summary first, then prompt the reply with it", async () => {
		const { sessionId } = await session(5);
		await markStale(sessionId);
		const { model, prompts } = recordingModel("fake-llm", () => "Mira and the keeper spoke of turns 0 to 2.");
		await withModel(model, () => ask(sessionId, "and now?"));
		expect(isSummaryPrompt(prompts[0])).toBe(true);
		// Turns 0 to 2 lie outside the window (answer 2 is its oldest message).
		const folded = prompts[0][1].content;
		expect(folded).toContain("turn 0");
		expect(folded).toContain("turn 2");
		expect(folded).not.toContain("answer 2");
		expect(isSummaryPrompt(prompts[1])).toBe(false);
		expect(prompts[1][0].content).toContain(`${SUMMARY_HEADING} Mira and the keeper spoke of turns 0 to 2.`);
	});

	it("should fold without the model when the model fails, and still answer", async () => {
		const { sessionId } = await session(5);
		await markStale(sessionId);
		const { model, prompts } = recordingModel("fake-llm", () => {
			throw new Error("summary model down");
		});
		const reply = await withModel(model, () => ask(sessionId, "still there?"));
		expect(reply.kind).toBe("reply");
		const replyPrompt = prompts.find((p) => !isSummaryPrompt(p))!;
		expect(replyPrompt[0].content).toContain(SUMMARY_HEADING);
		expect(replyPrompt[0].content).toContain("Mira: turn 0");
	});

	it("should leave a summary that is not stale, and a session within the window, as they are", async () => {
		const { sessionId, rows } = await session(5);
		await store.updateSummary(sessionId, "They met at the inn.", rows[0].seq);
		const { model, prompts } = recordingModel("fake-llm", () => "A new summary.");
		await withModel(model, () => ask(sessionId, "go on"));
		expect(isSummaryPrompt(prompts[0])).toBe(false);
		expect(prompts[0][0].content).toContain(`${SUMMARY_HEADING} They met at the inn.`);

		const { sessionId: short } = await session(2);
		const small = recordingModel("fake-llm", () => "A new summary.");
		await withModel(small.model, () => ask(short, "hello"));
		expect(small.prompts).toHaveLength(1);
		expect(small.prompts[0][0].content).not.toContain(SUMMARY_HEADING);
		expect((await store.getSession(short))?.summary).toBeNull();
	});
});
