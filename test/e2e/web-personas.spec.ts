/**
 * The web client's personas, lorebooks, memory and prompt inspector in headless Chromium against the whole system in
 * one process (embedded mode, real PostgreSQL, the offline model): personas made, edited, made default and deleted;
 * a new chat played as a chosen persona (its name in the greeting) and switched in the chat header; a lorebook
 * created with an entry, edited, exported in both formats, imported and deleted, and books attached to a persona and a
 * character; the memory panel's summary, pins and the chat's books; "Why did it say that?" on a reply, every part of
 * its prompt named. Screenshots (desktop and a 390 px phone) go to test/e2e/screenshots/personas-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Locator, Page, Browser } from "playwright-core";
import sharp from "sharp";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages, type PageOptions } from "../support/web-pages.js";
import { restClient } from "../support/rest-client.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POLL = { timeout: 10_000 };
const PHONE = { width: 390, height: 844 };
const CHARACTER = "Maud Ferrier";

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("personas"),
			OFFLINE_MODEL_DELAY_MS: "10",
			CHAT_MESSAGES_PER_MINUTE: "1000",
			CHAT_USER_MESSAGES_PER_MINUTE: "1000",
			// The prompt of all but the latest two replies of a chat is let go: the inspector says so.
			CHAT_PROMPT_INSPECTOR_REPLIES: "2",
		}),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	base = gatewayOrigin(broker);
	pages = new WebPages(browser, base);
});

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of several shapes
type Json = any;

interface TestUser {
	id: string;
	token: string;
	name: string;
}

const client = restClient(() => base);

async function newUser(name = "Robin Vale"): Promise<TestUser> {
	return { ...(await client.login(name)), name };
}

async function rest(
	user: TestUser,
	method: string,
	path: string,
	json?: unknown,
): Promise<{ status: number; body: Json }> {
	return client.call(method, path, { token: user.token, json });
}

async function createCharacter(user: TestUser, fields: Record<string, unknown> = {}): Promise<string> {
	const res = await rest(user, "POST", "/characters", {
		name: CHARACTER,
		system_prompt: "You are Maud Ferrier, keeper of the tide mill.",
		greeting: "The wheel's turning, {{user}}. Come in out of the wind.",
		is_public: false,
		...fields,
	});
	expect(res.status).toBe(201);
	return res.body.id as string;
}

async function shot(page: Page, name: string): Promise<void> {
	await page.evaluate("document.activeElement instanceof HTMLElement && document.activeElement.blur()");
	await page.evaluate("document.querySelector('.toasts')?.style.setProperty('visibility', 'hidden')");
	await page.waitForTimeout(150);
	await page.screenshot({ path: `${SHOTS}personas-${name}.png` });
	await page.evaluate("document.querySelector('.toasts')?.style.removeProperty('visibility')");
}

const open = (user: TestUser, hash: string, opts?: PageOptions) => pages.loggedIn(user.token, hash, opts);
const sessionIdOf = (page: Page) => new URL(page.url()).hash.split(/[/?]/)[3] ?? "";

async function fitsWidth(page: Page, width: number): Promise<void> {
	expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(width);
}

/** Says `text` in the open chat and waits for the whole reply (the offline model quotes what it answers). */
async function say(page: Page, text: string): Promise<Locator> {
	const input = page.getByLabel(`Message ${CHARACTER}`);
	await input.fill(text);
	await input.press("Enter");
	const reply = page.locator(".row-ai:not([data-streaming])", { hasText: `You said "${text}"` });
	await reply.waitFor({ timeout: 20_000 });
	await page.getByText(`${CHARACTER} is typing…`).waitFor({ state: "hidden" });
	return reply;
}

async function act(row: Locator, action: string): Promise<void> {
	await row.getByRole("button", { name: "Message actions" }).click();
	await row.page().getByRole("menuitem", { name: action }).click();
}

