/**
 * Steering the story (edit, rewind, choose the swipe) over WebSocket and REST, with two sockets of one session: in
 * embedded mode (one broker) and as a cluster with the two sockets on different chat-ws nodes and the story service on
 * the dispatcher's node. A scripted model records every prompt, so the tests read what the model was asked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import type { ChatMessage, ChatModel } from "../../src/domain/chat-model.js";
import { Chan, replyId, type AiMsgPayload } from "../../src/domain/chat-wire.js";
import { createTestCharacter, testConfig, uniqueName } from "../support/config.js";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

/** A model that records each prompt and answers "Reply N." word by word, `delayMs` apart; honours stop. */
class ScriptedModel implements ChatModel {
	readonly name = "scripted";
	readonly prompts: ChatMessage[][] = [];
	delayMs = 0;
	words = 3;
	private replies = 0;

	async *stream(messages: ChatMessage[], opts?: { signal?: AbortSignal }): AsyncGenerator<string> {
		this.prompts.push(messages);
		const n = ++this.replies;
		for (let i = 0; i < this.words; i++) {
			if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
			if (opts?.signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
			yield i === 0 ? `Reply ${n}.` : ` w${i}`;
		}
	}

	/** The text of the newest prompt that ends with the user's `line`. */
	promptFor(line: string): string {
		const prompt = this.prompts.findLast((p) => p.at(-1)?.content.includes(line));
		if (!prompt) throw new Error(`no prompt ends with ${JSON.stringify(line)}`);
		return prompt.map((m) => m.content).join("\n");
	}
}

interface Harness {
	/** The broker running chat-ws for socket `n` (0 or 1: the same broker in embedded mode). */
	wsNode(n: 0 | 1): ServiceBroker;
	/** Where the gateway answers. */
	api: string;
	/** A broker that publishes onto the chat channels. */
	publisher: ServiceBroker;
	/** What the dispatcher does with a reply taken off `chat.ai.msg`. */
	storeReply(payload: AiMsgPayload): Promise<void>;
	sequelize: Sequelize;
	model: ScriptedModel;
	/** Any broker of the deployment, for accounts and characters. */
	core: ServiceBroker;
	stop(): Promise<void>;
}

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;
const settle = (ms = 400) => new Promise((r) => setTimeout(r, ms));

const dispatcherOf = (broker: ServiceBroker) =>
	broker.getLocalService("dispatcher") as unknown as { storeReply(payload: AiMsgPayload): Promise<void> };

async function embedded(): Promise<Harness> {
	const broker = createBroker(testConfig({ NAMESPACE: uniqueName("st"), CHAT_MESSAGES_PER_MINUTE: "1000" }), {
		logger: false,
	});
	await broker.start();
	const model = new ScriptedModel();
	(broker.getLocalService("ai-consumer") as unknown as { model: ChatModel }).model = model;
	return {
		wsNode: () => broker,
		api: gatewayOrigin(broker),
		publisher: broker,
		storeReply: (payload) => dispatcherOf(broker).storeReply(payload),
		sequelize: (broker.getLocalService("chat-ws") as unknown as DbThis).db.sequelize,
		model,
		core: broker,
		stop: () => broker.stop(),
	};
}

async function cluster(): Promise<Harness> {
	const namespace = clusterNamespace("st");
	const node = (services: string) =>
		clusterNode(namespace, services, { CHAT_MESSAGES_PER_MINUTE: "1000", CHAT_REPLY_TIMEOUT: "5" });
	const core = node("auth,characters,sessions,api");
	const ws = [node("chat-ws"), node("chat-ws")];
	const consumer = node("ai-consumer");
	const dispatcher = node("dispatcher,story");
	const all = [core, ...ws, consumer, dispatcher];
	await Promise.all(all.map((b) => b.start()));
	// Services are announced up to a second after a node starts: the gateway must know story's actions, and the story
	// node ai-consumer's stop listener, before the tests rely on them.
	const knows = (b: ServiceBroker, name: string) =>
		b.registry.getServiceList({ onlyAvailable: true }).some((s) => s.name === name);
	await eventually(() => knows(core, "story") && knows(dispatcher, "ai-consumer"), 10_000, "the nodes know each other");
	const model = new ScriptedModel();
	(consumer.getLocalService("ai-consumer") as unknown as { model: ChatModel }).model = model;
	return {
		wsNode: (n) => ws[n],
		api: gatewayOrigin(core),
		publisher: dispatcher,
		storeReply: (payload) => dispatcherOf(dispatcher).storeReply(payload),
		sequelize: (dispatcher.getLocalService("dispatcher") as unknown as DbThis).db.sequelize,
		model,
		core,
		async stop() {
			await Promise.all(all.map((b) => b.stop().catch(() => undefined)));
			await removeNamespace(namespace);
		},
	};
}

function storySuite(mode: string, start: () => Promise<Harness>) {
	describe(`steering the story, ${mode}`, () => {
		let h: Harness;
		let characterId = "";

		beforeAll(async () => {
			h = await start();
			characterId = await createTestCharacter(h.core);
		}, 60_000);

		afterAll(() => h?.stop(), 60_000);

		async function login() {
			const username = uniqueName("st");
			await h.core.call("auth.register", { username, name: "Story User", password: "password123" });
			const { access_token } = await h.core.call<{ access_token: string }, object>("auth.login", {
				username,
				password: "password123",
			});
			return { username, token: access_token };
		}

		async function open(n: 0 | 1, token: string, extra = "") {
			const port = h.wsNode(n).getLocalService("chat-ws").settings.port as number;
			const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${token}${extra}`);
			const hello = await socket.next((f) => f.type === "connection");
			return { socket, sessionId: hello.session_id as string };
		}

		/** A user's session with a socket on each node (the phone on the first, the laptop on the second). */
		async function twoDevices() {
			const user = await login();
			const phone = await open(0, user.token);
			const laptop = await open(1, user.token, `&session_id=${phone.sessionId}`);
			await laptop.socket.next((f) => f.type === "ai"); // the greeting, replayed
			return { ...user, sessionId: phone.sessionId, phone: phone.socket, laptop: laptop.socket };
		}

		/** Sends a message from `socket` and waits until both sockets show its reply. */
		async function say(sockets: ChatSocket[], content: string) {
			sockets[0].send({ content });
			const echo = await sockets[0].next((f) => f.type === "echo" && f.content === content);
			const replies = await Promise.all(sockets.map((s) => s.next((f) => isReply(f) && f.reply_to === echo.id)));
			return { echo, reply: replies[0] };
		}

		async function rest(method: string, path: string, token: string, body?: unknown) {
			const res = await fetch(`${h.api}${path}`, {
				method,
				headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			const text = await res.text();
			return { status: res.status, body: text ? JSON.parse(text) : null };
		}

		async function rows(sessionId: string) {
			const [found] = await h.sequelize.query(
				`SELECT id, role, content, reply_to, variant, active, edited_at FROM messages WHERE session_id = $1 ORDER BY seq`,
				{ bind: [sessionId] },
			);
			return found as { id: string; role: string; content: string; reply_to: string | null; active: boolean }[];
		}

		const framesFor = (socket: ChatSocket, type: string, id: string) =>
			socket.frames.filter((f) => f.type === type && f.id === id);

		it("should show an edit made over WebSocket or REST once on every device, and prompt with the edited text", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const { echo, reply } = await say([phone, laptop], "I carry a red lantern.");

			phone.send({ type: "edit", id: echo.id, content: "  I carry a blue lantern.  " });
			const edited = await Promise.all([phone, laptop].map((s) => s.next((f) => f.type === "message.edited")));
			expect(edited[0]).toEqual({
				type: "message.edited",
				id: echo.id,
				content: "I carry a blue lantern.",
				edited_at: expect.any(String),
				revision: expect.any(Number),
			});
			expect(edited[1]).toEqual(edited[0]);

			const patched = await rest("PATCH", `/sessions/${sessionId}/messages/${reply.id}`, token, {
				content: "The lantern glows blue.",
			});
			expect(patched.status).toBe(200);
			expect(patched.body).toMatchObject({
				id: reply.id,
				role: "ai",
				content: "The lantern glows blue.",
				reply_to: echo.id,
				variant: 0,
				active: true,
				edited_at: expect.any(String),
			});
			const onLaptop = await laptop.next((f) => f.type === "message.edited" && f.id === reply.id);
			expect(onLaptop).toMatchObject({ content: "The lantern glows blue.", edited_at: patched.body.edited_at });
			await phone.next((f) => f.type === "message.edited" && f.id === reply.id);

			const next = await say([phone, laptop], "What do I carry?");
			const prompt = h.model.promptFor("What do I carry?");
			expect(prompt).toContain("I carry a blue lantern.");
			expect(prompt).toContain("The lantern glows blue.");
			expect(prompt).not.toContain("red lantern");
			expect(prompt).not.toContain(reply.content);

			// Exactly once each, and the history reads the edits too.
			for (const socket of [phone, laptop]) {
				expect(framesFor(socket, "message.edited", echo.id as string)).toHaveLength(1);
				expect(framesFor(socket, "message.edited", reply.id as string)).toHaveLength(1);
			}
			const page = await rest("GET", `/sessions/${sessionId}/messages`, token);
			expect(page.body.messages.map((m: { content: string }) => m.content).slice(1, 4)).toEqual([
				"I carry a blue lantern.",
				"The lantern glows blue.",
				"What do I carry?",
			]);
			expect(page.body.messages[1].edited_at).toEqual(edited[0].edited_at);
			expect(page.body.messages[3].edited_at).toBeNull();
			expect(next.reply.edited_at).toBeUndefined();
			// A device that opens the session later is shown the edited text, marked edited.
			const tablet = await open(0, token, `&session_id=${sessionId}`);
			const replayed = await tablet.socket.next((f) => f.id === reply.id);
			expect(replayed).toMatchObject({ content: "The lantern glows blue.", edited_at: patched.body.edited_at });
			expect(await tablet.socket.next((f) => f.id === echo.id)).toMatchObject({ edited_at: edited[0].edited_at });
			await Promise.all([phone.close(), laptop.close(), tablet.socket.close()]);
		});

		it("should refuse to edit a reply still being written, over WebSocket and REST, and allow it once done", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			h.model.delayMs = 40;
			h.model.words = 200;
			let delta!: Frame;
			try {
				phone.send({ content: "Tell me a long story." });
				delta = await phone.next((f) => f.type === "ai.delta");
				phone.send({ type: "edit", id: delta.id, content: "Shorter." });
				expect(await phone.next((f) => f.type === "error")).toMatchObject({ code: "reply_in_progress" });
				const refused = await rest("PATCH", `/sessions/${sessionId}/messages/${delta.id}`, token, {
					content: "Shorter.",
				});
				expect(refused).toMatchObject({ status: 409, body: { code: "REPLY_IN_PROGRESS" } });
				laptop.send({ type: "stop" });
				await phone.next((f) => isReply(f) && f.id === delta.id);
			} finally {
				h.model.delayMs = 0;
				h.model.words = 3;
			}
			expect(framesFor(laptop, "message.edited", delta.id as string)).toHaveLength(0);

			// A continuation marks the reply while it extends it; a mark older than the reply timeout was lost.
			const mark = (age: string) =>
				h.sequelize.query(`UPDATE messages SET generating_since = now() - $2::interval WHERE id = $1`, {
					bind: [delta.id, age],
				});
			await mark("0 seconds");
			expect(
				(await rest("PATCH", `/sessions/${sessionId}/messages/${delta.id}`, token, { content: "Hm." })).status,
			).toBe(409);
			await mark("1 hour");
			const done = await rest("PATCH", `/sessions/${sessionId}/messages/${delta.id}`, token, { content: "Shorter." });
			expect(done).toMatchObject({ status: 200, body: { content: "Shorter." } });
			await laptop.next((f) => f.type === "message.edited" && f.id === delta.id);
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should rewind on every device, stop the reply being written and never store it", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const first = await say([phone, laptop], "First line.");
			h.model.delayMs = 40;
			h.model.words = 200;
			let pending!: Frame;
			try {
				phone.send({ content: "Second line." });
				pending = await phone.next((f) => f.type === "echo" && f.content === "Second line.");
				await laptop.next((f) => f.type === "ai.delta");
				const deleted = await rest("DELETE", `/sessions/${sessionId}/messages/${pending.id}`, token);
				expect(deleted.status).toBe(204);
			} finally {
				h.model.delayMs = 0;
				h.model.words = 3;
			}
			for (const socket of [phone, laptop]) {
				expect(await socket.next((f) => f.type === "messages.deleted")).toEqual({
					type: "messages.deleted",
					ids: [pending.id],
					revision: expect.any(Number),
				});
			}
			// The stopped reply comes back through the queue: it is dropped, not stored, not shown.
			const stoppedReplyId = replyId(pending.id as string);
			await settle(1500);
			expect((await rows(sessionId)).map((m) => m.content)).toEqual([
				expect.any(String),
				"First line.",
				first.reply.content,
			]);
			for (const socket of [phone, laptop]) {
				expect(socket.frames.filter((f) => f.type === "ai" && f.id === stoppedReplyId)).toEqual([]);
			}

			// Rewinding to a reply takes it and everything after it; the session goes on from there.
			const more = await say([phone, laptop], "Third line.");
			const back = await rest("DELETE", `/sessions/${sessionId}/messages/${first.reply.id}`, token);
			expect(back.status).toBe(204);
			const ids = [first.reply.id, more.echo.id, more.reply.id];
			for (const socket of [phone, laptop]) {
				await socket.next((f) => f.type === "messages.deleted" && (f.ids as string[])[0] === first.reply.id);
				expect(socket.ofType("messages.deleted").at(-1)).toEqual({
					type: "messages.deleted",
					ids,
					revision: expect.any(Number),
				});
			}
			expect((await rows(sessionId)).map((m) => m.content)).toEqual([expect.any(String), "First line."]);
			// Asked again, the reply gets the id of the one rewound (variant 0 once more): every device shows it anew.
			phone.send({ type: "regenerate", reply_to: first.echo.id });
			for (const socket of [phone, laptop]) {
				const again = await socket.next(
					(f) => isReply(f) && f.id === first.reply.id && f.content !== first.reply.content,
				);
				expect(again).toMatchObject({ reply_to: first.echo.id, variant: 0 });
			}
			const after = await say([phone, laptop], "A new path.");
			expect(h.model.promptFor("A new path.")).not.toContain("Third line.");
			expect((await rows(sessionId)).map((m) => m.id).slice(-4)).toEqual([
				first.echo.id,
				first.reply.id,
				after.echo.id,
				after.reply.id,
			]);
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should drop a reply to a rewound message that arrives later through the queue", async () => {
			const { username, token, sessionId, phone, laptop } = await twoDevices();
			const { echo } = await say([phone, laptop], "Soon forgotten.");
			expect((await rest("DELETE", `/sessions/${sessionId}/messages/${echo.id}`, token)).status).toBe(204);
			await phone.next((f) => f.type === "messages.deleted");
			const late: AiMsgPayload = {
				kind: "reply",
				id: replyId(echo.id as string, 1),
				reply_to: echo.id as string,
				session_id: sessionId,
				username,
				character_id: characterId,
				content: "A reply from beyond.",
				model: "scripted",
				usage: { input_tokens: 1, output_tokens: 1 },
				variant: 1,
			};
			// The dispatcher acks it (a failure would be retried, then dead-lettered) without storing or delivering it.
			await expect(h.storeReply(late)).resolves.toBeUndefined();
			await h.publisher.sendToChannel(Chan.AiMsg, late);
			// So is the news that a regeneration of it failed.
			const failed: AiMsgPayload = {
				kind: "failure",
				reply_to: echo.id as string,
				variant: 1,
				session_id: sessionId,
				username,
				character_id: characterId,
				code: "ai_unavailable",
				message: "Gone fishing.",
			};
			await h.publisher.sendToChannel(Chan.AiMsg, failed);
			// A live reply published after it is the sign that the queue got that far.
			const live = await say([phone, laptop], "Still here.");
			await settle(800);
			expect((await rows(sessionId)).map((m) => m.id).slice(1)).toEqual([live.echo.id, live.reply.id]);
			for (const socket of [phone, laptop]) {
				expect(socket.frames.filter((f) => f.content === "A reply from beyond.")).toEqual([]);
				expect(socket.frames.filter((f) => f.message === "Gone fishing.")).toEqual([]);
			}
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should leave no reply of a message rewound while a stop or a regeneration races it", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const kept = await say([phone, laptop], "Keep this.");
			const doomed = await say([phone, laptop], "Doomed line.");
			h.model.delayMs = 20;
			h.model.words = 50;
			try {
				phone.send({ type: "regenerate", reply_to: doomed.echo.id });
				await laptop.next((f) => f.type === "ai.delta" && f.variant === 1);
				laptop.send({ type: "stop" });
				const deleted = await rest("DELETE", `/sessions/${sessionId}/messages/${doomed.echo.id}`, token);
				expect(deleted.status).toBe(204);
			} finally {
				h.model.delayMs = 0;
				h.model.words = 3;
			}
			await settle(1500);
			const left = await rows(sessionId);
			expect(left.map((m) => m.id).slice(1)).toEqual([kept.echo.id, kept.reply.id]);
			const [orphans] = await h.sequelize.query(`SELECT id FROM messages WHERE reply_to = $1`, {
				bind: [doomed.echo.id],
			});
			expect(orphans).toEqual([]);
			for (const socket of [phone, laptop]) {
				const last = socket.frames.findLastIndex((f) => f.type === "messages.deleted");
				expect(socket.frames.slice(last + 1).filter((f) => f.type === "ai")).toEqual([]);
			}
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should not store a regeneration whose reply was rewound while it was being written", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const asked = await say([phone, laptop], "Try again later.");
			h.model.delayMs = 20;
			h.model.words = 50;
			try {
				phone.send({ type: "regenerate", reply_to: asked.echo.id });
				await laptop.next((f) => f.type === "ai.delta" && f.variant === 1);
				// The message stays; its replies go, the one being written with them.
				const deleted = await rest("DELETE", `/sessions/${sessionId}/messages/${asked.reply.id}`, token);
				expect(deleted.status).toBe(204);
			} finally {
				h.model.delayMs = 0;
				h.model.words = 3;
			}
			await settle(1500);
			expect((await rows(sessionId)).map((m) => m.id).slice(-1)).toEqual([asked.echo.id]);
			for (const socket of [phone, laptop]) {
				const last = socket.frames.findLastIndex((f) => f.type === "messages.deleted");
				expect(socket.frames.slice(last + 1).filter((f) => f.type === "ai")).toEqual([]);
			}
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should choose the swipe over WebSocket and REST on every device, and continue the story from it", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const { echo, reply: first } = await say([phone, laptop], "Pick a door.");
			phone.send({ type: "regenerate", reply_to: echo.id });
			const second = await laptop.next((f) => isReply(f) && f.variant === 1);
			await phone.next((f) => f.id === second.id && f.type === "ai");

			phone.send({ type: "select_variant", id: first.id });
			const chosen = {
				type: "variant.selected",
				reply_to: echo.id,
				id: first.id,
				variant: 0,
				revision: expect.any(Number),
			};
			for (const socket of [phone, laptop])
				expect(await socket.next((f) => f.type === "variant.selected")).toEqual(chosen);
			const actives = async () => (await rows(sessionId)).filter((m) => m.reply_to === echo.id).map((m) => m.active);
			expect(await actives()).toEqual([true, false]);
			await say([phone, laptop], "Through the first door.");
			const prompt = h.model.promptFor("Through the first door.");
			expect(prompt).toContain(first.content);
			expect(prompt).not.toContain(second.content);

			const picked = await rest("POST", `/sessions/${sessionId}/messages/${second.id}/select`, token);
			expect(picked).toEqual({ status: 200, body: { reply_to: echo.id, id: second.id, variant: 1 } });
			for (const socket of [phone, laptop]) {
				await socket.next((f) => f.type === "variant.selected" && f.id === second.id);
				expect(socket.ofType("variant.selected")).toHaveLength(2);
			}
			expect(await actives()).toEqual([false, true]);
			await say([phone, laptop], "No, the second.");
			expect(h.model.promptFor("No, the second.")).toContain(second.content);
			expect(h.model.promptFor("No, the second.")).not.toContain(first.content);

			// Only a reply has variants.
			phone.send({ type: "select_variant", id: echo.id });
			expect(await phone.next((f) => f.type === "error")).toMatchObject({ code: "cannot_select" });
			const refused = await rest("POST", `/sessions/${sessionId}/messages/${echo.id}/select`, token);
			expect(refused).toMatchObject({ status: 422, body: { code: "CANNOT_SELECT" } });
			expect(await actives()).toEqual([false, true]);
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should let the last of two devices' edits win, and show both devices the same text", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const { echo } = await say([phone, laptop], "Version zero.");
			const edits = Array.from({ length: 6 }, (_, i) => `Version ${i + 1}.`);
			await Promise.all(
				edits.map((content, i) =>
					i % 3 === 2
						? rest("PATCH", `/sessions/${sessionId}/messages/${echo.id}`, token, { content })
						: (i % 2 ? laptop : phone).send({ type: "edit", id: echo.id, content }),
				),
			);
			await eventually(
				() => [phone, laptop].every((s) => framesFor(s, "message.edited", echo.id as string).length === 6),
				10_000,
				"every edit on both devices",
			);
			const [stored] = await rows(sessionId).then((all) => all.filter((m) => m.id === echo.id));
			// A client keeps the edit with the latest edited_at, whatever order the frames came in.
			const shown = (socket: ChatSocket) =>
				framesFor(socket, "message.edited", echo.id as string).reduce((a, b) =>
					String(b.edited_at) > String(a.edited_at) ? b : a,
				).content;
			expect([shown(phone), shown(laptop)]).toEqual([stored.content, stored.content]);
			const stamps = framesFor(phone, "message.edited", echo.id as string).map((f) => f.edited_at);
			expect(new Set(stamps).size).toBe(6);
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should clear the rolling summary when a change touches the turns it covers, and only then", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const one = await say([phone, laptop], "Turn one.");
			const two = await say([phone, laptop], "Turn two.");
			const three = await say([phone, laptop], "Turn three.");
			phone.send({ type: "regenerate", reply_to: three.echo.id });
			const swipe = await phone.next((f) => isReply(f) && f.reply_to === three.echo.id && f.variant === 1);
			const seqOf = async (id: unknown) =>
				(
					(await h.sequelize.query(`SELECT seq FROM messages WHERE id = $1`, { bind: [id], plain: true })) as {
						seq: string;
					}
				).seq;
			/** A summary of everything up to and including `id`. */
			const summarize = async (id: unknown) =>
				h.sequelize.query(`UPDATE chat_sessions SET summary = 'So far', summary_upto_seq = $2 WHERE id = $1`, {
					bind: [sessionId, await seqOf(id)],
				});
			const summary = async () =>
				(
					(await h.sequelize.query(`SELECT summary FROM chat_sessions WHERE id = $1`, {
						bind: [sessionId],
						plain: true,
					})) as { summary: string | null }
				).summary;
			const edit = (id: unknown, content: string) =>
				rest("PATCH", `/sessions/${sessionId}/messages/${id}`, token, { content });

			await summarize(two.reply.id);
			expect((await edit(three.echo.id, "Turn three, edited.")).status).toBe(200);
			expect(await rest("POST", `/sessions/${sessionId}/messages/${three.reply.id}/select`, token)).toMatchObject({
				status: 200,
			});
			expect(await summary()).toBe("So far");
			expect((await edit(one.reply.id, "Reply one, edited.")).status).toBe(200);
			expect(await summary()).toBeNull();

			await summarize(swipe.id);
			expect((await rest("POST", `/sessions/${sessionId}/messages/${swipe.id}/select`, token)).status).toBe(200);
			expect(await summary()).toBeNull();

			await summarize(two.reply.id);
			expect((await rest("DELETE", `/sessions/${sessionId}/messages/${three.echo.id}`, token)).status).toBe(204);
			expect(await summary()).toBe("So far");
			expect((await rest("DELETE", `/sessions/${sessionId}/messages/${two.reply.id}`, token)).status).toBe(204);
			expect(await summary()).toBeNull();
			await Promise.all([phone.close(), laptop.close()]);
		});

		it("should refuse bad input over REST and WebSocket, and change nothing", async () => {
			const me = await twoDevices();
			const other = await twoDevices();
			const mine = await say([me.phone, me.laptop], "My words.");
			const theirs = await say([other.phone, other.laptop], "Their words.");
			const unknown = "00000000-0000-4000-8000-000000000000";
			const path = (session: string, message: string) => `/sessions/${session}/messages/${message}`;
			const before = [await rows(me.sessionId), await rows(other.sessionId)];

			const cases: [string, string, unknown, number, string][] = [
				["PATCH", path(other.sessionId, theirs.echo.id as string), { content: "Mine now" }, 404, "SESSION_NOT_FOUND"],
				["PATCH", path(me.sessionId, theirs.echo.id as string), { content: "Mine now" }, 404, "MESSAGE_NOT_FOUND"],
				["PATCH", path(me.sessionId, unknown), { content: "Nobody" }, 404, "MESSAGE_NOT_FOUND"],
				["PATCH", path(unknown, mine.echo.id as string), { content: "Nowhere" }, 404, "SESSION_NOT_FOUND"],
				["PATCH", path(me.sessionId, mine.echo.id as string), { content: " \n " }, 422, "VALIDATION_ERROR"],
				["PATCH", path(me.sessionId, mine.echo.id as string), { content: "x".repeat(4001) }, 422, "VALIDATION_ERROR"],
				["PATCH", path(me.sessionId, mine.echo.id as string), { content: 7 }, 422, "VALIDATION_ERROR"],
				["PATCH", path(me.sessionId, mine.echo.id as string), {}, 422, "VALIDATION_ERROR"],
				["PATCH", path(me.sessionId, "not-a-uuid"), { content: "Hi" }, 422, "VALIDATION_ERROR"],
				["DELETE", path(other.sessionId, theirs.echo.id as string), undefined, 404, "SESSION_NOT_FOUND"],
				["DELETE", path(me.sessionId, theirs.echo.id as string), undefined, 404, "MESSAGE_NOT_FOUND"],
				["DELETE", path(me.sessionId, unknown), undefined, 404, "MESSAGE_NOT_FOUND"],
				["POST", `${path(other.sessionId, theirs.reply.id as string)}/select`, undefined, 404, "SESSION_NOT_FOUND"],
				["POST", `${path(me.sessionId, theirs.reply.id as string)}/select`, undefined, 404, "MESSAGE_NOT_FOUND"],
				["POST", `${path(me.sessionId, unknown)}/select`, undefined, 404, "MESSAGE_NOT_FOUND"],
			];
			for (const [method, url, body, status, code] of cases) {
				const answer = await rest(method, url, me.token, body);
				expect({ method, url, status: answer.status, code: answer.body?.code }).toEqual({ method, url, status, code });
			}
			const noToken = await fetch(`${h.api}${path(me.sessionId, mine.echo.id as string)}`, { method: "DELETE" });
			expect(noToken.status).toBe(401);

			const frames: [unknown, string][] = [
				[{ type: "edit", id: theirs.echo.id, content: "Mine now" }, "message_not_found"],
				[{ type: "edit", id: unknown, content: "Nobody" }, "message_not_found"],
				[{ type: "edit", id: mine.echo.id, content: "   " }, "empty_content"],
				[{ type: "edit", id: mine.echo.id, content: "x".repeat(4001) }, "content_too_long"],
				[{ type: "edit", id: "m1", content: "Hi" }, "invalid_message"],
				[{ type: "select_variant", id: theirs.reply.id }, "message_not_found"],
				[{ type: "select_variant", id: unknown }, "message_not_found"],
				[{ type: "select_variant" }, "invalid_message"],
			];
			for (const [frame, code] of frames) {
				const seen = me.phone.ofType("error").length;
				me.phone.send(frame);
				await me.phone.next(() => me.phone.ofType("error").length > seen);
				expect({ frame, error: me.phone.ofType("error").at(-1)?.code }).toEqual({ frame, error: code });
			}
			// The socket stays open and nothing changed anywhere.
			await say([me.phone, me.laptop], "Still talking.");
			expect((await rows(me.sessionId)).slice(0, before[0].length)).toEqual(before[0]);
			expect(await rows(other.sessionId)).toEqual(before[1]);
			for (const socket of [me.laptop, other.phone, other.laptop]) {
				expect(
					socket.frames.filter((f) => ["message.edited", "messages.deleted", "variant.selected"].includes(f.type)),
				).toEqual([]);
			}
			await Promise.all([me.phone, me.laptop, other.phone, other.laptop].map((s) => s.close()));
		});

		it("should tell a device that was away what changed: the revision grows with each change in place", async () => {
			const { token, sessionId, phone, laptop } = await twoDevices();
			const revisionNow = async () => (await rest("GET", `/sessions/${sessionId}`, token)).body.revision as number;
			const first = await say([phone, laptop], "Open the gate.");
			phone.send({ type: "regenerate", reply_to: first.echo.id });
			const second = await laptop.next((f) => isReply(f) && f.variant === 1);
			await phone.next((f) => f.type === "ai" && f.id === second.id);
			const more = await say([phone, laptop], "Walk on.");
			// New messages and replies are replayed by `after`: they change no revision.
			const start = phone.ofType("connection")[0].revision as number;
			expect(start).toBe(0);
			expect(await revisionNow()).toBe(start);
			await phone.close();

			// While the phone is away, the laptop edits an old message and picks the first swipe.
			laptop.send({ type: "edit", id: first.echo.id, content: "Open the iron gate." });
			const edited = await laptop.next((f) => f.type === "message.edited");
			laptop.send({ type: "select_variant", id: first.reply.id });
			const selected = await laptop.next((f) => f.type === "variant.selected");

			// Back after the last message it showed: nothing new is replayed, but the revision says it missed changes.
			const back = await open(0, token, `&session_id=${sessionId}&after=${more.reply.id}`);
			const hello = back.socket.ofType("connection")[0];
			expect(hello).toMatchObject({ resumed: true, revision: start + 2 });
			await settle(200);
			expect(back.socket.frames.map((f) => f.type)).toEqual(["connection"]);
			const page = await rest("GET", `/sessions/${sessionId}/messages`, token);
			expect(page.body.revision).toBe(start + 2);
			const byId = new Map(page.body.messages.map((m: { id: string }) => [m.id, m]));
			expect(byId.get(first.echo.id)).toMatchObject({ content: "Open the iron gate." });
			expect(byId.get(first.reply.id)).toMatchObject({ active: true });
			expect(byId.get(second.id)).toMatchObject({ active: false });
			await back.socket.close();

			// Away again: a rewind and a continued reply count too.
			expect((await rest("DELETE", `/sessions/${sessionId}/messages/${more.echo.id}`, token)).status).toBe(204);
			const deleted = await laptop.next((f) => f.type === "messages.deleted");
			laptop.send({ type: "continue" });
			const continued = await laptop.next((f) => f.type === "ai" && f.continued === true);
			expect(continued.id).toBe(first.reply.id);
			const revisions = [edited, selected, deleted, continued].map((f) => f.revision);
			expect(revisions).toEqual([start + 1, start + 2, start + 3, start + 4]);

			const again = await open(0, token, `&session_id=${sessionId}&after=${more.reply.id}`);
			expect(again.socket.ofType("connection")[0]).toMatchObject({ resumed: true, revision: start + 4 });
			const reloaded = await rest("GET", `/sessions/${sessionId}/messages`, token);
			expect(reloaded.body.revision).toBe(start + 4);
			expect(reloaded.body.messages.map((m: { content: string }) => m.content).slice(1)).toEqual([
				"Open the iron gate.",
				continued.content,
				second.content,
			]);
			// The laptop, there all along, saw each change once, and a new turn changes no revision.
			await say([again.socket, laptop], "Onward.");
			expect(await revisionNow()).toBe(start + 4);
			for (const type of ["message.edited", "variant.selected", "messages.deleted"]) {
				expect(laptop.ofType(type)).toHaveLength(1);
			}
			await Promise.all([laptop.close(), again.socket.close()]);
		});
	});
}

storySuite("embedded", embedded);
storySuite("cluster, two chat-ws nodes", cluster);
