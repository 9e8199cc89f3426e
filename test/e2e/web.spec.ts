/**
 * The web client in headless Chromium against the whole system in one process (embedded mode, real PostgreSQL):
 * sign-up and login, the gallery, chatting with streamed replies, a reload mid-reply, a server restart, stop,
 * regenerate and variants, sessions, an expired login, creating and importing characters, and a phone-sized screen.
 * Screenshots of the main screens go to test/e2e/screenshots/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Server } from "node:http";
import type { ServiceBroker } from "moleculer";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const CHARACTER = "Wren Calloway";
// expect.poll gives up after 1 s by default; a loaded machine (other test files in parallel) needs longer.
const POLL = { timeout: 10_000 };

let broker: ServiceBroker;
let browser: Browser;
let base = "";
let characterId = "";
/** Most tests log in as this user; the one that counts sessions has its own. */
let viewerToken = "";
let contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		testConfig({ NAMESPACE: uniqueName("web"), OFFLINE_MODEL_DELAY_MS: "40", CHAT_MESSAGES_PER_MINUTE: "1000" }),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	const api = broker.getLocalService("api") as unknown as { server: Server };
	base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;

	const [owner, viewer] = await Promise.all([newUser(), newUser()]);
	viewerToken = viewer.token;
	const created = await broker.call<{ id: string }, object>(
		"characters.create",
		{
			name: CHARACTER,
			description: "Cartographer of coastlines nobody else bothered to map. Talks in bearings and tide tables.",
			system_prompt: "You are Wren Calloway, a cheerful coastal cartographer.",
			greeting: "Ah, a visitor! Mind the maps on the floor, they're still drying.",
		},
		{ meta: { user: { id: owner.id, username: owner.username, role: "user" } } },
	);
	characterId = created.id;
});

// Each test's pages close with it, so no socket outlives its test.
afterEach(async () => {
	await Promise.all(contexts.map((c) => c.close()));
	contexts = [];
});

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pageErrors).toEqual([]);
});

async function newUser(): Promise<{ id: string; username: string; token: string }> {
	const username = uniqueName("web");
	const user = await broker.call<{ id: string }, object>("auth.register", { username, name: "Robin Vale", password: "password123" });
	const { access_token } = await broker.call<{ access_token: string }, object>("auth.login", { username, password: "password123" });
	return { id: user.id, username, token: access_token };
}

async function openPage(viewport = { width: 1280, height: 800 }, colorScheme: "light" | "dark" = "light"): Promise<Page> {
	const context = await browser.newContext({ viewport, colorScheme });
	contexts.push(context);
	const page = await context.newPage();
	page.on("pageerror", (err) => pageErrors.push(err.message));
	return page;
}

/** A page already logged in (token in this tab's sessionStorage), showing `hash`. */
async function loggedInPage(
	hash: string,
	opts: { token?: string; viewport?: { width: number; height: number }; colorScheme?: "light" | "dark" } = {},
): Promise<Page> {
	const token = opts.token ?? viewerToken;
	const page = await openPage(opts.viewport, opts.colorScheme);
	await page.goto(`${base}/${hash}`);
	await page.evaluate(`sessionStorage.setItem("cameo.token", ${JSON.stringify(token)})`);
	await page.reload();
	return page;
}

const chatHash = (sessionId?: string) => `#/chat/${characterId}${sessionId ? `/${sessionId}` : ""}`;
/** The finished reply to `said` (the offline model quotes the message it answers). */
const replyTo = (page: Page, said: string): Locator => page.locator(".row-ai:not([data-streaming])", { hasText: `You said "${said}"` });

/** Types into the composer and presses Enter once the socket is open. */
async function send(page: Page, text: string): Promise<void> {
	await page.locator(".presence-open").waitFor();
	const input = page.getByLabel(`Message ${CHARACTER}`);
	await input.fill(text);
	await input.press("Enter");
	await page.locator(".row-user", { hasText: text }).waitFor();
}

/** The server's side of the open chat sockets (this file's broker is the only chat-ws node). */
function serverSockets(): { socket: { close(code: number, reason: string): void } }[] {
	const chatWs = broker.getLocalService("chat-ws") as unknown as { hub: { clients(): Iterable<{ socket: { close(code: number, reason: string): void } }> } };
	return [...chatWs.hub.clients()];
}

/** Saves test/e2e/screenshots/<name>.png, with entrance animations finished. */
async function shot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: `${SHOTS}${name}.png`, animations: "disabled" });
}

function sessionIdOf(page: Page): string {
	return new URL(page.url()).hash.split("/")[3] ?? "";
}

