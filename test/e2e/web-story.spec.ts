/**
 * The web client's story controls in headless Chromium against the whole system in one process (embedded mode, real
 * PostgreSQL, the offline model): each message's actions (edit in place, delete from here, branch from here, copy),
 * the swipe pager choosing the variant the story continues from, Continue and Write for me — and a second page on the
 * same chat following edits and choices live. Screenshots of the actions menu (desktop and a 390 px phone) go to
 * test/e2e/screenshots/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, Locator, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { signUp, testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages, type PageOptions } from "../support/web-pages.js";
import { cardPng } from "../support/card-images.js";
import sharp from "sharp";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const CHARACTER = "Odile Marsh";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POLL = { timeout: 10_000 };
/** The page's window as far as these tests read it (the test files have no DOM types). */
type Styled = { getComputedStyle(el: unknown): { opacity: string } };

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";
let characterId = "";
let token = "";
let ownerToken = "";

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		// Paced so a continue is still being written (about half a second) when another page saves an edit of it.
		testConfig({
			NAMESPACE: uniqueName("story"),
			OFFLINE_MODEL_DELAY_MS: "40",
			// One user says a lot here, quickly.
			CHAT_MESSAGES_PER_MINUTE: "1000",
			CHAT_USER_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	base = gatewayOrigin(broker);
	pages = new WebPages(browser, base);

	const owner = await signUp(broker, "story", "Owner");
	ownerToken = owner.token;
	characterId = (
		await broker.call<{ id: string }, object>(
			"characters.create",
			{
				name: CHARACTER,
				description: "Keeper of the tide mill. Knows {{user}} by the sound of their boots.",
				system_prompt: "You are Odile Marsh, keeper of the tide mill.",
				greeting: "The wheel's turning, {{user}}. Come in out of the wind.",
				is_public: true,
			},
			{ meta: owner.meta },
		)
	).id;
	token = (await signUp(broker, "story", "Robin Vale")).token;
});

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

const chatHash = (sessionId?: string) => `#/chat/${characterId}${sessionId ? `/${sessionId}` : ""}`;
const sessionIdOf = (page: Page) => new URL(page.url()).hash.split("/")[3] ?? "";
const userRow = (page: Page, text: string): Locator => page.locator(".row-user", { hasText: text });
/** The finished reply to `said` (the offline model quotes the message it answers). */
const replyTo = (page: Page, said: string): Locator =>
	page.locator(".row-ai:not([data-streaming])", { hasText: `You said "${said}"` });

/** A page on a new chat (or `sessionId`), connected. */
async function chatPage(sessionId?: string, opts: PageOptions = {}): Promise<Page> {
	const page = await pages.loggedIn(token, chatHash(sessionId), opts);
	await page.locator(".presence-open").waitFor();
	return page;
}

/** Says `text` and waits for the whole reply. */
async function say(page: Page, text: string): Promise<Locator> {
	const input = page.getByLabel(`Message ${CHARACTER}`);
	await input.fill(text);
	await input.press("Enter");
	const reply = replyTo(page, text);
	await reply.waitFor();
	await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
	return reply;
}

/** Opens a row's actions menu and picks `action`. */
async function act(row: Locator, action: string): Promise<void> {
	await row.getByRole("button", { name: "Message actions" }).click();
	await row.page().getByRole("menuitem", { name: action }).click();
}

async function history(sessionId: string): Promise<{ id: string; content: string; edited_at?: string }[]> {
	const res = await fetch(`${base}/sessions/${sessionId}/messages?limit=100`, {
		headers: { Authorization: `Bearer ${token}` },
	});
	return ((await res.json()) as { messages: { id: string; content: string; edited_at?: string }[] }).messages;
}

/** The server's side of the open chat sockets (this file's broker is the only chat-ws node). */
function serverSockets(): { socket: { close(code: number, reason: string): void } }[] {
	const chatWs = broker.getLocalService("chat-ws") as unknown as {
		hub: { clients(): Iterable<{ socket: { close(code: number, reason: string): void } }> };
	};
	return [...chatWs.hub.clients()];
}

async function shot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: `${SHOTS}${name}.png`, animations: "disabled" });
}

