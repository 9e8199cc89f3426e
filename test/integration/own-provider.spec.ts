/**
 * Users' own provider keys (issue 17), in embedded mode with the real gateway, sockets, PostgreSQL and LangChain
 * clients, against fake providers speaking the real wire formats: the operator's OpenAI-compatible server, a user's
 * own one, and Gemini. A user's replies go to their provider with their key and model, and nobody else's do; the key
 * is never shown back; their tokens are counted and shown but held against no quota; addresses the policy refuses are
 * refused when saved and again when connecting.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { OwnProviderEvent } from "../../src/domain/own-provider.js";
import { testConfig, uniqueName } from "../support/config.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { startFakeGemini } from "../support/fake-gemini.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient, type Reply } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

const OPERATOR_KEY = "sk-operator-key-0000";
const ALICE_KEY = `sk-alice-${uniqueName("k")}-A1b2`;
const CAROL_KEY = `AIza-carol-${uniqueName("k")}-C3d4`;

let operator: FakeServer;
let own: FakeServer;
let gemini: FakeServer;
let broker: ServiceBroker;
let wsBase = "";
let characterId = "";
const { call, login } = restClient(() => gatewayOrigin(broker));
/** Every body the gateway answered with, to look for the keys in. */
const answered: string[] = [];
type User = Awaited<ReturnType<typeof login>>;

async function as(user: User, method: string, path: string, json?: unknown): Promise<Reply> {
	const reply = await call(method, path, { token: user.token, json });
	answered.push(reply.bytes.toString("utf8"));
	return reply;
}

const completions = (server: FakeServer) => server.requests.filter((r) => r.path.includes("/chat/completions"));
const geminiCalls = () => gemini.requests.filter((r) => r.path.includes("GenerateContent"));

/** Sends a line in a new chat and answers the frame that came back for it: the reply, or an error. */
async function say(user: User): Promise<Frame> {
	const socket = await ChatSocket.open(`${wsBase}/ws/${characterId}?token=${user.token}`);
	await socket.next((f) => f.type === "connection");
	const line = `Hello there, ${uniqueName("line")}`;
	socket.send({ content: line });
	const answer = await socket.next(
		(f) => (f.type === "ai" && f.reply_to !== null) || (f.type === "error" && f.code !== undefined),
		20_000,
	);
	await socket.close();
	return answer;
}

beforeAll(async () => {
	[operator, own, gemini] = await Promise.all([
		startFakeOpenAI({ apiKey: OPERATOR_KEY }),
		startFakeOpenAI({ apiKey: ALICE_KEY }),
		startFakeGemini({ apiKey: CAROL_KEY }),
	]);
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("ownkeys"),
			LLM_PROVIDER: "openai",
			OPENAI_BASE_URL: `${operator.url}/v1`,
			OPENAI_API_KEY: OPERATOR_KEY,
			OPENAI_MODEL: "llama3",
			GEMINI_BASE_URL: gemini.url,
			LLM_MAX_RETRIES: "0",
			// The fakes listen on 127.0.0.1: like an operator with Ollama next door.
			ALLOW_PRIVATE_PROVIDER_URLS: "true",
			// One reply spends it: a second message is over the quota, unless the user pays for their own.
			CHAT_USER_TOKENS_PER_DAY: "1",
			ADMIN_USERNAMES: "ownkeys_chief",
		}),
		{ logger: false },
	);
	await broker.start();
	wsBase = `ws://127.0.0.1:${broker.getLocalService("chat-ws").settings.port as number}`;
	const owner = await login("Owner");
	const created = await as(owner, "POST", "/characters", { name: "Keeper", system_prompt: "You keep keys." });
	characterId = created.body.id;
}, 60_000);

afterAll(async () => {
	await broker?.stop();
	await Promise.all([operator, own, gemini].map((s) => s?.stop()));
});