describe("web client", () => {
	it("should serve the client at / and keep unknown paths a JSON 404", async () => {
		const index = await fetch(`${base}/`);
		expect(index.status).toBe(200);
		expect(index.headers.get("content-type")).toContain("text/html");
		expect(await index.text()).toContain('<div id="app">');
		const missing = await fetch(`${base}/no-such-endpoint`);
		expect(missing.status).toBe(404);
		expect(await missing.json()).toMatchObject({ code: expect.any(String), detail: expect.any(String) });
	});

	it("should sign up, log out and log in again", async () => {
		const page = await openPage();
		const username = uniqueName("ui");
		await page.goto(`${base}/`);
		await page.getByRole("tab", { name: "Sign up" }).click();
		await shot(page, "login");
		await page.getByLabel("Username").fill(username);
		await page.getByLabel("Display name").fill("Juniper Hale");
		await page.getByLabel("Password").fill("lighthouse42");
		await page.getByRole("button", { name: "Create account" }).click();
		await page.getByRole("heading", { name: "Hello, Juniper" }).waitFor();
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
		await page.getByRole("link", { name: "Chat with Agnes Thorne" }).waitFor();
		await shot(page, "gallery");

		await page.getByRole("button", { name: "Log out" }).click();
		await page.getByLabel("Password").fill("wrong-password");
		await page.getByLabel("Username").fill(username);
		await page.getByRole("button", { name: "Log in", exact: true }).click();
		await page.getByRole("alert").waitFor();
		await page.getByLabel("Password").fill("lighthouse42");
		await page.getByRole("button", { name: "Log in", exact: true }).click();
		await page.getByRole("heading", { name: "Hello, Juniper" }).waitFor();
		expect(await page.evaluate("sessionStorage.getItem('cameo.token')")).toEqual(expect.any(String));
	});

	it("should find a character by name, open it, and show the echo and the reply", async () => {
		const page = await loggedInPage("#/");
		await page.getByLabel("Search characters by name").fill("wren");
		await expect.poll(() => page.locator(".character-card").count(), POLL).toBe(1);
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).click();
		await page.getByRole("log").getByText("Mind the maps on the floor").waitFor();

		await send(page, "Which way to the harbour?");
		const reply = replyTo(page, "Which way to the harbour?");
		await reply.waitFor();
		expect(await reply.textContent()).toContain("offline model");
		await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
		expect(sessionIdOf(page)).toMatch(/^[0-9a-f-]{36}$/);
		await shot(page, "chat");
	});

	it("should stream a reply into its bubble while the typing indicator shows", async () => {
		const page = await loggedInPage(chatHash());
		await send(page, "Tell me about the tides");
		await page.getByText(`${CHARACTER} is typing…`).waitFor();
		const streaming = page.locator(".row-ai[data-streaming]");
		await streaming.waitFor({ timeout: 5000 });
		const partial = (await streaming.locator(".text").textContent()) ?? "";
		const done = replyTo(page, "Tell me about the tides");
		await done.waitFor();
		const final = (await done.locator(".text").textContent()) ?? "";
		expect(partial.length).toBeLessThan(final.length);
		expect(await streaming.count()).toBe(0);
	});

	it("should show a reply exactly once after a reload mid-reply", async () => {
		const page = await loggedInPage(chatHash());
		await send(page, "Hold that thought");
		await page.waitForFunction("location.hash.split('/').length === 4");
		await page.reload();
		const reply = replyTo(page, "Hold that thought");
		await reply.waitFor();
		await page.waitForTimeout(500);
		expect(await reply.count()).toBe(1);
		expect(await page.locator(".row-user", { hasText: "Hold that thought" }).count()).toBe(1);
		const ids = (await page.evaluate("[...document.querySelectorAll('[data-id]')].map((e) => e.dataset.id)")) as string[];
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids).toHaveLength(3); // greeting, message, reply
	});

	it("should reconnect after the server restarts the socket (1012) and show a reply made meanwhile once", async () => {
		const page = await loggedInPage(chatHash());
		await send(page, "Are you still there?");
		const before = serverSockets();
		// What a restarting chat-ws node does; the reply is still being written and lands while the page is away.
		for (const client of before) client.socket.close(1012, "Server restarting; reconnect to resume");
		await replyTo(page, "Are you still there?").waitFor();
		await expect.poll(() => serverSockets().some((c) => !before.includes(c)), POLL).toBe(true);
		await send(page, "Good, you're back");
		await replyTo(page, "Good, you're back").waitFor();
		expect(await replyTo(page, "Are you still there?").count()).toBe(1);
		const ids = (await page.evaluate("[...document.querySelectorAll('[data-id]')].map((e) => e.dataset.id)")) as string[];
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids).toHaveLength(5);
	});

	it("should stop a reply and mark it stopped", async () => {
		const page = await loggedInPage(chatHash());
		await send(page, "Describe every lighthouse on the coast in detail");
		await page.locator(".row-ai[data-streaming]").waitFor({ timeout: 5000 });
		await page.getByRole("button", { name: "Stop generating" }).click();
		const stopped = page.locator(".row-ai", { has: page.locator(".stopped") });
		await stopped.waitFor();
		expect(await stopped.locator(".stopped").textContent()).toBe("stopped");
		await page.getByRole("button", { name: "Send message" }).waitFor();
		expect(await page.locator(".row-ai[data-streaming]").count()).toBe(0);
	});

	it("should regenerate the last reply and browse the variants", async () => {
		const page = await loggedInPage(chatHash());
		await send(page, "Draw me a map");
		const reply = replyTo(page, "Draw me a map");
		await reply.waitFor();
		await page.locator(".presence-open").waitFor();
		const first = await reply.locator(".text").textContent();
		await page.getByRole("button", { name: "Regenerate reply" }).click();
		const counter = (text: string) => page.locator(".variant-count", { hasText: text });
		await counter("2/2").waitFor();
		await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
		await page.getByRole("button", { name: "Previous reply" }).click();
		await counter("1/2").waitFor();
		expect(await reply.locator(".text").textContent()).toBe(first);
		await page.getByRole("button", { name: "Next reply" }).click();
		await counter("2/2").waitFor();
	});

	it("should list a character's chats, switch between them and delete one", async () => {
		const page = await loggedInPage(chatHash(), { token: (await newUser()).token });
		await send(page, "first chat about tides");
		await replyTo(page, "first chat about tides").waitFor();
		const firstSession = sessionIdOf(page);

		await page.getByRole("button", { name: "New chat" }).click();
		await page.waitForFunction(`location.hash.split("/").length === 4 && !location.hash.endsWith(${JSON.stringify(firstSession)})`);
		await send(page, "second chat about gulls");
		await replyTo(page, "second chat about gulls").waitFor();
		const sessions = page.getByRole("list", { name: "Chat sessions" }).locator("li");
		await expect.poll(() => sessions.count(), POLL).toBe(2);
		// Newest first, previewing its last message.
		await sessions.first().getByText("second chat about gulls").waitFor();

		await sessions.nth(1).getByRole("link").click();
		await page.locator(".row-user", { hasText: "first chat about tides" }).waitFor();
		expect(await page.locator(".row-user", { hasText: "second chat about gulls" }).count()).toBe(0);
		expect(sessionIdOf(page)).toBe(firstSession);
		await send(page, "back again");
		await replyTo(page, "back again").waitFor();

		await sessions.filter({ hasText: "second chat about gulls" }).getByRole("button", { name: "Delete chat" }).click();
		await page.getByRole("button", { name: "Delete", exact: true }).click();
		await expect.poll(() => sessions.count(), POLL).toBe(1);
		const left = await fetch(`${base}/sessions`, { headers: { Authorization: `Bearer ${await tokenOf(page)}` } });
		expect(((await left.json()) as { id: string }[]).map((s) => s.id)).toEqual([firstSession]);
	});

	it("should send an expired login back to the login form with a message", async () => {
		const page = await loggedInPage("#/");
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
		await page.evaluate(`sessionStorage.setItem("cameo.token", "expired.token.value")`);
		await page.getByLabel("Search characters by name").fill("agnes");
		await page.getByText("Your session expired, please log in again").waitFor();
		expect(await page.evaluate("sessionStorage.getItem('cameo.token')")).toBeNull();
	});

	it("should create a character, and import a card (showing the server's detail when it refuses one)", async () => {
		const page = await loggedInPage("#/");
		await page.getByRole("button", { name: "New character" }).click();
		await page.getByLabel("Name", { exact: true }).fill("Pip the Ferryman");
		await page.getByLabel("System prompt").fill("You are Pip, a ferryman who hums sea shanties.");
		await page.getByLabel("Greeting").fill("All aboard!");
		await page.getByText("Public — anyone can chat").click();
		await shot(page, "new-character");
		await page.getByRole("button", { name: "Create character" }).click();
		await page.getByRole("link", { name: "Chat with Pip the Ferryman" }).getByText("Private").waitFor();

		await page.getByRole("button", { name: "Import card" }).click();
		await page.getByLabel("Character card file").setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from("{not json") });
		const error = page.getByRole("dialog").getByRole("alert");
		await error.waitFor();
		await shot(page, "import-error");
		expect((await error.textContent())?.length).toBeGreaterThan(0);

		const card = { spec: "chara_card_v2", spec_version: "2.0", data: { name: "Moss the Gardener", description: "Grows moss on purpose.", first_mes: "Careful, that's a moss." } };
		await page.getByLabel("Character card file").setInputFiles({ name: "moss.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(card)) });
		await page.getByRole("link", { name: "Chat with Moss the Gardener" }).waitFor();
		expect(await page.getByRole("dialog").count()).toBe(0);
	});

	it("should work on a phone-sized screen (in dark mode)", async () => {
		const phone = { width: 360, height: 740 };
		const page = await loggedInPage("#/", { viewport: phone, colorScheme: "dark" });
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
		expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(phone.width);
		await shot(page, "phone-gallery");

		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).click();
		await send(page, "Is the ferry running today?");
		await replyTo(page, "Is the ferry running today?").waitFor();
		expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(phone.width);
		const composer = await page.getByLabel(`Message ${CHARACTER}`).boundingBox();
		expect(composer && composer.y + composer.height).toBeLessThanOrEqual(phone.height);
		await shot(page, "phone-chat");

		await page.getByRole("button", { name: "Show chats" }).click();
		await page.locator(".sidebar.open").waitFor();
		await shot(page, "phone-sessions");
	});
});

async function tokenOf(page: Page): Promise<string> {
	return (await page.evaluate("sessionStorage.getItem('cameo.token')")) as string;
}