describe("web client story controls", () => {
	it("should edit a message in place, and show the edit live on a second page of the chat", async () => {
		const page = await chatPage();
		await say(page, "Is the north sluice open?");
		const sessionId = sessionIdOf(page);
		const other = await chatPage(sessionId);
		await replyTo(other, "Is the north sluice open?").waitFor();

		// By id: while it is edited, the row shows a text box instead of its text.
		const id = await userRow(page, "Is the north sluice open?").getAttribute("data-id");
		const mine = page.locator(`.row-user[data-id="${id}"]`);
		await act(mine, "Edit");
		const box = mine.getByLabel("Edit message");
		expect(await box.inputValue()).toBe("Is the north sluice open?");
		await box.fill("Is the *south* sluice open?");
		await mine.getByRole("button", { name: "Save" }).click();

		for (const p of [page, other]) {
			const row = userRow(p, "Is the south sluice open?");
			await row.locator("em", { hasText: "south" }).waitFor();
			await row.locator(".edited").waitFor();
		}
		// The chat's default title is its first line: the list shows the edited one.
		await page.getByRole("list", { name: "Chat sessions" }).getByText("Is the *south* sluice open?").waitFor();
		await shot(page, "story-edited");
		const stored = (await history(sessionId)).find((m) => m.content === "Is the *south* sluice open?");
		expect(stored?.edited_at).toBeTruthy();

		// A reply too, from the keyboard: the menu opens on Enter, arrows move, Escape puts focus back on its button.
		const reply = replyTo(page, "Is the north sluice open?");
		const menuButton = reply.getByRole("button", { name: "Message actions" });
		await menuButton.focus();
		await page.keyboard.press("Enter");
		await expect.poll(() => page.evaluate("document.activeElement?.textContent"), POLL).toBe("Edit");
		await page.keyboard.press("ArrowUp");
		await expect.poll(() => page.evaluate("document.activeElement?.textContent"), POLL).toBe("Delete from here");
		await page.keyboard.press("Escape");
		expect(await page.getByRole("menu").count()).toBe(0);
		await expect
			.poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label')"), POLL)
			.toBe("Message actions");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.evaluate("document.activeElement?.textContent"), POLL).toBe("Edit");
		await page.keyboard.press("Enter");
		const replyBox = page.getByLabel("Edit message");
		await replyBox.fill("The sluice is open, {{user}}. <img src=x onerror=window.__xss=1>");
		await replyBox.press("Control+Enter");
		// Names filled; HTML written into an edit shows as text and never runs.
		const edited = other.locator(".row-ai", { hasText: "The sluice is open, Robin Vale. <img src=x onerror" });
		await edited.locator(".edited").waitFor();
		expect(await edited.locator("img").count()).toBe(0);
		expect(await other.evaluate("window.__xss")).toBeUndefined();
	});

	it("should keep an edit refused while its reply is being continued open, say why, and save it once written", async () => {
		const page = await chatPage();
		await say(page, "Count the sacks of flour.");
		const other = await chatPage(sessionIdOf(page));
		const id = await replyTo(other, "Count the sacks of flour.").getAttribute("data-id");
		const row = other.locator(`.row-ai[data-id="${id}"]`);
		await act(row, "Edit");
		await row.getByLabel("Edit message").fill("Forty sacks, {{user}}.");

		await page.getByRole("button", { name: "Continue" }).click();
		await other.locator(`.row-ai[data-id="${id}"][data-streaming]`).waitFor();
		await row.getByRole("button", { name: "Save" }).click();
		await other.getByText("That reply is still being written. Wait for it to finish, then try again.").waitFor();
		expect(await row.getByLabel("Edit message").inputValue()).toBe("Forty sacks, {{user}}.");

		await other.locator(`.row-ai[data-id="${id}"]:not([data-streaming])`).waitFor();
		await row.getByRole("button", { name: "Save" }).click();
		for (const p of [page, other]) {
			await p.locator(`.row-ai[data-id="${id}"]`, { hasText: "Forty sacks, Robin Vale." }).locator(".edited").waitFor();
		}
	});

	it("should catch up after a reconnect with what another page edited, rewound and chose meanwhile", async () => {
		const page = await chatPage();
		await say(page, "Oil the gears.");
		await page.getByRole("button", { name: "Regenerate reply" }).click();
		await page.locator(".variant-count", { hasText: "2/2" }).waitFor();
		await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
		await say(page, "Sweep the loft.");
		const other = await chatPage(sessionIdOf(page));
		await replyTo(other, "Sweep the loft.").waitFor();

		// The other page loses its socket and cannot reconnect until it is back online; this one reconnects at once.
		await other.context().setOffline(true);
		for (const client of serverSockets()) client.socket.close(1012, "Server restarting");
		await other.locator(".presence-reconnecting").waitFor();
		await page.locator(".presence-open").waitFor();
		await act(userRow(page, "Oil the gears."), "Edit");
		await page.getByLabel("Edit message").fill("Oil the big gears.");
		await page.getByRole("button", { name: "Save" }).click();
		await userRow(page, "Oil the big gears.").waitFor();
		await page.getByRole("button", { name: "Previous reply" }).click();
		await page.locator(".variant-count", { hasText: "1/2" }).waitFor();
		await act(userRow(page, "Sweep the loft."), "Delete from here");
		await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
		await userRow(page, "Sweep the loft.").waitFor({ state: "detached" });

		await other.context().setOffline(false);
		await userRow(other, "Oil the big gears.").waitFor();
		await other.locator(".variant-count", { hasText: "1/2" }).waitFor();
		await userRow(other, "Sweep the loft.").waitFor({ state: "detached" });
		expect(await replyTo(other, "Sweep the loft.").count()).toBe(0);
	});

	it("should delete a message and everything after it, after asking", async () => {
		const page = await chatPage();
		await say(page, "First, the tide table.");
		await say(page, "Then the weir.");
		await say(page, "And the eel traps.");
		const sessionId = sessionIdOf(page);

		await act(userRow(page, "Then the weir."), "Delete from here");
		const confirm = page.getByRole("alertdialog", { name: "Delete from here" });
		await confirm.getByText("Delete this message and everything after it?").waitFor();
		await shot(page, "story-delete-confirm");
		// It has the focus: Enter deletes.
		await page.keyboard.press("Enter");

		await userRow(page, "Then the weir.").waitFor({ state: "detached" });
		expect(await userRow(page, "And the eel traps.").count()).toBe(0);
		expect(await replyTo(page, "First, the tide table.").count()).toBe(1);
		const left = (await history(sessionId)).map((m) => m.content);
		expect(left.at(-1)).toContain('You said "First, the tide table."');
		expect(left.some((c) => c.includes("the weir") || c.includes("eel traps"))).toBe(false);
		// Its reply gone, the last message of yours can be answered again.
		await act(replyTo(page, "First, the tide table."), "Delete from here");
		await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
		await page.getByRole("button", { name: "Get a reply" }).click();
		await replyTo(page, "First, the tide table.").waitFor();
	});

	it("should branch from a message into a new chat holding the story up to it", async () => {
		const page = await chatPage();
		await say(page, "Which way to the lock?");
		await say(page, "And after the lock?");
		const original = sessionIdOf(page);

		await act(replyTo(page, "Which way to the lock?"), "Branch from here");
		await page.waitForURL((url) => {
			const id = url.hash.split("/")[3] ?? "";
			return UUID.test(id) && id !== original;
		});
		await replyTo(page, "Which way to the lock?").waitFor();
		expect(await userRow(page, "And after the lock?").count()).toBe(0);
		// Both chats go on independently.
		await say(page, "Let's take the towpath instead.");
		expect((await history(original)).some((m) => m.content.includes("towpath"))).toBe(false);
		// The list names both by their first line; the branch says where it came from, and takes a name of yours.
		const sessions = page.getByRole("list", { name: "Chat sessions" }).locator("li");
		const named = sessions.filter({ hasText: "Which way to the lock?" });
		await expect.poll(() => named.count(), POLL).toBe(2);
		const branch = named.filter({ has: page.locator(".branched") });
		expect(await branch.count()).toBe(1);
		await branch.getByRole("button", { name: "Rename chat" }).click();
		const name = page.getByLabel("Chat name");
		await name.fill("The towpath");
		await shot(page, "story-rename");
		await name.press("Enter");
		await sessions.filter({ hasText: "The towpath" }).locator(".branched").waitFor();
		await shot(page, "story-branched");
		const res = await fetch(`${base}/sessions/${sessionIdOf(page)}`, { headers: { Authorization: `Bearer ${token}` } });
		expect(await res.json()).toMatchObject({ title: "The towpath", branched_from: { session_id: original } });
	});

	it("should choose the variant with the pager, on every page of the chat", async () => {
		const page = await chatPage();
		const reply = await say(page, "Sing the mill song.");
		const first = await reply.locator(".text").textContent();
		await page.getByRole("button", { name: "Regenerate reply" }).click();
		await page.locator(".variant-count", { hasText: "2/2" }).waitFor();
		await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
		const sessionId = sessionIdOf(page);
		const other = await chatPage(sessionId);
		await other.locator(".variant-count", { hasText: "2/2" }).waitFor();

		await page.getByRole("button", { name: "Previous reply" }).click();
		for (const p of [page, other]) {
			await p.locator(".variant-count", { hasText: "1/2" }).waitFor();
			expect(await replyTo(p, "Sing the mill song.").locator(".text").textContent()).toBe(first);
		}
		// The choice is the story's: a fresh page shows it too.
		const fresh = await chatPage(sessionId);
		await fresh.locator(".variant-count", { hasText: "1/2" }).waitFor();
	});

	it("should continue the last reply in place", async () => {
		const page = await chatPage();
		const reply = await say(page, "Tell me about the flood year.");
		const before = (await reply.locator(".text").textContent()) ?? "";
		const rows = await page.locator(".row").count();
		await page.getByRole("button", { name: "Continue" }).click();
		await expect
			.poll(async () => (await reply.locator(".text").textContent())?.length ?? 0, POLL)
			.toBeGreaterThan(before.length + 5);
		await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
		expect(await reply.locator(".text").textContent()).toContain(before.trim().slice(0, 40));
		expect(await page.locator(".row").count()).toBe(rows);
		expect(await page.getByRole("button", { name: "Continue" }).isEnabled()).toBe(true);
	});

	it("should write your next line into the input box for you to edit and send", async () => {
		const page = await chatPage();
		await say(page, "The wheel sounds wrong today.");
		const rows = await page.locator(".row").count();
		await page.getByRole("button", { name: "Write for me" }).click();
		const input = page.getByLabel(`Message ${CHARACTER}`);
		await expect.poll(() => input.inputValue(), POLL).toMatch(/\w+/);
		await expect.poll(() => input.isEditable(), POLL).toBe(true);
		expect(await page.locator(".row").count()).toBe(rows);
		const suggestion = await input.inputValue();
		await input.press("End");
		await input.pressSequentially(" Quickly.");
		await input.press("Enter");
		await userRow(page, `${suggestion} Quickly.`).waitFor();
		expect(await input.inputValue()).toBe("");
	});

	it("should copy a message's text as it reads, names filled", async () => {
		const page = await chatPage(undefined, { permissions: ["clipboard-read", "clipboard-write"] });
		const greeting = page.locator(".row-ai").first();
		await greeting.getByText("Come in out of the wind.").waitFor();
		await act(greeting, "Copy text");
		await page.getByText("Copied to the clipboard").waitFor();
		expect(await page.evaluate("navigator.clipboard.readText()")).toBe(
			"The wheel's turning, Robin Vale. Come in out of the wind.",
		);
	});

	it("should show a character's image beside its replies and in the header, each size fetched once", async () => {
		const art = await sharp({ create: { width: 600, height: 900, channels: 3, background: "#8a7bd1" } })
			.png()
			.toBuffer();
		const res = await fetch(`${base}/characters/import?public=true`, {
			method: "POST",
			headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "image/png" },
			body: cardPng(art, { name: "Maud Heron", first_mes: "The kettle's on." }),
		});
		expect(res.status).toBe(201);
		const maud = (await res.json()) as { id: string };

		const page = await pages.open();
		const asked: string[] = [];
		page.on("request", (req) => {
			if (req.url().includes("/avatar")) asked.push(new URL(req.url()).search);
		});
		await page.goto(`${base}/#/chat/${maud.id}`);
		await page.evaluate(`sessionStorage.setItem("cameo.token", ${JSON.stringify(token)})`);
		await page.reload();
		await page.locator(".presence-open").waitFor();
		const input = page.getByLabel("Message Maud Heron");
		for (const line of ["Is it strong tea?", "Two sugars, please."]) {
			await input.fill(line);
			await input.press("Enter");
			await page.locator(".row-ai:not([data-streaming])", { hasText: `You said "${line}"` }).waitFor();
		}
		await page.locator(".chat-header img.avatar-image").waitFor();
		await expect.poll(() => page.locator(".row-ai img.avatar-image").count(), POLL).toBe(3);
		await shot(page, "story-avatars");
		// Small derived images (64 px beside replies, 128 in the header and the list), never the original, once each.
		expect(asked.sort()).toEqual(["?size=128", "?size=64"]);
	});

	it("should look right with the actions menu open, on a desktop and on a 390 px phone", async () => {
		const page = await chatPage();
		await say(page, "Show me the ledger, please.");
		await act(userRow(page, "Show me the ledger, please."), "Edit");
		await shot(page, "story-edit");
		await page.keyboard.press("Escape");
		await replyTo(page, "Show me the ledger, please.").getByRole("button", { name: "Message actions" }).click();
		await page.getByRole("menu").waitFor();
		await shot(page, "story-actions");

		const phone = { width: 390, height: 844 };
		const small = await chatPage(sessionIdOf(page), { viewport: phone, colorScheme: "dark", touch: true });
		// Nothing to hover with on a touch screen: every message shows its actions button.
		const buttons = small.getByRole("button", { name: "Message actions" });
		await expect.poll(() => buttons.count(), POLL).toBe(3);
		for (const button of await buttons.all()) {
			expect(await button.evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).opacity)).toBe("1");
		}
		await shot(small, "story-phone");
		await replyTo(small, "Show me the ledger, please.").getByRole("button", { name: "Message actions" }).tap();
		const menu = small.getByRole("menu");
		await menu.waitFor();
		const box = await menu.boundingBox();
		expect(box && box.x >= 0 && box.x + box.width <= phone.width).toBe(true);
		expect(await small.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(phone.width);
		await shot(small, "story-phone-actions");
		await small.getByRole("menuitem", { name: "Edit" }).tap();
		await small.getByLabel("Edit message").waitFor();
		expect(await small.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(phone.width);
		await shot(small, "story-phone-edit");
	});
});
