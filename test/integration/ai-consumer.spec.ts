/**
 * The ai-consumer on the in-process channels adapter (embedded mode) with the characters service and the run's real
 * PostgreSQL. A test service in group "test" captures what it publishes on `chat.ai.msg`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { countTokens } from "../../src/domain/token-count.js";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config.js";
import charactersService from "../../services/characters.service.js";
import aiConsumerService, { type AiConsumerThis } from "../../services/ai-consumer.service.js";
import { isLastAttempt } from "../../src/adapters/amqp-channel-adapter.js";
import { acquireDatabase, releaseDatabase, type Database } from "../../src/adapters/database.js";
import { ChatStore, type MessageRow } from "../../src/adapters/chat-store.js";
import type { ChatMessage, ChatModel } from "../../src/domain/chat-model.js";
import { Chan, replyId, type AiMsgPayload, type UserMsgPayload } from "../../src/domain/chat-wire.js";
import { OFFLINE_NOTICE, OfflineModel } from "../../src/domain/offline-model.js";
import { SEED_CHARACTERS } from "../../src/domain/seed-characters.js";
import type { Character } from "../../models/index.js";
import type { CharacterView } from "../../src/domain/characters.js";
import { testConfig, uniqueName } from "../support/config.js";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
/** ai-consumer folds turns into the summary a few at a time (SUMMARY_BATCH_TURNS). */
const SUMMARY_BATCH = 4;
const SUMMARY_HEADING = "Summary of the conversation so far:";
const isSummaryPrompt = (messages: ChatMessage[]) => messages[0].content.startsWith("You maintain a running summary");
const config = testConfig({ SERVICES: "characters,ai-consumer", NAMESPACE: uniqueName("aic") });