function portrait(from: string, to: string): Promise<Buffer> {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="50%" cy="40%" r="22%" fill="#fff" fill-opacity="0.4"/></svg>`;
	return sharp(Buffer.from(svg)).png().toBuffer();
}

describe("personas", () => {
	it("should list, create with an image, edit, make default and delete personas", async () => {
		const user = await newUser();
		const page = await open(user, "#/");
		await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
		const list = page.getByRole("list", { name: "Your personas" });
		// A new user has one, named after them, the default.
		const mine = list.getByRole("listitem").filter({ hasText: user.name });
		await mine.getByText("Default").waitFor();

		await page.getByRole("button", { name: "New persona" }).click();
		const form = page.getByRole("dialog", { name: "New persona" });
		await form.getByLabel("Name").fill("Captain Ash");
		await form.getByLabel("Description").fill("A smuggler with a soft spot for lighthouses.");
		await form.getByLabel("Persona image").setInputFiles({
			name: "ash.png",
			mimeType: "image/png",
			buffer: await portrait("#2a9d8f", "#e76f51"),
		});
		await form.locator("img.avatar-image").waitFor();
		await shot(page, "form");
		await form.getByRole("button", { name: "Create persona" }).click();
		const ash = list.getByRole("listitem").filter({ hasText: "Captain Ash" });
		await ash.locator("img.avatar-image").waitFor();
		expect(await ash.locator("img.avatar-image").getAttribute("src")).toMatch(/^blob:/);
		const listed = (await rest(user, "GET", "/personas")).body as Json[];
		expect(listed.map((p) => [p.name, p.is_default, p.has_avatar])).toEqual([
			[user.name, true, false],
			["Captain Ash", false, true],
		]);
		await shot(page, "list");

		// Edit: a new description, and the default.
		await page.getByRole("button", { name: "Edit Captain Ash" }).click();
		const edit = page.getByRole("dialog", { name: "Edit Captain Ash" });
		expect(await edit.getByLabel("Description").inputValue()).toBe("A smuggler with a soft spot for lighthouses.");
		await edit.getByLabel("Description").fill("A retired smuggler.");
		await edit.getByText("Default — new chats start as this persona").click();
		await edit.getByRole("button", { name: "Save changes" }).click();
		await ash.getByText("Default").waitFor();
		await expect.poll(() => mine.getByText("Default").count(), POLL).toBe(0);
		const [first, second] = (await rest(user, "GET", "/personas")).body as Json[];
		expect([first.name, first.is_default, first.description]).toEqual(["Captain Ash", true, "A retired smuggler."]);
		expect([second.name, second.is_default]).toEqual([user.name, false]);

		// Delete, after a confirmation.
		await page.getByRole("button", { name: `Delete ${user.name}` }).click();
		await page
			.getByRole("alertdialog", { name: `Delete ${user.name}?` })
			.getByRole("button", { name: "Delete" })
			.click();
		await expect.poll(() => mine.count(), POLL).toBe(0);
		expect(((await rest(user, "GET", "/personas")).body as Json[]).map((p) => p.name)).toEqual(["Captain Ash"]);
		// The last one cannot go: the refusal is shown.
		await page.getByRole("button", { name: "Delete Captain Ash" }).click();
		await page
			.getByRole("alertdialog", { name: "Delete Captain Ash?" })
			.getByRole("button", { name: "Delete" })
			.click();
		await page.locator(".toast-error").waitFor();
		expect((await rest(user, "GET", "/personas")).body).toHaveLength(1);

		const phone = await open(user, "#/personas", { viewport: PHONE });
		await phone.getByText("Captain Ash").waitFor();
		await fitsWidth(phone, PHONE.width);
		await shot(phone, "list-phone");
	});

	it("should start a chat as the chosen persona and switch persona in the chat header", async () => {
		const user = await newUser();
		const created = await rest(user, "POST", "/personas", { name: "Captain Ash", description: "A smuggler." });
		expect(created.status).toBe(201);
		const ashId = created.body.id as string;
		const characterId = await createCharacter(user);
		const page = await open(user, "#/");

		await page.getByRole("button", { name: `More about ${CHARACTER}` }).click();
		const sheet = page.getByRole("dialog", { name: CHARACTER });
		await sheet.getByLabel("Play as").selectOption({ label: "Captain Ash" });
		await shot(page, "picker");
		const socket = page.waitForEvent("websocket");
		await sheet.getByRole("button", { name: "New chat" }).click();
		expect(new URL((await socket).url()).searchParams.get("persona_id")).toBe(ashId);
		await page.getByText("The wheel's turning, Captain Ash.").waitFor();
		await expect.poll(() => sessionIdOf(page), POLL).toMatch(UUID);
		const sessionId = sessionIdOf(page);
		expect((await rest(user, "GET", `/sessions/${sessionId}`)).body.persona).toEqual({
			id: ashId,
			name: "Captain Ash",
		});

		// The header shows whom you play, and switches it.
		const playing = page.getByLabel("Playing as");
		await expect.poll(() => playing.inputValue(), POLL).toBe(ashId);
		await say(page, "Any news from the harbour?");
		await page.locator(".row-user .author-user", { hasText: "Captain Ash" }).waitFor();
		await shot(page, "chat");
		await playing.selectOption({ label: user.name });
		await page.locator(".row-user .author-user", { hasText: user.name }).waitFor();
		await expect
			.poll(async () => (await rest(user, "GET", `/sessions/${sessionId}`)).body.persona?.name, POLL)
			.toBe(user.name);
		expect((await rest(user, "GET", `/sessions?character_id=${characterId}`)).body[0].persona.name).toBe(user.name);

		// The chat page's New chat asks whom to play when there is a choice.
		await page.getByRole("button", { name: "New chat" }).click();
		const dialog = page.getByRole("dialog", { name: `New chat with ${CHARACTER}` });
		await dialog.getByLabel("Play as").selectOption({ label: "Captain Ash" });
		await dialog.getByRole("button", { name: "New chat" }).click();
		await expect.poll(() => sessionIdOf(page) || sessionId, POLL).not.toBe(sessionId);
		await expect.poll(() => page.getByLabel("Playing as").inputValue(), POLL).toBe(ashId);

		const phone = await open(user, `#/chat/${characterId}/${sessionId}`, { viewport: PHONE });
		await phone.locator(".presence-open").waitFor();
		await phone.getByLabel("Playing as").waitFor();
		await fitsWidth(phone, PHONE.width);
		await shot(phone, "chat-phone");
	});
});

