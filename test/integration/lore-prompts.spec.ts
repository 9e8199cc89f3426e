/**
 * Who is talking and what they know, as the model sees it: a real LangChain Gemini client talking to a fake Gemini
 * server, the prompts read from what the fake received. Lorebook entries fire exactly when their keys are in the
 * scanned messages (constants always, disabled never, secondary keys honoured, within the budget, placed before or
 * after the character), a card's own `character_book` works, `{{user}}` is the persona's name and its description is
 * in the prompt, and a change to a persona or a lorebook reaches the very next prompt.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { AiConsumerThis } from "../../services/ai-consumer.service.js";
import { countTokens } from "../../src/domain/token-count.js";
import type { FakeServer } from "../support/fake-gemini.js";
import { FAKE_GEMINI_KEY, startGeminiChat, systemOf, type GeminiChat } from "../support/gemini-chat.js";
import { uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";

let fake: FakeServer;
let wsBase = "";
let characterId = "";
let api = "";
const { call, login } = restClient(() => api);

const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

/** A lore entry as POST /lorebooks takes it: `tag` is its whole content, so a prompt shows whether it fired. */
const entry = (tag: string, fields: Record<string, unknown> = {}) => ({ name: tag, keys: [], content: tag, ...fields });

async function createBook(token: string, body: Record<string, unknown>): Promise<string> {
	const res = await call("POST", "/lorebooks", { token, json: { name: "World", ...body } });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body.id;
}

async function open(token: string, character = characterId, query = "") {
	const socket = await ChatSocket.open(`${wsBase}/ws/${character}?token=${token}${query}`);
	const hello = await socket.next((f) => f.type === "connection");
	return { socket, sessionId: hello.session_id as string, hello };
}

/** Sends a line; answers the system instruction the model got for it, and the reply. */
async function ask(socket: ChatSocket, content: string, answer = "Fine.") {
	const before = fake.requests.length;
	fake.script([{ text: [answer] }]);
	socket.send({ content });
	const echo = await socket.next((f) => f.type === "echo" && f.content === content);
	const reply = await socket.next((f) => isReply(f) && f.reply_to === echo.id);
	expect(fake.requests).toHaveLength(before + 1);
	return { system: systemOf(fake.requests[before]), request: fake.requests[before], reply };
}

/** Which of `tags` the text holds, in the order given. */
const firedIn = (text: string, tags: string[]) => tags.filter((t) => text.includes(t));

let chat: GeminiChat;

beforeAll(async () => {
	chat = await startGeminiChat();
	({ fake, api, wsBase, characterId } = chat);
}, 60_000);

afterAll(() => chat?.stop());

beforeEach(() => fake.reset());

