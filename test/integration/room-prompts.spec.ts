/**
 * A room as the model sees it: a real LangChain Gemini client talking to a fake Gemini server. The speaking
 * character gets its own card and is told who else is in the room; its own lines are its turns, everyone else's
 * (people and the other characters) are named lines of the conversation; `{{user}}` is the asking member's persona.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeServer, RecordedRequest } from "../support/fake-gemini.js";
import { startGeminiChat, systemOf, type GeminiChat } from "../support/gemini-chat.js";
import { createTestCharacter } from "../support/config.js";
import { restClient } from "../support/rest-client.js";
import { ChatSocket, type Frame } from "../support/ws-client.js";

let chat: GeminiChat;
let fake: FakeServer;
let api = "";
const { call, login } = restClient(() => api);
const isReply = (f: Frame) => f.type === "ai" && f.reply_to !== null;

/** The conversation of a Gemini request as [role, text] pairs. */
const turnsOf = (request: RecordedRequest): [string, string][] =>
	request.body.contents.map((c: { role: string; parts: { text: string }[] }) => [
		c.role,
		c.parts.map((p) => p.text).join(""),
	]);

beforeAll(async () => {
	chat = await startGeminiChat();
	({ fake, api } = chat);
}, 60_000);

afterAll(() => chat?.stop());

beforeEach(() => fake.reset());

describe("a room's prompt", () => {
	it("should give the speaker its card, name the others and their lines, and make the asker {{user}}", async () => {
		const ids = [chat.characterId, await createTestCharacter(chat.broker)];
		const ann = await login("Ann");
		const bob = await login("Bob");
		const created = await call("POST", "/sessions", { token: ann.token, json: { character_ids: ids } });
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		const sessionId = created.body.id as string;
		const [first, second] = (created.body.characters as { name: string }[]).map((c) => c.name);
		const invite = await call("POST", `/sessions/${sessionId}/invites`, { token: ann.token, json: {} });
		expect((await call("POST", `/invites/${invite.body.code}/accept`, { token: bob.token })).status).toBe(200);

		const wsUrl = (token: string) => `${chat.wsBase}/ws/session/${sessionId}?token=${token}`;
		const a = await ChatSocket.open(wsUrl(ann.token));
		const b = await ChatSocket.open(wsUrl(bob.token));
		await Promise.all([a, b].map((s) => s.next((f) => f.type === "connection")));

		fake.script([{ text: ["A fine question."] }]);
		a.send({ content: `${second}, what news?` });
		const reply = await b.next(isReply);
		expect(reply.character_id).toBe(ids[1]);
		const asked = fake.requests.at(-1)!;
		const system = systemOf(asked);
		expect(system).toContain(`You are ${second}.`);
		expect(system).toContain(`This is a group conversation, with ${first}.`);
		expect(system).toContain(`Write only ${second}'s next reply`);
		expect(system).toContain("The user is called Ann.");
		const turns = turnsOf(asked);
		// The first character's greeting is someone else's line to the second; the second's own greeting is its turn.
		expect(turns[0]).toEqual(["user", expect.stringMatching(new RegExp(`^${first}: `))]);
		expect(turns[1][0]).toBe("model");
		expect(turns.at(-1)).toEqual(["user", `Ann: ${second}, what news?`]);

		// Bob asks the first character: the second's reply is now a named line, and Bob is {{user}}.
		fake.script([{ text: ["Indeed."] }]);
		b.send({ type: "trigger", character_id: ids[0] });
		await a.next((f) => isReply(f) && f.character_id === ids[0]);
		const triggered = fake.requests.at(-1)!;
		expect(systemOf(triggered)).toContain(`You are ${first}.`);
		expect(systemOf(triggered)).toContain("The user is called Bob.");
		// The card's post-history instruction ("Answer {{user}} in rhyme.") follows the last line, for Bob.
		expect(turnsOf(triggered).at(-1)).toEqual(["user", `${second}: A fine question.\n\n[Answer Bob in rhyme.]`]);
		a.close();
		b.close();
	});
});
