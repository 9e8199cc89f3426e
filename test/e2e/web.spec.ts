/**
 * The web client in headless Chromium against the whole system in one process (embedded mode, real PostgreSQL):
 * sign-up and login, the gallery, chatting with streamed replies, a reload mid-reply, a server restart, stop,
 * regenerate and variants, sessions, an expired login, creating and importing characters, and a phone-sized screen;
 * card placeholders filled, continuing a chat, addresses that are not ids, and (with a second system whose model is a
 * fake OpenAI server) failed replies and Retry. Every page runs under a strict Content-Security-Policy, and a
 * violation fails the file. Screenshots of the main screens go to test/e2e/screenshots/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { signAccessToken } from "../../src/domain/access-tokens.js";
import { signUp, TEST_JWT_SECRET, testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";
import { ChatSocket } from "../support/ws-client.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const CHARACTER = "Wren Calloway";
// expect.poll gives up after 1 s by default; a loaded machine (other test files in parallel) needs longer.
const POLL = { timeout: 10_000 };
/**
 * The strictest policy the built client must run under: no inline script or style, no eval, nothing from elsewhere,
 * sockets only to its own origin. Added to whatever policy the gateway sends (both are enforced).
 */
const CLIENT_CSP =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const SOCKETS_PER_USER = 20;

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
		testConfig({
			NAMESPACE: uniqueName("web"),
			OFFLINE_MODEL_DELAY_MS: "40",
			CHAT_MESSAGES_PER_MINUTE: "1000",
			// Far above what one test's pages open; the refused-handshake test takes them all.
			CHAT_MAX_SOCKETS_PER_USER: String(SOCKETS_PER_USER),
		}),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	base = gatewayOrigin(broker);

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
		{ meta: owner.meta },
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

/** A new account (Robin Vale), logged in. */
const newUser = () => signUp(broker, "web", "Robin Vale");

async function openPage(
	viewport = { width: 1280, height: 800 },
	colorScheme: "light" | "dark" = "light",
): Promise<Page> {
	// A document the test answers itself (to add the policy) counts as a public page, which Chromium then keeps
	// from reaching 127.0.0.1; the page it stands for is served from there.
	const context = await browser.newContext({ viewport, colorScheme, permissions: ["local-network-access"] });
	contexts.push(context);
	await context.route(
		(url) => url.pathname === "/" || url.pathname.endsWith(".html"),
		async (route) => {
			const response = await route.fetch();
			const served = response.headers()["content-security-policy"];
			await route.fulfill({
				response,
				headers: { ...response.headers(), "content-security-policy": served ? `${served}, ${CLIENT_CSP}` : CLIENT_CSP },
			});
		},
	);
	const page = await context.newPage();
	page.on("pageerror", (err) => pageErrors.push(err.message));
	page.on("console", (msg) => {
		if (msg.type() === "error" && msg.text().includes("Content Security Policy")) pageErrors.push(msg.text());
	});
	return page;
}

/** A page already logged in (token in this tab's sessionStorage), showing `hash` (of this file's system, or `origin`). */
async function loggedInPage(
	hash: string,
	opts: {
		token?: string;
		origin?: string;
		viewport?: { width: number; height: number };
		colorScheme?: "light" | "dark";
	} = {},
): Promise<Page> {
	const token = opts.token ?? viewerToken;
	const page = await openPage(opts.viewport, opts.colorScheme);
	await page.goto(`${opts.origin ?? base}/${hash}`);
	await page.evaluate(`sessionStorage.setItem("cameo.token", ${JSON.stringify(token)})`);
	await page.reload();
	return page;
}

const chatHash = (sessionId?: string) => `#/chat/${characterId}${sessionId ? `/${sessionId}` : ""}`;
/** The finished reply to `said` (the offline model quotes the message it answers). */
const replyTo = (page: Page, said: string): Locator =>
	page.locator(".row-ai:not([data-streaming])", { hasText: `You said "${said}"` });

/** Types into the composer and presses Enter once the socket is open. */
async function send(page: Page, text: string, character = CHARACTER): Promise<void> {
	await page.locator(".presence-open").waitFor();
	const input = page.getByLabel(`Message ${character}`);
	await input.fill(text);
	await input.press("Enter");
	await page.locator(".row-user", { hasText: text }).waitFor();
}