describe("lorebooks in the prompt", () => {
	it("should fire each entry exactly when its keys are in the scanned messages, constants always, disabled never", async () => {
		const { token } = await login("Lore Reader");
		const tags = ["LORE-DRAGON", "LORE-CASTLE", "LORE-ALWAYS", "LORE-OFF", "LORE-FIRESWORD", "LORE-MOON", "LORE-Case"];
		const book = await createBook(token, {
			// The message answered and the reply before it.
			scan_depth: 2,
			entries: [
				entry("LORE-DRAGON", { keys: ["dragon", "wyrm"] }),
				entry("LORE-CASTLE", { keys: ["castle"] }),
				entry("LORE-ALWAYS", { constant: true }),
				entry("LORE-OFF", { keys: ["dragon"], enabled: false }),
				entry("LORE-FIRESWORD", { keys: ["sword"], selective: true, secondary_keys: ["fire", "flame"] }),
				entry("LORE-MOON", { keys: ["/moon(light|beam)s?/i"] }),
				entry("LORE-Case", { keys: ["Elf"], case_sensitive: true }),
			],
		});
		const { socket, sessionId } = await open(token);
		const attached = await call("PATCH", `/sessions/${sessionId}`, { token, json: { lorebook_ids: [book] } });
		expect(attached.status, JSON.stringify(attached.body)).toBe(200);

		const turns: [string, string[]][] = [
			// Whole words: a dragonfly is no dragon; an entry with no key of its own never fires unless constant.
			["I saw a dragonfly by the moat.", ["LORE-ALWAYS"]],
			["Is there a Dragon nearby?", ["LORE-DRAGON", "LORE-ALWAYS"]],
			// Out of the window (this line and the reply before it): the dragon is gone; the sword needs fire too.
			["Hand me that sword.", ["LORE-ALWAYS"]],
			["A sword of FIRE, then!", ["LORE-ALWAYS", "LORE-FIRESWORD"]],
			["Under the moonlight, an elf sings.", ["LORE-ALWAYS", "LORE-MOON"]],
			["An Elf? At the castle?", ["LORE-CASTLE", "LORE-ALWAYS", "LORE-Case"]],
		];
		for (const [line, expected] of turns) {
			const { system } = await ask(socket, line);
			expect(firedIn(system, tags), line).toEqual(expected);
		}
		await socket.close();
	});

	it("should scan the last messages up to the depth: a key said before them no longer fires", async () => {
		const { token } = await login("Depth Reader");
		const book = await createBook(token, {
			scan_depth: 4,
			entries: [entry("LORE-GRIFFIN", { keys: ["griffin"] })],
		});
		const { socket, sessionId } = await open(token);
		await call("PATCH", `/sessions/${sessionId}`, { token, json: { lorebook_ids: [book] } });
		const fired: boolean[] = [];
		for (const line of ["A griffin!", "Where?", "There.", "Gone now."])
			fired.push((await ask(socket, line)).system.includes("LORE-GRIFFIN"));
		// Scanned while among the last four messages (the greeting, the griffin's line, its reply, the next line).
		expect(fired).toEqual([true, true, false, false]);
		// The model's own words are scanned too.
		expect((await ask(socket, "Anything?", "A griffin circles above.")).system).not.toContain("LORE-GRIFFIN");
		expect((await ask(socket, "Look up!")).system).toContain("LORE-GRIFFIN");
		await socket.close();
	});

	it("should keep to the token budget, dropping the lowest priority first, and place entries before or after the character", async () => {
		const { token } = await login("Budget Reader");
		const filler = "word ".repeat(35);
		const kept = [`LORE-MID ${filler}`, `LORE-HIGH ${filler}`, "LORE-AFTER"];
		// Room for three of the four: not for the one of lowest priority.
		const budget = kept.reduce((sum, text) => sum + countTokens(text), 5);
		const book = await createBook(token, {
			token_budget: budget,
			entries: [
				entry(`LORE-LOW ${filler}`, { name: "low", keys: ["gold"], priority: 1, insertion_order: 1 }),
				entry(`LORE-HIGH ${filler}`, { name: "high", keys: ["gold"], priority: 9, insertion_order: 3 }),
				entry(`LORE-MID ${filler}`, { name: "mid", keys: ["gold"], priority: 5, insertion_order: 2 }),
				entry("LORE-AFTER", { name: "after", keys: ["gold"], position: "after_char", priority: 9 }),
			],
		});
		const { socket, sessionId } = await open(token);
		await call("PATCH", `/sessions/${sessionId}`, { token, json: { lorebook_ids: [book] } });
		const { system, reply } = await ask(socket, "Show me the gold.");
		expect(firedIn(system, ["LORE-LOW", "LORE-MID", "LORE-HIGH", "LORE-AFTER"])).toEqual([
			"LORE-MID",
			"LORE-HIGH",
			"LORE-AFTER",
		]);
		// Ordered by insertion_order; before the character's description, or after it.
		expect(system.indexOf("LORE-MID")).toBeLessThan(system.indexOf("LORE-HIGH"));
		expect(system.indexOf("LORE-HIGH")).toBeLessThan(system.indexOf("A bard for tests."));
		expect(system.indexOf("A bard for tests.")).toBeLessThan(system.indexOf("LORE-AFTER"));
		// The inspector names each entry that fired.
		await vi.waitFor(async () => {
			const res = await call("GET", `/sessions/${sessionId}/messages/${reply.id}/prompt`, { token });
			expect(res.status).toBe(200);
			const lore = res.body.parts.filter((p: { part: string }) => p.part === "lore");
			expect(lore.map((p: { name: string }) => p.name).sort()).toEqual(["after", "high", "mid"]);
			expect(lore.reduce((sum: number, p: { tokens: number }) => sum + p.tokens, 0)).toBeLessThanOrEqual(budget);
		});
		await socket.close();
	});

	it("should use a card's own character_book for its character", async () => {
		const { token } = await login("Card Reader");
		const imported = await call("POST", "/characters/import", {
			token,
			json: {
				spec: "chara_card_v2",
				spec_version: "2.0",
				data: {
					name: `Keeper ${uniqueName("k")}`,
					description: "Keeps the lighthouse.",
					personality: "",
					scenario: "",
					first_mes: "Ahoy, {{user}}.",
					mes_example: "",
					character_book: {
						name: "Lighthouse lore",
						entries: [
							{
								keys: ["lamp"],
								content: "CARD-LAMP: the lamp burns whale oil.",
								enabled: true,
								insertion_order: 0,
								extensions: {},
							},
							{ keys: ["lamp"], content: "CARD-OFF", enabled: false, insertion_order: 1, extensions: {} },
						],
					},
				},
			},
		});
		expect(imported.status, JSON.stringify(imported.body)).toBe(201);
		const { socket } = await open(token, imported.body.id);
		expect((await ask(socket, "Nice weather.")).system).not.toContain("CARD-");
		const { system } = await ask(socket, "How does the lamp work?");
		expect(system).toContain("CARD-LAMP: the lamp burns whale oil.");
		expect(system).not.toContain("CARD-OFF");
		await socket.close();
	});
});