describe("a user's own provider", () => {
	let alice: User;
	let bob: User;

	beforeAll(async () => {
		[alice, bob] = await Promise.all([login("Alice"), login("Bob")]);
	});

	it("should be stored with the key's last 4 characters shown, never the key", async () => {
		expect((await as(alice, "GET", "/me/provider")).status).toBe(404);
		const base_url = `${own.url}/v1/`;
		const put = await as(alice, "PUT", "/me/provider", {
			provider: "openai",
			api_key: ALICE_KEY,
			base_url,
			model: "alice-llm",
		});
		expect(put.status, put.bytes.toString()).toBe(200);
		expect(put.body).toMatchObject({
			provider: "openai",
			model: "alice-llm",
			base_url: `${own.url}/v1`,
			key_last4: "A1b2",
			tokens_today: 0,
		});
		expect(put.body).not.toHaveProperty("api_key");
		expect((await as(alice, "GET", "/me/provider")).body).toEqual(put.body);
		const [row] = (await sql(`SELECT key_ciphertext FROM user_providers WHERE user_id = $1`, [alice.id])) as {
			key_ciphertext: string;
		}[];
		expect(row.key_ciphertext).not.toContain(ALICE_KEY);
	});

	it("should write the user's replies with their key and model, and nobody else's", async () => {
		const [ownBefore, operatorBefore] = [completions(own).length, completions(operator).length];
		expect(await say(alice)).toMatchObject({ type: "ai" });
		expect(completions(own).length).toBe(ownBefore + 1);
		const request = completions(own).at(-1)!;
		expect(request.headers.authorization).toBe(`Bearer ${ALICE_KEY}`);
		expect(request.body.model).toBe("alice-llm");
		expect(completions(operator).length).toBe(operatorBefore);

		expect(await say(bob)).toMatchObject({ type: "ai" });
		expect(completions(own).length).toBe(ownBefore + 1);
		expect(completions(operator).at(-1)!.headers.authorization).toBe(`Bearer ${OPERATOR_KEY}`);
	});

	it("should answer the user's /v1 completions with their provider too", async () => {
		const before = completions(own).length;
		const body = { model: characterId, messages: [{ role: "user", content: "Which key is this?" }] };
		const answer = await as(alice, "POST", "/v1/chat/completions", body);
		expect(answer.status, answer.bytes.toString()).toBe(200);
		expect(answer.body.choices[0].message.content).toEqual(expect.any(String));
		expect(completions(own).length).toBe(before + 1);
		expect(completions(own).at(-1)!.headers.authorization).toBe(`Bearer ${ALICE_KEY}`);
		expect(completions(own).at(-1)!.body.model).toBe("alice-llm");
	});

	it("should count their tokens and show them, but hold them against no quota", async () => {
		// Bob's first reply spent his one-token quota; Alice's replies cost the server nothing.
		expect(await say(bob)).toMatchObject({ type: "error", code: "quota_exceeded" });
		for (let i = 0; i < 3; i++) expect(await say(alice)).toMatchObject({ type: "ai" });
		const mine = (await as(alice, "GET", "/me/provider")).body;
		expect(mine.tokens_today).toBeGreaterThan(0);
		expect(mine.tokens_month).toBe(mine.tokens_today);
		const chief = await login("Chief", "ownkeys_chief");
		const listed = (await as(chief, "GET", `/admin/users?q=${alice.username}`)).body;
		expect(listed.users ?? listed).toEqual([
			expect.objectContaining({
				username: alice.username,
				own_provider: true,
				tokens_month: 0,
				own_key_tokens_month: mine.tokens_month,
			}),
		]);
	});

	it("should tell the user, not the operator, when their own provider refuses their key", async () => {
		const mallory = await login("Mallory");
		const put = await as(mallory, "PUT", "/me/provider", {
			provider: "openai",
			api_key: "sk-wrong-key-9999",
			base_url: `${own.url}/v1`,
			model: "m",
		});
		expect(put.status).toBe(200);
		expect(await say(mallory)).toMatchObject({
			type: "error",
			code: "ai_misconfigured",
			message: expect.stringContaining("Your own AI provider"),
		});
		// The operator's model is fine: readiness does not hear of a user's key.
		expect(await say(bob)).not.toMatchObject({ code: "ai_misconfigured" });
	});

	it("should send a Gemini key to Gemini, with the operator's default Gemini model unless one is named", async () => {
		const carol = await login("Carol");
		const put = await as(carol, "PUT", "/me/provider", { provider: "gemini", api_key: CAROL_KEY });
		expect(put.body).toMatchObject({ provider: "gemini", model: null, base_url: null, key_last4: "C3d4" });
		const before = geminiCalls().length;
		expect(await say(carol)).toMatchObject({ type: "ai" });
		expect(geminiCalls().length).toBe(before + 1);
		const request = geminiCalls().at(-1)!;
		expect(request.headers["x-goog-api-key"]).toBe(CAROL_KEY);
		expect(request.path).toContain("/models/gemini-3.8-flash:");
		const refused = await as(carol, "PUT", "/me/provider", {
			provider: "gemini",
			api_key: CAROL_KEY,
			base_url: "https://example.com",
		});
		expect(refused.status).toBe(422);
	});

	it("should refuse cloud metadata and link-local addresses even when private ones are allowed", async () => {
		for (const base_url of [
			"http://169.254.169.254/v1",
			"http://[fd00:ec2::254]/v1",
			"http://[::ffff:169.254.169.254]/v1",
			"http://169.254.10.1:8080/v1",
		]) {
			const put = await as(alice, "PUT", "/me/provider", {
				provider: "openai",
				api_key: ALICE_KEY,
				base_url,
				model: "x",
			});
			expect(put.status, base_url).toBe(422);
			expect(put.body.detail, base_url).toMatch(/refused/);
		}
		// Still the server she set before.
		expect((await as(alice, "GET", "/me/provider")).body.base_url).toBe(`${own.url}/v1`);
	});

	it("should check the address again at every connection, whatever was stored", async () => {
		// As if the row had been saved under a laxer policy: the check at connection time still stops it.
		await sql(`UPDATE user_providers SET base_url = 'http://169.254.169.254/v1' WHERE user_id = $1`, [alice.id]);
		await broker.broadcast(OwnProviderEvent.Changed, { username: alice.username });
		const before = completions(own).length;
		expect(await say(alice)).toMatchObject({ type: "error", code: "ai_misconfigured" });
		expect(completions(own).length).toBe(before);
	});

	it("should go back to the operator's model once removed", async () => {
		const removed = await as(alice, "DELETE", "/me/provider");
		expect(removed.status).toBe(204);
		expect((await as(alice, "GET", "/me/provider")).status).toBe(404);
		expect((await as(alice, "DELETE", "/me/provider")).status).toBe(404);
		const before = completions(operator).length;
		expect(await say(alice)).toMatchObject({ type: "ai" });
		expect(completions(operator).length).toBe(before + 1);
		expect(await sql(`SELECT 1 FROM user_providers WHERE user_id = $1`, [alice.id])).toEqual([]);
	});

	it("should never have answered with a key", () => {
		expect(answered.length).toBeGreaterThan(10);
		for (const body of answered) for (const key of [ALICE_KEY, CAROL_KEY]) expect(body).not.toContain(key);
	});
});

async function sql(query: string, bind: unknown[]): Promise<unknown[]> {
	const [rows] = await (broker.getLocalService("sessions") as unknown as DbThis).db.sequelize.query(query, { bind });
	return rows as unknown[];
}
