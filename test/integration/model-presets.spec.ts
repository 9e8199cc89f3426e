/**
 * The operator's model allow-list and bounds, and per-chat presets (issue 17), over the gateway and a chat socket, with
 * a real OpenAI client talking to a fake OpenAI-compatible server: what is refused when saved (422), and what the
 * provider receives (model, temperature, top_p, max_tokens) for characters beyond the bounds and chats with presets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { testConfig, uniqueName } from "../support/config.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

let fake: FakeServer;
let broker: ServiceBroker;
let wsBase = "";
const { call, login } = restClient(() => gatewayOrigin(broker));

const ALLOWED = ["llama3", "gpt-4o-mini", "mistral"];
const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;
const completions = () => fake.requests.filter((r) => r.path.endsWith("/chat/completions"));

async function sql(query: string, bind: unknown[]): Promise<void> {
	await (broker.getLocalService("sessions") as unknown as DbThis).db.sequelize.query(query, { bind });
}

async function createCharacter(token: string, settings: object = {}) {
	const res = await call("POST", "/characters", {
		token,
		json: { name: `Preset Bard ${uniqueName("c")}`, system_prompt: "You are a bard.", ...settings },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body.id as string;
}

/** Sends one line in a new chat with the character and answers the request the provider got for its reply. */
async function replyRequest(token: string, characterId: string, sessionId?: string) {
	const resume = sessionId ? `&session_id=${sessionId}` : "";
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${token}${resume}`);
	const hello = await socket.next((f) => f.type === "connection");
	const before = completions().length;
	const line = `Sing me something, ${uniqueName("line")}`;
	socket.send({ content: line });
	// A resumed chat's socket is sent its history first.
	const echo = await socket.next((f) => f.type === "echo" && f.content === line);
	await socket.next((f) => isReply(f) && f.reply_to === echo.id);
	await socket.close();
	const requests = completions();
	expect(requests.length).toBe(before + 1);
	return { body: requests.at(-1)!.body, sessionId: hello.session_id as string };
}

beforeAll(async () => {
	fake = await startFakeOpenAI({ models: ["llama3"] });
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("presets"),
			LLM_PROVIDER: "openai",
			OPENAI_BASE_URL: `${fake.url}/v1`,
			OPENAI_MODEL: "llama3",
			// An entry for another provider does not apply to this one.
			LLM_ALLOWED_MODELS: "gpt-4o-mini, openai:mistral, gemini:gemini-2.5-pro",
			LLM_MAX_TEMPERATURE: "1.2",
			LLM_MAX_OUTPUT_TOKENS_LIMIT: "300",
			LLM_MAX_RETRIES: "0",
			CHAT_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
}, 60_000);

afterAll(async () => {
	await broker?.stop();
	await fake?.stop();
});

beforeEach(() => fake.reset());

describe("model allow-list when characters are saved", () => {
	it("should refuse a character whose model is not allowed with 422 MODEL_NOT_ALLOWED naming the allowed ones", async () => {
		const { token } = await login();
		for (const model of ["gpt-4o", "gemini-2.5-pro", "openai:mistral"]) {
			const res = await call("POST", "/characters", {
				token,
				json: { name: "Greedy", system_prompt: "You are costly.", llm_model: model },
			});
			expect(res.status, model).toBe(422);
			expect(res.body).toMatchObject({ code: "MODEL_NOT_ALLOWED" });
			expect(res.body.detail).toContain(ALLOWED.join(", "));
		}
		for (const model of ALLOWED) await createCharacter(token, { llm_model: model });
	});

	it("should refuse changing a character to a model that is not allowed, and keep it as it was", async () => {
		const { token } = await login();
		const id = await createCharacter(token, { llm_model: "gpt-4o-mini" });
		const res = await call("PATCH", `/characters/id/${id}`, { token, json: { llm_model: "gpt-4o", name: "Renamed" } });
		expect(res.status).toBe(422);
		expect(res.body.code).toBe("MODEL_NOT_ALLOWED");
		const kept = await call("GET", `/characters/id/${id}`, { token });
		expect(kept.body).toMatchObject({ llm_model: "gpt-4o-mini" });
		expect(kept.body.name).not.toBe("Renamed");
		const cleared = await call("PATCH", `/characters/id/${id}`, { token, json: { llm_model: null } });
		expect(cleared.status).toBe(200);
	});
});

describe("operator's bounds at reply time", () => {
	it("should clamp a character's settings beyond the bounds and send the configured model for one no longer allowed", async () => {
		const { token } = await login();
		const id = await createCharacter(token);
		// As saved before the operator lowered the bounds and shortened the list.
		await sql(
			`UPDATE ai_characters SET llm_model = 'gpt-4o', temperature = 2, max_output_tokens = 65536 WHERE id = $1`,
			[id],
		);
		await broker.cacher?.clean("characters.**");
		const { body } = await replyRequest(token, id);
		expect(body).toMatchObject({ model: "llama3", temperature: 1.2, max_tokens: 300 });
		expect(body).not.toHaveProperty("top_p");
	});

	it("should send an allowed character's own settings as they are", async () => {
		const { token } = await login();
		const id = await createCharacter(token, { llm_model: "mistral", temperature: 0.3, max_output_tokens: 120 });
		const { body } = await replyRequest(token, id);
		expect(body).toMatchObject({ model: "mistral", temperature: 0.3, max_tokens: 120 });
	});
});

describe("per-chat presets", () => {
	it("should send a chat's preset instead of the character's settings, and the character's again once cleared", async () => {
		const { token } = await login();
		const id = await createCharacter(token, { llm_model: "gpt-4o-mini", temperature: 0.3, max_output_tokens: 200 });
		const { sessionId } = await replyRequest(token, id);
		const patched = await call("PATCH", `/sessions/${sessionId}`, {
			token,
			json: { model: "mistral", temperature: 0.9, top_p: 0.5, max_output_tokens: 100 },
		});
		expect(patched.status, JSON.stringify(patched.body)).toBe(200);
		const preset = { model: "mistral", temperature: 0.9, top_p: 0.5, max_output_tokens: 100 };
		expect(patched.body.preset).toEqual(preset);
		expect((await call("GET", `/sessions/${sessionId}`, { token })).body.preset).toEqual(preset);

		const { body } = await replyRequest(token, id, sessionId);
		expect(body).toMatchObject({ model: "mistral", temperature: 0.9, top_p: 0.5, max_tokens: 100 });

		const cleared = await call("PATCH", `/sessions/${sessionId}`, { token, json: { model: null, temperature: null } });
		expect(cleared.body.preset).toEqual({ model: null, temperature: null, top_p: 0.5, max_output_tokens: 100 });
		const after = await replyRequest(token, id, sessionId);
		expect(after.body).toMatchObject({ model: "gpt-4o-mini", temperature: 0.3, top_p: 0.5, max_tokens: 100 });

		// Another chat with the same character keeps the character's settings.
		const other = await replyRequest(token, id);
		expect(other.sessionId).not.toBe(sessionId);
		expect(other.body).toMatchObject({ model: "gpt-4o-mini", temperature: 0.3, max_tokens: 200 });
		expect(other.body).not.toHaveProperty("top_p");
	});

	it("should call the model with the preset for a continue and an impersonation too, and keep it in a branch", async () => {
		const { token } = await login();
		const id = await createCharacter(token, { temperature: 0.3 });
		const { sessionId } = await replyRequest(token, id);
		const preset = { model: "gpt-4o-mini", temperature: 0.7, top_p: 0.8, max_output_tokens: 60 };
		expect((await call("PATCH", `/sessions/${sessionId}`, { token, json: preset })).status).toBe(200);
		const sent = { model: "gpt-4o-mini", temperature: 0.7, top_p: 0.8, max_tokens: 60 };

		const socket = await ChatSocket.open(`${wsBase}/ws/${id}?token=${token}&session_id=${sessionId}`);
		await socket.next((f) => f.type === "connection");
		const before = completions().length;
		socket.send({ type: "continue" });
		await socket.next((f) => f.type === "ai" && f.continued === true);
		expect(completions().length).toBe(before + 1);
		expect(completions().at(-1)!.body).toMatchObject(sent);
		socket.send({ type: "impersonate" });
		await socket.next((f) => f.type === "impersonation");
		expect(completions().length).toBe(before + 2);
		expect(completions().at(-1)!.body).toMatchObject(sent);
		await socket.close();

		const messages = await call("GET", `/sessions/${sessionId}/messages`, { token });
		const last = messages.body.messages.at(-1).id as string;
		const branch = await call("POST", `/sessions/${sessionId}/branch`, { token, json: { message_id: last } });
		expect(branch.status).toBe(201);
		expect(branch.body.preset).toEqual(preset);
	});

	it("should refuse a preset outside the allow-list or the bounds with 422 and change nothing", async () => {
		const { token } = await login();
		const id = await createCharacter(token);
		const { sessionId } = await replyRequest(token, id);
		const refused = await call("PATCH", `/sessions/${sessionId}`, {
			token,
			json: { model: "gpt-4o", temperature: 0.5 },
		});
		expect(refused.status).toBe(422);
		expect(refused.body).toMatchObject({ code: "MODEL_NOT_ALLOWED" });
		for (const json of [{ temperature: 1.3 }, { max_output_tokens: 301 }, { top_p: 1.5 }]) {
			const res = await call("PATCH", `/sessions/${sessionId}`, { token, json });
			expect(res.status, JSON.stringify(json)).toBe(422);
			expect(res.body.code).toBe("VALIDATION_ERROR");
		}
		const shown = await call("GET", `/sessions/${sessionId}`, { token });
		expect(shown.body.preset).toEqual({ model: null, temperature: null, top_p: null, max_output_tokens: null });
	});

	it("should send the configured model for a preset's model the operator no longer allows", async () => {
		const { token } = await login();
		const id = await createCharacter(token, { temperature: 0.4 });
		const { sessionId } = await replyRequest(token, id);
		await sql(`UPDATE chat_sessions SET preset = '{"model": "gpt-4o", "max_output_tokens": 5000}' WHERE id = $1`, [
			sessionId,
		]);
		const { body } = await replyRequest(token, id, sessionId);
		expect(body).toMatchObject({ model: "llama3", temperature: 0.4, max_tokens: 300 });
	});

	it("should let only a room's owner set its preset, and hide another user's chat (404)", async () => {
		const owner = await login();
		const member = await login();
		const stranger = await login();
		const id = await createCharacter(owner.token);
		const room = await call("POST", "/sessions", { token: owner.token, json: { character_ids: [id] } });
		expect(room.status, JSON.stringify(room.body)).toBe(201);
		const me = await call("GET", "/me", { token: member.token });
		const added = await call("POST", `/sessions/${room.body.id}/members`, {
			token: owner.token,
			json: { username: me.body.username },
		});
		expect(added.status).toBe(201);
		const byMember = await call("PATCH", `/sessions/${room.body.id}`, { token: member.token, json: { top_p: 0.3 } });
		expect(byMember.status).toBe(403);
		expect(byMember.body.code).toBe("NOT_ROOM_OWNER");
		const byStranger = await call("PATCH", `/sessions/${room.body.id}`, {
			token: stranger.token,
			json: { top_p: 0.3 },
		});
		expect(byStranger.status).toBe(404);
		const byOwner = await call("PATCH", `/sessions/${room.body.id}`, { token: owner.token, json: { top_p: 0.3 } });
		expect(byOwner.status).toBe(200);
		const seen = await call("GET", `/sessions/${room.body.id}`, { token: member.token });
		expect(seen.body.preset).toMatchObject({ top_p: 0.3 });
	});
});