describe("lorebooks", () => {
	it("should create a book with an entry, edit it, export it in both formats, and import one", async () => {
		const user = await newUser();
		const page = await open(user, "#/lorebooks");
		await page.getByRole("button", { name: "New lorebook" }).click();
		const create = page.getByRole("dialog", { name: "New lorebook" });
		await create.getByLabel("Name").fill("The Drowned Library");
		await create.getByRole("button", { name: "Create lorebook" }).click();
		await page.getByRole("heading", { name: "The Drowned Library" }).waitFor();
		const bookId = new URL(page.url()).hash.split("/")[2];
		expect(bookId).toMatch(UUID);

		await page.getByRole("button", { name: "Add entry" }).click();
		// Its name changes as it is typed: found by its id.
		const entry = page.locator('.lore-entry[data-entry="0"]');
		await entry.getByLabel("Entry name").fill("The bell");
		await entry.getByLabel("Keys", { exact: true }).fill("bell, /chim(e|es){1,2}/i");
		await entry.getByLabel("Secondary keys").fill("tower");
		await entry.getByLabel("Content").fill("The library's bell rings only for {{user}}.");
		await entry.getByLabel("Selective").check();
		await entry.getByLabel("Position").selectOption("after_char");
		await entry.getByLabel("Order").fill("5");
		await entry.getByLabel("Priority").fill("30");
		await page.getByLabel("Scan depth (messages)").fill("6");
		await shot(page, "lorebook-editor");
		await page.getByRole("button", { name: "Save lorebook" }).click();
		// Saved: the button rests until the next change (it also rests while saving, so the notice tells).
		await page.getByText("Saved The Drowned Library").waitFor();
		expect(await page.getByRole("button", { name: "Save lorebook" }).isDisabled()).toBe(true);
		let stored = (await rest(user, "GET", `/lorebooks/${bookId}`)).body;
		expect(stored).toMatchObject({ name: "The Drowned Library", scan_depth: 6, token_budget: null, is_public: false });
		expect(stored.entries).toHaveLength(1);
		expect(stored.entries[0]).toMatchObject({
			name: "The bell",
			keys: ["bell", "/chim(e|es){1,2}/i"],
			secondary_keys: ["tower"],
			content: "The library's bell rings only for {{user}}.",
			enabled: true,
			constant: false,
			selective: true,
			insertion_order: 5,
			priority: 30,
			position: "after_char",
		});

		// Edit after a reload: the stored entry, folded to its name.
		await page.reload();
		await page.getByText("The bell").click();
		const bell = page.getByRole("group", { name: "Entry The bell" });
		await bell.getByLabel("Constant").check();
		await bell.getByLabel("Whole words").uncheck();
		await page.getByText("Public — anyone can read and attach this book").click();
		await page.getByRole("button", { name: "Save lorebook" }).click();
		await expect.poll(async () => (await rest(user, "GET", `/lorebooks/${bookId}`)).body.is_public, POLL).toBe(true);
		stored = (await rest(user, "GET", `/lorebooks/${bookId}`)).body;
		expect(stored.entries[0]).toMatchObject({ constant: true, match_whole_words: false, selective: true });

		// Export in both formats.
		const [world] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: "SillyTavern world info" }).click(),
		]);
		expect(world.suggestedFilename()).toBe("the-drowned-library.json");
		const worldInfo = JSON.parse(await readFile((await world.path())!, "utf8"));
		expect(Object.values(worldInfo.entries as Record<string, Json>)[0]).toMatchObject({
			key: ["bell", "/chim(e|es){1,2}/i"],
			content: "The library's bell rings only for {{user}}.",
		});
		const [card] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: "Card character_book" }).click(),
		]);
		const characterBook = JSON.parse(await readFile((await card.path())!, "utf8"));
		expect(characterBook.entries[0]).toMatchObject({ keys: ["bell", "/chim(e|es){1,2}/i"], name: "The bell" });

		// Others' public books are listed apart, so this user's are looked for among their own.
		const yours = page.getByRole("region", { name: "Your lorebooks" });

		// Import a SillyTavern world-info file: named after the file, its entries kept.
		await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Lorebooks" }).click();
		await yours.getByRole("link", { name: /The Drowned Library/ }).waitFor();
		await shot(page, "lorebooks");
		await page.getByRole("button", { name: "Import lorebook" }).click();
		await page.getByLabel("Lorebook file").setInputFiles({
			name: "Lantern Quay lore.json",
			mimeType: "application/json",
			buffer: Buffer.from(
				JSON.stringify({
					entries: {
						"0": { uid: 0, key: ["lighthouse"], keysecondary: [], comment: "Lighthouse", content: "It is dark." },
						"1": { uid: 1, key: ["gull"], keysecondary: [], comment: "Gulls", content: "They steal.", disable: true },
					},
				}),
			),
		});
		await page.getByRole("heading", { name: "Lantern Quay lore" }).waitFor();
		await page.getByText("Lighthouse", { exact: true }).waitFor();
		await page.getByText("Gulls", { exact: true }).waitFor();
		await fitsWidth(page, 1280);
		const imported = new URL(page.url()).hash.split("/")[2];

		// Delete, after a confirmation.
		await page.getByRole("button", { name: "Delete", exact: true }).click();
		await page
			.getByRole("alertdialog", { name: "Delete Lantern Quay lore?" })
			.getByRole("button", { name: "Delete for good" })
			.click();
		await page.getByRole("heading", { name: "Lorebooks" }).waitFor();
		await yours.getByRole("link", { name: /The Drowned Library/ }).waitFor();
		expect(await yours.getByRole("link", { name: /Lantern Quay lore/ }).count()).toBe(0);
		expect((await rest(user, "GET", `/lorebooks/${imported}`)).status).toBe(404);

		const phone = await open(user, `#/lorebooks/${bookId}`, { viewport: PHONE, colorScheme: "dark" });
		await phone.getByText("The bell").click();
		await phone.getByRole("group", { name: "Entry The bell" }).waitFor();
		await fitsWidth(phone, PHONE.width);
		await shot(phone, "lorebook-editor-phone");

		// Another user reads the public book but cannot change it; a private one is not there for them.
		const reader = await newUser("Reader");
		const theirs = await open(reader, `#/lorebooks/${bookId}`);
		await theirs.getByText("Public · read only").waitFor();
		expect(await theirs.getByRole("button", { name: "Save lorebook" }).count()).toBe(0);
	});

	it("should attach books to a persona and to a character you own", async () => {
		const user = await newUser();
		const book = await rest(user, "POST", "/lorebooks", { name: "Tide tables", entries: [{ keys: ["tide"] }] });
		expect(book.status).toBe(201);
		const characterId = await createCharacter(user);

		const page = await open(user, "#/personas");
		await page.getByRole("button", { name: `Edit ${user.name}` }).click();
		const form = page.getByRole("dialog", { name: `Edit ${user.name}` });
		await form.getByLabel(/Tide tables/).check();
		await shot(page, "persona-lorebooks");
		await form.getByRole("button", { name: "Save changes" }).click();
		await page.getByText("1 lorebook").waitFor();
		expect((await rest(user, "GET", "/personas")).body[0].lorebook_ids).toEqual([book.body.id]);

		await page.goto(`${base}/#/`);
		await page.getByRole("button", { name: `More about ${CHARACTER}` }).click();
		await page.getByRole("dialog", { name: CHARACTER }).getByRole("button", { name: "Edit" }).click();
		const edit = page.getByRole("dialog", { name: `Edit ${CHARACTER}` });
		await edit.getByLabel(/Tide tables/).check();
		await edit.getByRole("button", { name: "Save changes" }).click();
		await expect
			.poll(async () => (await rest(user, "GET", `/characters/id/${characterId}`)).body.lorebook_ids, POLL)
			.toEqual([book.body.id]);
	});
});