describe("personas in the prompt", () => {
	it("should call the user by their persona's name everywhere and describe them, changes reaching the next prompt", async () => {
		const { token } = await login("Login Name");
		const created = await call("POST", "/personas", {
			token,
			json: { name: "Captain Mira", description: "{{user}} is a one-eyed sailor who fears {{char}}'s songs." },
		});
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		const persona = created.body.id;
		const { socket, sessionId } = await open(token, characterId, `&persona_id=${persona}`);
		const { system, request } = await ask(socket, "Hello there.");
		expect(system).toContain("Captain Mira is a one-eyed sailor who fears");
		expect(system).not.toContain("Login Name");
		const contents = request.body.contents as { parts: { text: string }[] }[];
		expect(
			contents
				.at(-1)!
				.parts.map((p) => p.text)
				.join(""),
		).toBe("Hello there.\n\n[Answer Captain Mira in rhyme.]");

		// A change to the persona reaches the next prompt at once, not after a cache's lifetime.
		await call("PATCH", `/personas/${persona}`, {
			token,
			json: { name: "Admiral Mira", description: "Now an admiral." },
		});
		const renamed = await ask(socket, "Promoted!");
		expect(renamed.system).toContain("Now an admiral.");
		expect(renamed.system).not.toContain("one-eyed");
		expect(JSON.stringify(renamed.request.body.contents)).toContain("[Answer Admiral Mira in rhyme.]");

		// Its books come with it, and changes to them too.
		const book = await createBook(token, { entries: [entry("LORE-SHIP", { keys: ["ship"] })] });
		await call("PATCH", `/personas/${persona}`, { token, json: { lorebook_ids: [book] } });
		expect((await ask(socket, "My ship awaits.")).system).toContain("LORE-SHIP");
		await call("PATCH", `/lorebooks/${book}`, { token, json: { entries: [entry("LORE-BOAT", { keys: ["ship"] })] } });
		const edited = (await ask(socket, "My ship still awaits.")).system;
		expect(firedIn(edited, ["LORE-SHIP", "LORE-BOAT"])).toEqual(["LORE-BOAT"]);

		// Deleted while the session uses it: the user's default persona speaks again.
		expect((await call("DELETE", `/personas/${persona}`, { token })).status).toBe(204);
		const fallback = await ask(socket, "Who am I now?");
		expect(fallback.system).not.toContain("Admiral Mira");
		expect(JSON.stringify(fallback.request.body.contents)).toContain("[Answer Login Name in rhyme.]");
		const session = await call("GET", `/sessions/${sessionId}`, { token });
		expect(session.body.persona?.name).toBe("Login Name");
		await socket.close();
	});
});