describe("ai-consumer service", () => {
	const broker = new ServiceBroker({ ...createBrokerOptions(config), logger: false });
	broker.createService(charactersService(config));
	const consumer = broker.createService(
		aiConsumerService(config) as unknown as ServiceSchema,
	) as unknown as AiConsumerThis & {
		emitLocalChannelHandler(channel: string, payload: unknown, raw: unknown): Promise<void>;
	};
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

	/** A new session with one user message in it, and the payload chat-ws would send for it. */
	async function userMessage(
		content = "Will it storm tonight?",
		sessionId?: string,
	): Promise<{ row: MessageRow; payload: UserMsgPayload }> {
		const session_id = sessionId ?? (await store.createSession(username, character.id)).id;
		const row = await store.insertUserMessage({ session_id, username, character_id: character.id, content });
		return { row, payload: { message_id: row.id, session_id, username, character_id: character.id, content } };
	}

	/** Turns 1 to `count - 1` of a session, each a user message (`said(i)`) and its reply "answer i". */
	async function addTurns(sessionId: string, count: number, said: (i: number) => string): Promise<void> {
		for (let i = 1; i < count; i++) {
			const row = await store.insertUserMessage({
				session_id: sessionId,
				username,
				character_id: character.id,
				content: said(i),
			});
			await store.insertAiMessage({
				id: replyId(row.id),
				reply_to: row.id,
				session_id: sessionId,
				username,
				character_id: character.id,
				content: `answer ${i}`,
				model: "offline",
			});
		}
	}

	/**
	 * The offline model, keeping every prompt it is given. Under another `name` it stands for a real model, which is
	 * also asked for summaries: it answers them with `summary()` (or its error).
	 */
	function recordingModel(
		name = "offline",
		summary = () => "A summary.",
	): { recording: ChatModel; prompts: ChatMessage[][] } {
		const prompts: ChatMessage[][] = [];
		const offline = new OfflineModel();
		async function* summarise() {
			yield summary();
		}
		return {
			prompts,
			recording: {
				name,
				stream: (messages) => (
					prompts.push(messages),
					isSummaryPrompt(messages) ? summarise() : offline.stream(messages)
				),
			},
		};
	}

	/** A session of `turns` turns ("turn i", answered from turn 1 on) whose summary an edit has just cleared. */
	async function staleSession(turns: number): Promise<string> {
		const { payload: opening } = await userMessage("turn 0");
		await addTurns(opening.session_id, turns, (i) => `turn ${i}`);
		await db.sequelize.query(`UPDATE chat_sessions SET summary = NULL, summary_upto_seq = NULL WHERE id = $1`, {
			bind: [opening.session_id],
		});
		return opening.session_id;
	}

	/** A new user message in the session, through the channel; its reply once published. */
	async function ask(sessionId: string, content: string): Promise<AiMsgPayload> {
		const { payload } = await userMessage(content, sessionId);
		await broker.sendToChannel(Chan.UserMsg, payload);
		return (await nextFor(payload.message_id))[0];
	}

	/** The session once it has a rolling summary. */
	const summarised = (sessionId: string) =>
		vi.waitFor(async () => {
			const session = await store.getSession(sessionId);
			if (!session?.summary) throw new Error("no summary yet");
			return session;
		});

	const publishedFor = (messageId: string) => published.filter((m) => m.reply_to === messageId);

	async function nextFor(messageId: string, count = 1): Promise<AiMsgPayload[]> {
		// The first message of the file warms every cache (character, user, persona, books): over a second beside
		// another test file.
		return vi.waitFor(
			() => {
				const found = publishedFor(messageId);
				if (found.length < count) throw new Error(`${found.length} of ${count} messages for ${messageId}`);
				return found;
			},
			{ timeout: 10_000 },
		);
	}

	/** Runs `fn` with the consumer's model replaced. */
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
		username = uniqueName("chat");
		await db.models.User.create({ username, name: username, hashed_password: "not-a-real-hash" });
		const seed = await db.models.Character.findOne({ where: { slug: SEED_CHARACTERS[0].slug } });
		if (!seed) throw new Error("seed character missing");
		character = seed;
	});

	afterAll(async () => {
		await broker.stop();
		await releaseDatabase();
	});

	it("should answer a user message in character with a deterministic reply id", async () => {
		const { payload } = await userMessage();
		await broker.sendToChannel(Chan.UserMsg, payload);
		const [reply] = await nextFor(payload.message_id);
		expect(reply).toMatchObject({
			kind: "reply",
			id: replyId(payload.message_id),
			reply_to: payload.message_id,
			session_id: payload.session_id,
			username,
			character_id: character.id,
			model: "offline",
		});
		if (reply.kind !== "reply") throw new Error("expected a reply");
		expect(reply.content).toContain(character.name);
		expect(reply.content).toContain('"Will it storm tonight?"');
		expect(reply.content.endsWith(OFFLINE_NOTICE)).toBe(true);
		expect(reply.usage.input_tokens).toBeGreaterThan(100);
		expect(reply.usage.output_tokens).toBe(countTokens(reply.content));
	});

	it("should answer a redelivered message with the same reply id and content", async () => {
		const { payload } = await userMessage("Again?");
		await broker.sendToChannel(Chan.UserMsg, payload);
		await nextFor(payload.message_id);
		await broker.sendToChannel(Chan.UserMsg, payload);
		const [first, second] = await nextFor(payload.message_id, 2);
		expect(second).toEqual(first);
	});

	it("should word a regeneration differently with the offline model", async () => {
		const { payload } = await userMessage("Swipe me");
		await broker.sendToChannel(Chan.UserMsg, payload);
		await broker.sendToChannel(Chan.UserMsg, { ...payload, variant: 1 });
		// Answered concurrently: in either order.
		const [first, second] = (await nextFor(payload.message_id, 2)).sort((a, b) => (a.variant ?? 0) - (b.variant ?? 0));
		if (first.kind !== "reply" || second.kind !== "reply") throw new Error("expected replies");
		expect(second).toMatchObject({ variant: 1, id: replyId(payload.message_id, 1) });
		expect(second.content).not.toBe(first.content);
		expect(second.content.endsWith(OFFLINE_NOTICE)).toBe(true);
	});

	it("should prompt with the history up to the message answered, oldest first", async () => {
		const { payload: firstPayload } = await userMessage("first question");
		await store.insertAiMessage({
			...firstPayload,
			id: replyId(firstPayload.message_id),
			reply_to: firstPayload.message_id,
			content: "first answer",
			model: "offline",
		});
		const { payload } = await userMessage("second question", firstPayload.session_id);
		await userMessage("sent later", firstPayload.session_id);

		const { recording, prompts } = recordingModel();
		await withModel(recording, async () => {
			await broker.sendToChannel(Chan.UserMsg, payload);
			await nextFor(payload.message_id);
		});

		const [system, ...rest] = prompts[0];
		expect(system.role).toBe("system");
		expect(system.content).toContain(`You are ${character.name}.`);
		expect(system.content).toContain(`The user is called ${username}.`);
		expect(rest).toEqual([
			{ role: "user", content: "first question" },
			{ role: "assistant", content: "first answer" },
			{ role: "user", content: "second question" },
		]);
	});

	it("should report an unknown or deleted character as character_unavailable", async () => {
		const gone = await db.models.Character.create({
			name: "Gone",
			slug: uniqueName("gone")
				.toLowerCase()
				.replace(/[^a-z0-9]/g, ""),
			system_prompt: "x",
		});
		await gone.destroy();
		const { payload } = await userMessage("Anyone there?");
		const orphan = { ...payload, character_id: gone.id };
		await broker.sendToChannel(Chan.UserMsg, orphan);
		const [failure] = await nextFor(payload.message_id);
		expect(failure).toMatchObject({
			kind: "failure",
			code: "character_unavailable",
			reply_to: payload.message_id,
			session_id: payload.session_id,
			username,
			character_id: gone.id,
			message: expect.any(String),
		});
	});

	it("should report a failing model as ai_unavailable (no retries in-process)", async () => {
		const { payload } = await userMessage("Hello?");
		const broken: ChatModel = {
			name: "broken",
			async *stream() {
				yield "Half a ";
				throw new Error("LLM connection reset");
			},
		};
		const [failure] = await withModel(broken, async () => {
			await broker.sendToChannel(Chan.UserMsg, payload);
			return nextFor(payload.message_id);
		});
		expect(failure).toMatchObject({
			kind: "failure",
			code: "ai_unavailable",
			reply_to: payload.message_id,
			session_id: payload.session_id,
		});
		expect(publishedFor(payload.message_id)).toHaveLength(1);
	});

	it("should report a failure on AMQP only at the last attempt, and rethrow every time", async () => {
		const { payload } = await userMessage("Retry me");
		const broken: ChatModel = {
			name: "broken",
			stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("LLM down")) }) }),
		};
		const delivery = (count?: number) => ({
			properties: { headers: count === undefined ? {} : { "x-redelivered-count": count } },
		});
		await withModel(broken, async () => {
			await expect(consumer.emitLocalChannelHandler(Chan.UserMsg, payload, delivery())).rejects.toThrow("LLM down");
			await expect(consumer.emitLocalChannelHandler(Chan.UserMsg, payload, delivery(1))).rejects.toThrow("LLM down");
			await expect(consumer.emitLocalChannelHandler(Chan.UserMsg, payload, delivery(2))).rejects.toThrow("LLM down");
		});
		// Published in order on the in-process adapter: one failure means only the third attempt reported.
		const [failure] = await nextFor(payload.message_id);
		expect(failure).toMatchObject({ kind: "failure", code: "ai_unavailable" });
		expect(publishedFor(payload.message_id)).toHaveLength(1);
	});

	it("should fold turns that outgrow the token budget into the session's rolling summary, and prompt with it", async () => {
		const { payload: opening } = await userMessage("turn 0 " + "lorem ".repeat(150));
		const sessionId = opening.session_id;
		await addTurns(sessionId, 24, (i) => `turn ${i} ` + "lorem ".repeat(150));
		const { payload } = await userMessage("what happened so far?", sessionId);
		const { recording, prompts } = recordingModel();
		await withModel(recording, async () => {
			await broker.sendToChannel(Chan.UserMsg, payload);
			await nextFor(payload.message_id);
			const session = await summarised(sessionId);
			// The oldest turns did not fit the 3,000-token budget: the summary holds them (its newest lines at least,
			// within its own 300-token cap), the prompt does not.
			expect(session.summary).toMatch(/turn \d+/);
			expect(countTokens(session.summary!)).toBeLessThanOrEqual(config.chat.summaryTokens);
			const history = prompts[0]
				.slice(1)
				.map((m) => m.content)
				.join("\n");
			expect(history).not.toContain("turn 0 ");
			expect(history).toContain("what happened so far?");
			expect(prompts[0].reduce((n, m) => n + countTokens(m.content), 0)).toBeLessThan(config.chat.promptTokens);

			const { payload: next } = await userMessage("and then?", sessionId);
			await broker.sendToChannel(Chan.UserMsg, next);
			await nextFor(next.message_id);
			expect(prompts.at(-1)![0].content).toContain("Summary of the conversation so far:");
			expect(prompts.at(-1)![0].content).toContain(session.summary!.split("\n").at(-1));
		});
	});

	it("should fold turns that fell out of the history window into the summary, though they would fit the budget", async () => {
		const { payload: opening } = await userMessage("turn 0, short");
		const sessionId = opening.session_id;
		const turns = config.chat.historyWindow;
		await addTurns(sessionId, turns, (i) => `turn ${i}, short`);
		const { payload } = await userMessage("what happened so far?", sessionId);
		await broker.sendToChannel(Chan.UserMsg, payload);
		await nextFor(payload.message_id);
		const session = await summarised(sessionId);
		// Nothing was dropped for the token budget; the oldest turns are simply older than the window. The summary
		// (capped, so its newest lines) runs up to the last of them.
		const all = await store.latestMessages(sessionId, 1000);
		const outside = all.slice(0, -config.chat.historyWindow);
		expect(outside.length).toBeGreaterThanOrEqual(SUMMARY_BATCH);
		expect(session.summary_upto_seq).toBe(outside.at(-1)!.seq);
		expect(session.summary).toContain(outside.at(-1)!.content);
	});

	it("should fold a summary an edit cleared again before the next prompt, from the turns as edited", async () => {
		const sessionId = await staleSession(22);
		const all = await store.latestMessages(sessionId, 1000);
		// With the new message, the window holds the newest messages but these.
		const outside = all.slice(0, all.length + 1 - config.chat.historyWindow);
		await db.sequelize.query(`UPDATE messages SET content = 'turn 1, edited' WHERE id = $1`, { bind: [all[1].id] });
		const { recording, prompts } = recordingModel();
		await withModel(recording, () => ask(sessionId, "what happened so far?"));
		expect(prompts).toHaveLength(1);
		expect(prompts[0][0].content).toContain(`${SUMMARY_HEADING} ${username}: turn 0`);
		expect(prompts[0][0].content).toContain("turn 1, edited");
		const session = await store.getSession(sessionId);
		expect(session?.summary_upto_seq).toBe(outside.at(-1)!.seq);
		expect(session?.summary).toContain(outside.at(-1)!.content);
	});

	it("should have the model write the cleared summary first, then prompt the reply with it", async () => {
		const sessionId = await staleSession(22);
		const { recording, prompts } = recordingModel("fake-llm", () => "They spoke of turns 0 to 2.");
		await withModel(recording, () => ask(sessionId, "and now?"));
		expect(isSummaryPrompt(prompts[0])).toBe(true);
		// Turns 0 to 2 lie outside the window; answer 2 is its oldest message.
		expect(prompts[0][1].content).toContain("turn 2");
		expect(prompts[0][1].content).not.toContain("answer 2");
		expect(isSummaryPrompt(prompts[1])).toBe(false);
		expect(prompts[1][0].content).toContain(`${SUMMARY_HEADING} They spoke of turns 0 to 2.`);
	});

	it("should fold the cleared summary line by line when the model fails at it, and still answer", async () => {
		const sessionId = await staleSession(22);
		const { recording, prompts } = recordingModel("fake-llm", () => {
			throw new Error("summary model down");
		});
		const reply = await withModel(recording, () => ask(sessionId, "still there?"));
		expect(reply.kind).toBe("reply");
		expect(prompts.find((p) => !isSummaryPrompt(p))?.[0].content).toContain(`${SUMMARY_HEADING} ${username}: turn 0`);
	});

	it("should not rebuild a summary that is not stale, nor make one for a session within the window", async () => {
		const { payload: opening } = await userMessage("turn 0");
		await addTurns(opening.session_id, 22, (i) => `turn ${i}`);
		await store.updateSummary(
			opening.session_id,
			"They met at the inn.",
			(await store.getMessage(opening.message_id))!.seq,
		);
		const kept = recordingModel("fake-llm");
		await withModel(kept.recording, () => ask(opening.session_id, "go on"));
		expect(isSummaryPrompt(kept.prompts[0])).toBe(false);
		expect(kept.prompts[0][0].content).toContain(`${SUMMARY_HEADING} They met at the inn.`);

		const short = await staleSession(3);
		const none = recordingModel("fake-llm");
		await withModel(none.recording, () => ask(short, "hello"));
		expect(none.prompts).toHaveLength(1);
		expect(none.prompts[0][0].content).not.toContain(SUMMARY_HEADING);
		expect((await store.getSession(short))?.summary).toBeNull();
	});

	it("should answer as the character is now, once it has been changed", async () => {
		const user = await db.models.User.findOne({ where: { username } });
		const admin = { id: user!.id, username, role: "admin" as const };
		const own = await broker.call<CharacterView, Record<string, string>>(
			"characters.create",
			{ name: `Old Name ${uniqueName("c")}`, system_prompt: "You test caching." },
			{ meta: { user: admin } },
		);
		const session = await store.createSession(username, own.id);
		const ask = async () => {
			const row = await store.insertUserMessage({
				session_id: session.id,
				username,
				character_id: own.id,
				content: "Who are you?",
			});
			await broker.sendToChannel(Chan.UserMsg, {
				message_id: row.id,
				session_id: session.id,
				username,
				character_id: own.id,
				content: row.content,
			});
			const [reply] = await nextFor(row.id);
			return reply.kind === "reply" ? reply.content : "";
		};
		expect(await ask()).toContain(own.name);
		const renamed = `New Name ${uniqueName("c")}`;
		await broker.call("characters.update", { id: own.id, name: renamed }, { meta: { user: admin } });
		expect(await ask()).toContain(renamed);
	});

	it("should refuse, without prompting the model, a user who can no longer view the character, yet answer its owner", async () => {
		const ownerName = uniqueName("own");
		const owner = await db.models.User.create({
			username: ownerName,
			name: "Owner A",
			hashed_password: "not-a-real-hash",
		});
		const asOwner = { meta: { user: { id: owner.id, username: ownerName, role: "user" as const } } };
		const own = await broker.call<CharacterView, Record<string, string>>(
			"characters.create",
			{ name: `Keeper ${uniqueName("c")}`, system_prompt: "Public for now." },
			asOwner,
		);
		const sessions = {
			[username]: await store.createSession(username, own.id),
			[ownerName]: await store.createSession(ownerName, own.id),
		};
		const ask = async (who: string) => {
			const row = await store.insertUserMessage({
				session_id: sessions[who].id,
				username: who,
				character_id: own.id,
				content: "Still there?",
			});
			await broker.sendToChannel(Chan.UserMsg, {
				message_id: row.id,
				session_id: sessions[who].id,
				username: who,
				character_id: own.id,
				content: row.content,
			});
			return (await nextFor(row.id))[0];
		};
		const { recording, prompts } = recordingModel();
		await withModel(recording, async () => {
			expect(await ask(username)).toMatchObject({ kind: "reply" });
			await broker.call(
				"characters.update",
				{ id: own.id, is_public: false, system_prompt: "SECRET instructions" },
				asOwner,
			);
			expect(await ask(username)).toMatchObject({ kind: "failure", code: "character_unavailable", username });
			expect(prompts).toHaveLength(1);
			expect(await ask(ownerName)).toMatchObject({ kind: "reply" });
			expect(prompts[1][0].content).toContain("SECRET instructions");
			await broker.call("characters.update", { id: own.id, is_public: true, is_active: false }, asOwner);
			expect(await ask(username)).toMatchObject({ kind: "failure", code: "character_unavailable" });
			expect(prompts).toHaveLength(2);
		});
	});

	it("should call the user by their persona's name, their default one named after them, never by their login", async () => {
		const login = uniqueName("login");
		await db.models.User.create({ username: login, name: "Ada Lovelace", hashed_password: "not-a-real-hash" });
		const session = await store.createSession(login, character.id);
		const ask = async (user_name?: string) => {
			const row = await store.insertUserMessage({
				session_id: session.id,
				username: login,
				character_id: character.id,
				content: "Who am I?",
			});
			await broker.sendToChannel(Chan.UserMsg, {
				message_id: row.id,
				session_id: session.id,
				username: login,
				character_id: character.id,
				content: row.content,
				...(user_name ? { user_name } : {}),
			});
			await nextFor(row.id);
		};
		const { recording, prompts } = recordingModel();
		await withModel(recording, async () => {
			await ask("Countess Ada");
			await ask();
		});
		// The display name a message carries is the persona's now: the account has none, so it gets its default.
		expect(prompts[0][0].content).toContain("The user is called Ada Lovelace.");
		expect(prompts[1][0].content).toContain("The user is called Ada Lovelace.");
		expect(
			prompts
				.flat()
				.map((m) => m.content)
				.join("\n"),
		).not.toContain(login);
	});

	it("should ack a malformed payload without retrying or answering", async () => {
		const sent = published.length;
		await expect(
			consumer.emitLocalChannelHandler(Chan.UserMsg, { message_id: "nope", content: 42 }, {}),
		).resolves.toBeUndefined();
		await expect(consumer.emitLocalChannelHandler(Chan.UserMsg, null, {})).resolves.toBeUndefined();
		expect(published.length).toBe(sent);
	});
});

describe("isLastAttempt", () => {
	it("should count AMQP redeliveries against maxRetries, the first delivery having no header", () => {
		expect(isLastAttempt({ properties: { headers: {} } }, 3)).toBe(false);
		expect(isLastAttempt({ properties: { headers: { "x-redelivered-count": 1 } } }, 3)).toBe(false);
		expect(isLastAttempt({ properties: { headers: { "x-redelivered-count": 2 } } }, 3)).toBe(true);
		expect(isLastAttempt({ properties: {} }, 0)).toBe(true);
	});

	it("should treat every in-process delivery as the last", () => {
		expect(isLastAttempt({ payload: {}, headers: undefined }, 3)).toBe(true);
	});
});