describe("memory and the prompt inspector", () => {
	it("should pin a message, edit the summary, attach a book to the chat and unpin from the memory panel", async () => {
		const user = await newUser();
		const book = await rest(user, "POST", "/lorebooks", { name: "Mill lore" });
		const characterId = await createCharacter(user);
		const page = await open(user, `#/chat/${characterId}`);
		await page.locator(".presence-open").waitFor();
		const reply = await say(page, "Tell me about the wheel.");
		const sessionId = sessionIdOf(page);
		const mine = page.locator(".row-user", { hasText: "Tell me about the wheel." });
		const messageId = (await mine.getAttribute("data-id"))!;

		await act(mine, "Pin to memory");
		await mine.getByRole("img", { name: "Pinned" }).waitFor();
		expect((await rest(user, "GET", `/sessions/${sessionId}/memory`)).body.pinned).toEqual([messageId]);
		// The reply's menu offers the pin and the inspector.
		await reply.getByRole("button", { name: "Message actions" }).click();
		await page.getByRole("menuitem", { name: "Why did it say that?" }).waitFor();
		await page.keyboard.press("Escape");

		await page.getByRole("button", { name: "Memory" }).click();
		const panel = page.getByRole("dialog", { name: "Memory" });
		await panel.locator(".pinned-item", { hasText: "Tell me about the wheel." }).waitFor();
		await panel.getByLabel("Summary").fill("Robin came to the mill asking about the wheel.");
		await panel.getByRole("button", { name: "Save summary" }).click();
		await expect
			.poll(async () => (await rest(user, "GET", `/sessions/${sessionId}/memory`)).body.summary, POLL)
			.toBe("Robin came to the mill asking about the wheel.");
		await panel.getByText("Updated").waitFor();
		await panel.getByLabel(/Mill lore/).check();
		await shot(page, "memory");
		await panel.getByRole("button", { name: "Save lorebooks" }).click();
		await expect
			.poll(async () => (await rest(user, "GET", `/sessions/${sessionId}`)).body.lorebook_ids, POLL)
			.toEqual([book.body.id]);
		await panel.getByRole("button", { name: /^Unpin/ }).click();
		await expect.poll(() => mine.getByRole("img", { name: "Pinned" }).count(), POLL).toBe(0);
		expect((await rest(user, "GET", `/sessions/${sessionId}/memory`)).body.pinned).toEqual([]);
		await page.keyboard.press("Escape");

		const phone = await open(user, `#/chat/${characterId}/${sessionId}`, { viewport: PHONE });
		await phone.locator(".presence-open").waitFor();
		await phone.getByRole("button", { name: "Memory" }).click();
		await phone.getByRole("dialog", { name: "Memory" }).getByLabel("Summary").waitFor();
		await fitsWidth(phone, PHONE.width);
		await shot(phone, "memory-phone");
	});

	it("should show what a reply's prompt was made of, and say when it is no longer kept", async () => {
		const user = await newUser();
		const characterId = await createCharacter(user);
		// A persona with a description and a book whose one entry is always in the prompt.
		const book = await rest(user, "POST", "/lorebooks", {
			name: "Mill lore",
			entries: [{ name: "The millpond", keys: ["pond"], content: "The millpond never freezes.", constant: true }],
		});
		expect(book.status).toBe(201);
		const [persona] = (await rest(user, "GET", "/personas")).body as Json[];
		const described = await rest(user, "PATCH", `/personas/${persona.id}`, {
			description: "A miller's apprentice.",
			lorebook_ids: [book.body.id],
		});
		expect(described.status).toBe(200);
		const page = await open(user, `#/chat/${characterId}`);
		await page.locator(".presence-open").waitFor();
		const first = await say(page, "What is that smell?");
		const summary = await rest(user, "PATCH", `/sessions/${sessionIdOf(page)}/memory`, {
			summary: "Robin smelled something at the mill.",
		});
		expect(summary.status).toBe(200);
		await say(page, "Is the river high?");
		const last = await say(page, "Shall we open the sluice?");

		await act(last, "Why did it say that?");
		const dialog = page.getByRole("dialog", { name: "Why did it say that?" });
		const parts = dialog.getByRole("table", { name: "What the prompt was made of" });
		for (const part of [/System prompt/, /Lore\s*The millpond/, /Your persona/, /Summary/, /Chat history/])
			await parts.getByRole("rowheader", { name: part }).waitFor();
		await dialog.locator(".prompt-message", { hasText: "Shall we open the sluice?" }).waitFor();
		// Nothing to fill in: the dialog itself has the focus, so the keyboard starts inside it.
		expect(await page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")).toBe(true);
		const system = dialog.locator(".prompt-message", { hasText: "You are Maud Ferrier" });
		for (const text of [
			"The millpond never freezes.",
			"A miller's apprentice.",
			"Robin smelled something at the mill.",
		])
			await system.getByText(text, { exact: false }).waitFor();
		await shot(page, "inspector");
		await page.keyboard.press("Escape");

		await act(first, "Why did it say that?");
		await dialog.getByText("no longer kept").waitFor();

		const phone = await open(user, `#/chat/${characterId}/${sessionIdOf(page)}`, { viewport: PHONE });
		await phone.locator(".presence-open").waitFor();
		const lastOnPhone = phone.locator(".row-ai", { hasText: 'You said "Shall we open the sluice?"' });
		await act(lastOnPhone, "Why did it say that?");
		await phone.getByRole("dialog", { name: "Why did it say that?" }).locator(".prompt-message").first().waitFor();
		await fitsWidth(phone, PHONE.width);
		await shot(phone, "inspector-phone");
	});
});