describe("in a cluster", () => {
	const namespace = clusterNamespace("lore");
	let nodes: ServiceBroker[] = [];
	let consumers: AiConsumerThis[] = [];
	let clusterApi = "";
	let clusterWs = "";
	const node = (services: string) =>
		clusterNode(namespace, services, {
			GOOGLE_API_KEY: FAKE_GEMINI_KEY,
			GEMINI_BASE_URL: fake.url,
			LLM_MAX_RETRIES: "0",
			CHAT_MESSAGES_PER_MINUTE: "1000",
		});

	beforeAll(async () => {
		const core = node("api,auth,characters,sessions,personas,lorebooks");
		const ws = node("chat-ws");
		const twoConsumers = [node("ai-consumer"), node("ai-consumer")];
		nodes = [core, ws, ...twoConsumers, node("dispatcher")];
		await Promise.all(nodes.map((b) => b.start()));
		clusterApi = gatewayOrigin(core);
		clusterWs = `ws://127.0.0.1:${ws.getLocalService("chat-ws").settings.port as number}`;
		consumers = twoConsumers.map((b) => b.getLocalService("ai-consumer") as unknown as AiConsumerThis);
		await vi.waitFor(() => expect(consumers.map((c) => c.llmStatus.summary)).toEqual(["ok", "ok"]), {
			timeout: 10_000,
		});
		// Broadcasts reach only the nodes the sender knows of: wait until the accounts node knows both consumers.
		await vi.waitFor(
			() =>
				expect(
					core.registry.getServiceList({ onlyAvailable: true }).filter((s) => s.name === "ai-consumer"),
				).toHaveLength(2),
			{ timeout: 10_000 },
		);
	}, 60_000);

	afterAll(async () => {
		await Promise.all(nodes.map((b) => b.stop().catch(() => undefined)));
		await removeNamespace(namespace);
	}, 60_000);

	it("should bring a change to a persona or a lorebook to every ai-consumer's next prompt", async () => {
		const cluster = restClient(() => clusterApi);
		const { token } = await cluster.login("Cluster Reader");
		const book = await cluster.call("POST", "/lorebooks", {
			token,
			json: { name: "Maps", entries: [entry("LORE-OLD-MAP", { keys: ["map"] })] },
		});
		const persona = await cluster.call("POST", "/personas", {
			token,
			json: { name: "Scout", description: "DESC-OLD", lorebook_ids: [book.body.id] },
		});
		expect(persona.status, JSON.stringify(persona.body)).toBe(201);
		const socket = await ChatSocket.open(`${clusterWs}/ws/${characterId}?token=${token}&persona_id=${persona.body.id}`);
		await socket.next((f) => f.type === "connection");
		const served = consumers.map((c) => vi.spyOn(c.prompts, "assemble"));
		/** Asks until both consumers have answered at least once; answers every system instruction sent. */
		const askBoth = async (line: string) => {
			for (const spy of served) spy.mockClear();
			const systems: string[] = [];
			for (let i = 0; i < 20 && served.some((spy) => spy.mock.calls.length === 0); i++)
				systems.push((await ask(socket, `${line} ${i}`)).system);
			expect(served.map((spy) => spy.mock.calls.length > 0)).toEqual([true, true]);
			return systems;
		};
		for (const system of await askBoth("Show me the map"))
			expect(firedIn(system, ["DESC-OLD", "LORE-OLD-MAP"])).toEqual(["DESC-OLD", "LORE-OLD-MAP"]);

		await cluster.call("PATCH", `/personas/${persona.body.id}`, { token, json: { description: "DESC-NEW" } });
		await cluster.call("PATCH", `/lorebooks/${book.body.id}`, {
			token,
			json: { entries: [entry("LORE-NEW-MAP", { keys: ["map"] })] },
		});
		for (const system of await askBoth("The map again"))
			expect(firedIn(system, ["DESC-OLD", "LORE-OLD-MAP", "DESC-NEW", "LORE-NEW-MAP"])).toEqual([
				"DESC-NEW",
				"LORE-NEW-MAP",
			]);
		await socket.close();
	});
});