/** The server's side of the open chat sockets (this file's broker is the only chat-ws node). */
function serverSockets(): { socket: { close(code: number, reason: string): void } }[] {
	const chatWs = broker.getLocalService("chat-ws") as unknown as {
		hub: { clients(): Iterable<{ socket: { close(code: number, reason: string): void } }> };
	};
	return [...chatWs.hub.clients()];
}

/** Saves test/e2e/screenshots/<name>.png, with entrance animations finished. */
async function shot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: `${SHOTS}${name}.png`, animations: "disabled" });
}

function sessionIdOf(page: Page): string {
	return new URL(page.url()).hash.split("/")[3] ?? "";
}

/**
 * Waits until the address names a session (other than `not`). Watched from here: a polling waitForFunction would
 * evaluate a string in the page, which its Content-Security-Policy forbids.
 */
async function inSession(page: Page, not?: string): Promise<void> {
	await page.waitForURL((url) => {
		const id = url.hash.split("/")[3] ?? "";
		return UUID.test(id) && id !== not;
	});
}

/** Every chat stored for `username`, empty ones included (GET /sessions may leave those out). */
async function storedSessions(username: string): Promise<number> {
	const { db } = broker.getLocalService("sessions") as unknown as DbThis;
	const [rows] = (await db.sequelize.query("SELECT count(*)::int AS n FROM chat_sessions WHERE username = $1", {
		bind: [username],
	})) as [{ n: number }[], unknown];
	return rows[0].n;
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
		const socketUrls: string[] = [];
		page.on("websocket", (ws) => socketUrls.push(ws.url()));
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
		// A single-use ticket (POST /ws-ticket) in the socket's URL, never the token: URLs end up in access logs.
		expect(socketUrls).toEqual([expect.stringMatching(/[?&]ticket=[\w-]{43}(&|$)/)]);
		expect(socketUrls[0]).not.toContain(viewerToken);
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
		await inSession(page);
		await page.reload();
		const reply = replyTo(page, "Hold that thought");
		await reply.waitFor();
		await page.waitForTimeout(500);
		expect(await reply.count()).toBe(1);
		expect(await page.locator(".row-user", { hasText: "Hold that thought" }).count()).toBe(1);
		const ids = (await page.evaluate(
			"[...document.querySelectorAll('[data-id]')].map((e) => e.dataset.id)",
		)) as string[];
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
		const ids = (await page.evaluate(
			"[...document.querySelectorAll('[data-id]')].map((e) => e.dataset.id)",
		)) as string[];
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids).toHaveLength(5);
	});

	/** Records every chat socket `page` opens from now on. */
	function socketsOpened(page: Page): string[] {
		const urls: string[] = [];
		page.on("websocket", (ws) => urls.push(ws.url()));
		return urls;
	}

	it("should go to the login saying the session expired when the token runs out (4001), and not reconnect", async () => {
		const user = await newUser();
		const expiresAt = Date.now() + 4000;
		const token = signAccessToken({ userId: user.id, username: user.username }, TEST_JWT_SECRET, 4);
		const page = await loggedInPage(chatHash(), { token });
		await page.locator(".presence-open").waitFor();
		const reconnects = socketsOpened(page);
		await page.waitForTimeout(expiresAt - Date.now() + 300);
		// The server closes an expired socket at its next keep-alive round, or at once when it sends anything.
		const input = page.getByLabel(`Message ${CHARACTER}`);
		await input.fill("Still there?");
		await input.press("Enter");
		await page.getByText("Your session expired, please log in again").waitFor();
		await page.waitForTimeout(2000);
		expect(reconnects).toEqual([]);
		expect(await page.evaluate(`sessionStorage.getItem("cameo.token")`)).toBeNull();
	});

	it("should log out saying so when an operator disables the account (4003), and not reconnect", async () => {
		const user = await newUser();
		const page = await loggedInPage(chatHash(), { token: user.token });
		await page.locator(".presence-open").waitFor();
		const reconnects = socketsOpened(page);
		await broker.call("auth.setDisabled", { username: user.username, disabled: true });
		await page.getByText("This account has been disabled").waitFor();
		await shot(page, "account-disabled");
		await page.waitForTimeout(2000);
		expect(reconnects).toEqual([]);
	});

	it("should log out saying the account is disabled when a request, not the socket, finds out first", async () => {
		const user = await newUser();
		const page = await loggedInPage("#/", { token: user.token });
		await page.getByText(CHARACTER).first().waitFor();
		await broker.call("auth.setDisabled", { username: user.username, disabled: true });
		await page.goto(`${base}/#/personas`);
		await page.getByText("This account has been disabled").waitFor();
	});

	it("should say the character is no longer available once it turns private (4004), and not reconnect", async () => {
		const owner = await newUser();
		const as = { meta: owner.meta };
		const name = "Ilse Marrow";
		const fields = { name, description: "Keeps the lighthouse.", system_prompt: "You keep a lighthouse." };
		const { id } = await broker.call<{ id: string }, object>(
			"characters.create",
			{ ...fields, greeting: "Mind the stairs." },
			as,
		);
		const page = await loggedInPage(`#/chat/${id}`);
		await page.locator(".presence-open").waitFor();
		const reconnects = socketsOpened(page);
		await broker.call("characters.update", { id, is_public: false }, as);
		const notice = page.getByRole("alert").filter({ hasText: `${name} is no longer available.` });
		await notice.waitFor();
		await page.waitForTimeout(2000);
		expect(reconnects).toEqual([]);
		expect(await page.locator(".presence-stopped").textContent()).toBe("Disconnected");
		await notice.getByRole("link", { name: "Back to characters" }).click();
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
	});

	it("should stop reconnecting after a close for going over the limits (1008), until Reconnect is pressed", async () => {
		const page = await loggedInPage(chatHash());
		await page.locator(".presence-open").waitFor();
		const reconnects = socketsOpened(page);
		// What the server does to a socket past CHAT_MAX_QUEUED_FRAMES or CHAT_MAX_LIMIT_BREACHES.
		for (const client of serverSockets()) client.socket.close(1008, "Too many messages");
		const notice = page.getByRole("alert").filter({ hasText: "too many messages" });
		await notice.waitFor();
		await shot(page, "over-limits");
		await page.waitForTimeout(2000);
		expect(reconnects).toEqual([]);
		expect(await page.getByRole("button", { name: "Send message" }).isDisabled()).toBe(true);
		await notice.getByRole("button", { name: "Reconnect" }).click();
		await page.locator(".presence-open").waitFor();
		expect(reconnects).toHaveLength(1);
		expect(await notice.count()).toBe(0);
	});

	it("should stop after a few refused handshakes while the server answers, until Reconnect is pressed", async () => {
		const user = await newUser();
		// All of CHAT_MAX_SOCKETS_PER_USER taken elsewhere: every handshake of the page is refused with 429.
		const url = `${base.replace("http:", "ws:")}/ws/${characterId}?token=${user.token}`;
		const elsewhere = await Promise.all(Array.from({ length: SOCKETS_PER_USER }, () => ChatSocket.open(url)));
		const page = await loggedInPage(chatHash(), { token: user.token });
		const reconnects = socketsOpened(page);
		const notice = page.getByRole("alert").filter({ hasText: "Can't connect to this chat right now." });
		await notice.waitFor({ timeout: 30_000 });
		const refused = reconnects.length;
		expect(refused).toBeGreaterThanOrEqual(4);
		await page.waitForTimeout(2000);
		expect(reconnects).toHaveLength(refused);
		await Promise.all(elsewhere.map((s) => s.close()));
		await notice.getByRole("button", { name: "Reconnect" }).click();
		await page.locator(".presence-open").waitFor();
	}, 60_000);

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
		await inSession(page, firstSession);
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
		await page
			.getByLabel("Character card file")
			.setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from("{not json") });
		const error = page.getByRole("dialog").getByRole("alert");
		await error.waitFor();
		await shot(page, "import-error");
		expect((await error.textContent())?.length).toBeGreaterThan(0);

		const card = {
			spec: "chara_card_v2",
			spec_version: "2.0",
			data: { name: "Moss the Gardener", description: "Grows moss on purpose.", first_mes: "Careful, that's a moss." },
		};
		await page
			.getByLabel("Character card file")
			.setInputFiles({ name: "moss.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(card)) });
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

	it("should fill {{char}} and {{user}} wherever a card's text is read, with the display name", async () => {
		const owner = await newUser();
		await broker.call(
			"characters.create",
			{
				name: "Tamsin Reed",
				description: "{{char}} reads tide tables aloud to {{User}}. <BOT> never hurries, <user>.",
				system_prompt: "You are Tamsin Reed, a harbour pilot.",
				greeting: "Shut the door behind you, {{user}}. {{CHAR}} has the kettle on.",
				is_public: true,
			},
			{ meta: owner.meta },
		);
		const page = await loggedInPage("#/");
		await page.getByLabel("Search characters by name").fill("Tamsin");
		const card = page.getByRole("link", { name: "Chat with Tamsin Reed" });
		await expect.poll(() => page.locator(".character-card").count(), POLL).toBe(1);
		await card
			.getByText("Tamsin Reed reads tide tables aloud to Robin Vale. Tamsin Reed never hurries, Robin Vale.")
			.waitFor();
		await shot(page, "gallery-macros");

		await card.click();
		await page
			.locator(".sidebar-character")
			.getByText("Tamsin Reed reads tide tables aloud to Robin Vale.", { exact: false })
			.waitFor();
		await page
			.getByRole("log")
			.getByText("Shut the door behind you, Robin Vale. Tamsin Reed has the kettle on.")
			.waitFor();
		expect(await page.locator("body").innerText()).not.toMatch(/\{\{|<bot>|<user>/i);
	});

	it("should continue the latest chat when a character is opened again, and offer a new one", async () => {
		const user = await newUser();
		const page = await loggedInPage("#/", { token: user.token });
		const open = async () => {
			await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).click();
			await page.locator(".presence-open").waitFor();
			await inSession(page);
			return sessionIdOf(page);
		};
		const backToGallery = async () => {
			const sessionsListed = page.waitForResponse((r) => new URL(r.url()).pathname === "/sessions");
			await page.getByRole("link", { name: "Back to characters" }).first().click();
			await sessionsListed;
		};

		const first = await open();
		await backToGallery();
		expect(await open()).toBe(first);
		expect(await storedSessions(user.username)).toBe(1);

		await send(page, "Where did we leave the charts?");
		await replyTo(page, "Where did we leave the charts?").waitFor();
		await backToGallery();
		await page.getByRole("list", { name: "Chat sessions" }).waitFor({ state: "detached" });
		expect(await open()).toBe(first);
		await page.locator(".row-user", { hasText: "Where did we leave the charts?" }).waitFor();

		await page.getByRole("button", { name: "New chat" }).click();
		await inSession(page, first);
		await page.locator(".presence-open").waitFor();
		expect(await page.locator(".row-user").count()).toBe(0);
		expect(await storedSessions(user.username)).toBe(2);
	});

	it("should keep chats nobody spoke in out of Continue", async () => {
		const user = await newUser();
		const page = await loggedInPage(chatHash(), { token: user.token });
		await page.locator(".presence-open").waitFor();
		await inSession(page);
		const sessionsListed = page.waitForResponse((r) => new URL(r.url()).pathname === "/sessions");
		await page.getByRole("link", { name: "Back to characters" }).first().click();
		await sessionsListed;
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
		expect(await page.getByRole("heading", { name: "Continue" }).count()).toBe(0);
	});

	it("should show not found for an address whose ids are not UUIDs, without a request for it", async () => {
		const page = await loggedInPage("#/");
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
		const asked: string[] = [];
		// The browser fetches the tab's icon again on each change of address: not a request of the client's.
		page.on(
			"request",
			(r) => void (r.resourceType() !== "other" || !r.url().endsWith("/favicon.svg") ? asked.push(r.url()) : undefined),
		);
		page.on("websocket", (ws) => asked.push(ws.url()));
		const bad = [
			"#/chat/not-a-uuid",
			"#/chat/..%2F..%2Fsessions",
			`#/chat/${characterId}/..%2F..%2Fme`,
			"#/chat/%E0%A4%A",
			`#/chat/${characterId}/${characterId}/more`,
			"#/nowhere",
		];
		for (const hash of bad) {
			await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
			await page.getByRole("heading", { name: "Not found" }).waitFor();
		}
		await page.waitForTimeout(300);
		expect(asked).toEqual([]);
		await shot(page, "not-found");
		await page.getByRole("link", { name: "Back to characters" }).click();
		await page.getByRole("link", { name: `Chat with ${CHARACTER}` }).waitFor();
	});

	it("should render the API reference page with no inline script or style", async () => {
		const page = await openPage();
		await page.goto(`${base}/api-docs.html`);
		await page.locator("#content").getByText("/characters/import").first().waitFor();
		// Its stylesheet applied (the table of contents stays in view).
		expect(await page.evaluate("getComputedStyle(document.querySelector('nav')).position")).toBe("sticky");
	});
});

describe("web client with a model that fails", () => {
	const BARD = "Odile Marsh";
	let fake: FakeServer;
	let failing: ServiceBroker;
	let origin = "";
	let token = "";
	let bardHash = "";

	beforeAll(async () => {
		fake = await startFakeOpenAI();
		failing = createBroker(
			testConfig({
				NAMESPACE: uniqueName("webfail"),
				OPENAI_BASE_URL: `${fake.url}/v1`,
				OPENAI_MODEL: "llama3",
				LLM_MAX_RETRIES: "0",
				LLM_RETRY_DELAY_MS: "5",
				CHAT_MESSAGES_PER_MINUTE: "1000",
			}),
			{ logger: false },
		);
		await failing.start();
		origin = gatewayOrigin(failing);
		const username = uniqueName("webf");
		const user = await failing.call<{ id: string }, object>("auth.register", {
			username,
			name: "Robin Vale",
			password: "password123",
		});
		({ access_token: token } = await failing.call<{ access_token: string }, object>("auth.login", {
			username,
			password: "password123",
		}));
		const bard = await failing.call<{ id: string }, object>(
			"characters.create",
			{
				name: BARD,
				system_prompt: "You are Odile Marsh, a ferry captain.",
				greeting: "Tickets, please.",
				is_public: true,
			},
			{ meta: { user: { id: user.id, username, role: "user" } } },
		);
		bardHash = `#/chat/${bard.id}`;
	});

	afterAll(async () => {
		await failing?.stop();
		await fake?.stop();
	});

	it("should show a failed reply under its message, and answer it on Retry", async () => {
		fake.script([{ status: 500 }, { text: ["The tide ", "turned ", "at last."], delayMs: 30 }]);
		const page = await loggedInPage(bardHash, { token, origin });
		await send(page, "Will the ferry sail?", BARD);
		const failure = page.locator(".row-user", { hasText: "Will the ferry sail?" }).getByRole("alert");
		await failure.waitFor();
		expect(await failure.textContent()).toContain("could not answer right now");
		await shot(page, "reply-failed");

		await page.getByRole("button", { name: "Retry" }).click();
		await page.locator(".row-ai:not([data-streaming])", { hasText: "The tide turned at last." }).waitFor();
		expect(await failure.count()).toBe(0);
		expect(await page.getByRole("button", { name: "Retry" }).count()).toBe(0);
		expect(fake.requests.filter((r) => r.path === "/v1/chat/completions")).toHaveLength(2);
	});

	it("should tell a misconfigured model apart from an outage", async () => {
		fake.script([
			{
				status: 401,
				message:
					"Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.",
			},
		]);
		const page = await loggedInPage(bardHash, { token, origin });
		await send(page, "Anyone on the bridge?", BARD);
		const failure = page.locator(".row-user", { hasText: "Anyone on the bridge?" }).getByRole("alert");
		await failure.waitFor();
		const text = (await failure.textContent()) ?? "";
		expect(text).toContain("misconfigured");
		expect(text).not.toMatch(/try again/i);
		await shot(page, "reply-misconfigured");
	});
});

async function tokenOf(page: Page): Promise<string> {
	return (await page.evaluate("sessionStorage.getItem('cameo.token')")) as string;
}

describe("web client as a new user finds it", () => {
	it("should say what a username may be when sign-up refuses one", async () => {
		const page = await openPage();
		await page.goto(`${base}/`);
		await page.getByRole("tab", { name: "Sign up" }).click();
		await page.getByLabel("Username").fill("new user!");
		await page.getByLabel("Password").fill("lighthouse42");
		await page.getByRole("button", { name: "Create account" }).click();
		await expect
			.poll(() => page.getByRole("alert").textContent(), POLL)
			.toBe("Usernames are 3–32 letters, digits, dots, dashes or underscores.");
	});

	it("should show a 429's Retry-After as a wait in seconds", async () => {
		const page = await openPage();
		await page.route(
			(url) => url.pathname === "/login",
			(route) =>
				route.fulfill({
					status: 429,
					headers: { "Retry-After": "42", "Content-Type": "application/json" },
					body: JSON.stringify({ detail: "Too many requests, slow down", code: "RATE_LIMITED", retry_after: 42 }),
				}),
		);
		await page.goto(`${base}/`);
		await page.getByLabel("Username").fill("someone");
		await page.getByLabel("Password").fill("lighthouse42");
		await page.getByRole("button", { name: "Log in", exact: true }).click();
		await expect.poll(() => page.getByRole("alert").textContent(), POLL).toBe("Too many attempts — try again in 42 s.");
		await shot(page, "login-rate-limited");
	});

	it("should keep the newest message in view when the window gets shorter (a phone's keyboard opening)", async () => {
		const page = await loggedInPage(chatHash(), { viewport: { width: 360, height: 740 } });
		const lines = ["the north pier", "the lighthouse steps", "the old ferry slip", "the salt marsh path"];
		for (const place of lines) {
			const said = `Which tide table for ${place}?`;
			await send(page, said);
			await replyTo(page, said).waitFor();
		}
		const log = page.getByRole("log");
		const newest = page.locator(".row-ai").last();
		const bottomGap = async () => {
			const [list, row] = await Promise.all([log.boundingBox(), newest.boundingBox()]);
			return list && row ? Math.round(list.y + list.height - (row.y + row.height)) : -1;
		};
		await expect.poll(bottomGap, POLL).toBeGreaterThanOrEqual(0);
		// Let the session list's refresh after the reply render first: any render scrolls a reader at the bottom down,
		// and a keyboard opening comes with none.
		await page.waitForTimeout(1000);

		await page.setViewportSize({ width: 360, height: 420 });
		await expect.poll(bottomGap, { timeout: 2000 }).toBeGreaterThanOrEqual(0);
		await shot(page, "phone-chat-keyboard");
	});
});

describe("web client rendering Markdown", () => {
	const HOSTILE = "<img src=x onerror=window.__xss=1> <script>window.__xss=1</script> [x](javascript:window.__xss=1)";

	it("should render *actions* in italics and safe Markdown, and never run HTML from messages or cards", async () => {
		const owner = await newUser();
		await broker.call(
			"characters.create",
			{
				name: "Ivo Marsh",
				description: `*hums* ${HOSTILE}`,
				system_prompt: "You are Ivo Marsh, a lock keeper.",
				greeting: `*waves* ${HOSTILE}`,
				is_public: true,
			},
			{ meta: owner.meta },
		);
		const page = await loggedInPage("#/");
		// Every element added anywhere from now on, streamed partial replies included.
		await page.evaluate(`
			window.__added = [];
			new MutationObserver((records) => {
				for (const r of records) for (const n of r.addedNodes)
					if (n.nodeType === 1) window.__added.push(n.tagName, ...[...n.querySelectorAll("img, script")].map((e) => e.tagName));
			}).observe(document.body, { childList: true, subtree: true });
		`);
		await page.getByLabel("Search characters by name").fill("Ivo Marsh");
		await expect.poll(() => page.locator(".character-card").count(), POLL).toBe(1);
		// Card fields stay plain text: the markup reads as written.
		await page.locator(".character-card").getByText(`*hums* ${HOSTILE}`).waitFor();

		await page.getByRole("link", { name: "Chat with Ivo Marsh" }).click();
		await page.locator(".sidebar-character").getByText(`*hums* ${HOSTILE}`).waitFor();
		const log = page.getByRole("log");
		const greeting = log.locator(".row-ai", { hasText: "waves" });
		await greeting.locator(".text em", { hasText: /^waves$/ }).waitFor();
		expect(await greeting.locator(".text").textContent()).toContain(HOSTILE);

		await page.locator(".presence-open").waitFor();
		const input = page.getByLabel("Message Ivo Marsh");
		await input.fill(`*bows* ${HOSTILE}\n\n- a **list**\n\n> a quote [map](https://example.com/coast)`);
		await input.press("Enter");
		const mine = log.locator(".row-user", { hasText: "bows" });
		await mine.locator(".text em", { hasText: /^bows$/ }).waitFor();
		await mine.locator(".text li strong", { hasText: "list" }).waitFor();
		const link = mine.locator(".text blockquote a", { hasText: "map" });
		expect(await link.getAttribute("href")).toBe("https://example.com/coast");
		expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
		expect(await link.getAttribute("target")).toBe("_blank");
		// The offline model quotes the message, so the reply (streamed, then final) carries the markup too.
		const reply = log.locator(".row-ai:not([data-streaming])", { hasText: 'You said "bows' });
		await reply.locator(".text em", { hasText: /^bows$/ }).waitFor();
		expect(await reply.locator(".text").textContent()).toContain("<img src=x onerror=window.__xss=1>");

		expect(await page.evaluate("window.__xss")).toBeUndefined();
		expect(await log.locator("img, script, [onerror]").count()).toBe(0);
		expect(await log.locator(".text a").count()).toBe(1);
		expect(await page.evaluate("window.__added.filter((t) => t === 'IMG' || t === 'SCRIPT')")).toEqual([]);
		await shot(page, "chat-markdown");
	});
});
