/**
 * The web client's characters in headless Chromium against the whole system in one process (embedded mode, real
 * PostgreSQL, the offline model): a character made with every card field and an image, edited, exported as JSON and
 * PNG, deleted; imports that ask public or private; card images shown from the small derived route (never the
 * original); a new chat opened with the chosen greeting; a character reopening its latest chat; a chat renamed.
 * Screenshots (desktop and a 390 px phone) go to test/e2e/screenshots/characters-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, Page, Request } from "playwright-core";
import sharp from "sharp";
import { createBroker } from "../../src/broker.js";
import { readCardFromPng } from "../../src/domain/card-png.js";
import { signUp, testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages, type PageOptions } from "../support/web-pages.js";
import { cardPng, noisePortrait } from "../support/card-images.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POLL = { timeout: 10_000 };
const PHONE = { width: 390, height: 844 };

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		testConfig({ NAMESPACE: uniqueName("chars"), OFFLINE_MODEL_DELAY_MS: "15", CHAT_MESSAGES_PER_MINUTE: "1000" }),
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

async function newUser(name = "Robin Vale"): Promise<TestUser> {
	return { ...(await signUp(broker, "chars", name)), name };
}

async function rest(
	user: TestUser,
	method: string,
	path: string,
	body?: unknown,
): Promise<{ status: number; body: Json }> {
	const res = await fetch(base + path, {
		method,
		headers: { Authorization: `Bearer ${user.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A soft two-colour portrait, for screenshots that should look like card art rather than noise. */
function painting(width: number, height: number, from: string, to: string): Promise<Buffer> {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="50%" cy="38%" r="22%" fill="#ffffff" fill-opacity="0.35"/><ellipse cx="50%" cy="100%" rx="38%" ry="30%" fill="#ffffff" fill-opacity="0.3"/></svg>`;
	return sharp(Buffer.from(svg)).png().toBuffer();
}

async function importCard(user: TestUser, png: Buffer, isPublic = true): Promise<{ id: string; name: string }> {
	const res = await fetch(`${base}/characters/import${isPublic ? "?public=true" : ""}`, {
		method: "POST",
		headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "image/png" },
		body: png,
	});
	expect(res.status).toBe(201);
	return (await res.json()) as { id: string; name: string };
}

async function createCharacter(user: TestUser, fields: Record<string, unknown>): Promise<string> {
	const res = await rest(user, "POST", "/characters", {
		system_prompt: "Stay in character.",
		is_public: true,
		...fields,
	});
	expect(res.status).toBe(201);
	return res.body.id as string;
}

async function shot(page: Page, name: string): Promise<void> {
	// Fonts and images settle, no caret blinks, and passing notices don't cover what the picture is of.
	await page.evaluate("document.activeElement instanceof HTMLElement && document.activeElement.blur()");
	await page.evaluate("document.querySelector('.toasts')?.style.setProperty('visibility', 'hidden')");
	await page.waitForTimeout(150);
	await page.screenshot({ path: `${SHOTS}characters-${name}.png` });
	await page.evaluate("document.querySelector('.toasts')?.style.removeProperty('visibility')");
}

/** What the test reads of an <img> (the tests compile without the DOM types). */
interface ImageSize {
	naturalWidth: number;
	naturalHeight: number;
}

const open = (user: TestUser, hash: string, opts?: PageOptions) => pages.loggedIn(user.token, hash, opts);

function chatIds(page: Page): { characterId: string; sessionId?: string } {
	const [, , characterId, sessionId] = new URL(page.url()).hash.split(/[/?]/);
	return { characterId, sessionId };
}

describe("own characters", () => {
	it("should create a character with every card field and an image, edit it, export it as JSON and PNG, and delete it", async () => {
		const owner = await newUser();
		const page = await open(owner, "#/");
		await page.getByRole("button", { name: "New character" }).click();
		const form = page.getByRole("dialog", { name: "New character" });

		// The server's refusal reads as a sentence: a name of spaces is trimmed to nothing.
		await form.getByLabel("Name", { exact: true }).fill("   ");
		await form.getByLabel("System prompt").fill("You are {{char}}, an archivist who whispers.");
		await form.getByRole("button", { name: "Create character" }).click();
		await expect.poll(() => form.getByRole("alert").textContent(), POLL).toBe("A name is 1–80 characters.");

		await form.getByLabel("Name", { exact: true }).fill("Ines Vautrin");
		await form.getByLabel("Description").fill("Night archivist of the drowned library. Greets {{user}} by lamplight.");
		await form.getByLabel("Character image").setInputFiles({
			name: "ines.png",
			mimeType: "image/png",
			buffer: await painting(600, 900, "#6a5acd", "#f4a261"),
		});
		const tags = form.getByLabel("Tags");
		await tags.fill("mystery,");
		await tags.fill("archive");
		await tags.press("Enter");
		await tags.fill("slow burn");
		await form.getByLabel("Personality").fill("Meticulous, dry, secretly kind.");
		await form.getByLabel("Scenario").fill("{{user}} arrives after closing time.");
		await form.getByLabel("Greeting", { exact: true }).fill("*Looks up from a ledger.* We're closed, {{user}}.");
		await form.getByRole("button", { name: "Add alternate greeting" }).click();
		await form
			.getByLabel("Alternate greeting 1", { exact: true })
			.fill("*The lamp gutters.* Ah. You found the side door.");
		await form.getByRole("button", { name: "Add alternate greeting" }).click();
		await form.getByLabel("Alternate greeting 2", { exact: true }).fill("Shh — the catalogue is sleeping.");
		await form.getByLabel("Example dialogue").fill("<START>\n{{user}}: Hello?\n{{char}}: *Shh.*");
		await form.getByText("More card fields and model settings").click();
		await form.getByLabel("Post-history instructions").fill("Keep replies under 80 words.");
		await form.getByLabel("Creator's notes").fill("Best at night.");
		await form.getByLabel("Creator", { exact: true }).fill("robin");
		await form.getByLabel("Version").fill("1.2");
		await form.getByLabel("Temperature").fill("0.7");
		await form.getByLabel("Reply length (tokens)").fill("400");
		await shot(page, "form-desktop-end");
		await page.evaluate("document.querySelector('.modal').scrollTop = 0");
		await shot(page, "form-desktop");
		await form.getByRole("button", { name: "Create character" }).click();

		const card = page.getByRole("link", { name: "Chat with Ines Vautrin" });
		await card.waitFor();
		await card.locator("img.avatar-image").waitFor();
		const [stored] = (await rest(owner, "GET", "/characters?q=Ines")).body as { id: string }[];
		const created = (await rest(owner, "GET", `/characters/id/${stored.id}`)).body;
		expect(created).toMatchObject({
			name: "Ines Vautrin",
			description: "Night archivist of the drowned library. Greets {{user}} by lamplight.",
			system_prompt: "You are {{char}}, an archivist who whispers.",
			personality: "Meticulous, dry, secretly kind.",
			scenario: "{{user}} arrives after closing time.",
			greeting: "*Looks up from a ledger.* We're closed, {{user}}.",
			alternate_greetings: ["*The lamp gutters.* Ah. You found the side door.", "Shh — the catalogue is sleeping."],
			mes_example: "<START>\n{{user}}: Hello?\n{{char}}: *Shh.*",
			post_history_instructions: "Keep replies under 80 words.",
			creator_notes: "Best at night.",
			creator: "robin",
			character_version: "1.2",
			tags: ["mystery", "archive", "slow burn"],
			temperature: 0.7,
			max_output_tokens: 400,
			llm_model: null,
			is_public: true,
			has_avatar: true,
		});
		// Macros are filled where people read them.
		await card.getByText("Greets Robin Vale by lamplight.").waitFor();
		await shot(page, "gallery-desktop");

		await page.getByRole("button", { name: "More about Ines Vautrin" }).click();
		const sheet = page.getByRole("dialog", { name: "Ines Vautrin" });
		await sheet.getByRole("button", { name: "Edit" }).waitFor();
		await shot(page, "page-desktop");

		// Export, as the owner sees it: both formats are downloads of what the API serves.
		const [json] = await Promise.all([
			page.waitForEvent("download"),
			sheet.getByRole("button", { name: "Export JSON" }).click(),
		]);
		expect(json.suggestedFilename()).toBe("ines-vautrin.json");
		const exported = JSON.parse(await readFile((await json.path())!, "utf8"));
		expect(exported.data).toMatchObject({ name: "Ines Vautrin", tags: ["mystery", "archive", "slow burn"] });
		const [png] = await Promise.all([
			page.waitForEvent("download"),
			sheet.getByRole("button", { name: "Export PNG" }).click(),
		]);
		expect(png.suggestedFilename()).toBe("ines-vautrin.png");
		const fromPng = readCardFromPng(await readFile((await png.path())!));
		expect((fromPng.card as { data: { alternate_greetings: string[] } }).data.alternate_greetings).toHaveLength(2);
		expect(await sharp(fromPng.image).metadata()).toMatchObject({ width: 600, height: 900 });

		// Edit: the full form, filled with what is stored.
		await sheet.getByRole("button", { name: "Edit" }).click();
		const edit = page.getByRole("dialog", { name: "Edit Ines Vautrin" });
		expect(await edit.getByLabel("Alternate greeting 2", { exact: true }).inputValue()).toBe(
			"Shh — the catalogue is sleeping.",
		);
		await edit.getByLabel("Description").fill("Night archivist of the drowned library.");
		await edit.getByRole("button", { name: "Remove alternate greeting 1" }).click();
		await edit.getByRole("button", { name: "Remove tag archive" }).click();
		await edit.getByText("Public — anyone can chat").click();
		await edit.getByRole("button", { name: "Save changes" }).click();
		await page.getByRole("link", { name: "Chat with Ines Vautrin" }).getByText("Private").waitFor();
		const edited = (await rest(owner, "GET", `/characters/id/${stored.id}`)).body;
		expect(edited).toMatchObject({
			description: "Night archivist of the drowned library.",
			alternate_greetings: ["Shh — the catalogue is sleeping."],
			tags: ["mystery", "slow burn"],
			is_public: false,
			// Untouched fields stay as they were.
			scenario: "{{user}} arrives after closing time.",
			has_avatar: true,
		});

		// Delete, after a confirmation.
		await page.getByRole("button", { name: "More about Ines Vautrin" }).click();
		await sheet.getByRole("button", { name: "Delete" }).click();
		await sheet.getByRole("alertdialog").getByText("and all chats with them").waitFor();
		await shot(page, "delete-confirm");
		await sheet.getByRole("button", { name: "Delete for good" }).click();
		await expect.poll(() => page.getByRole("link", { name: "Chat with Ines Vautrin" }).count(), POLL).toBe(0);
		expect((await rest(owner, "GET", `/characters/id/${stored.id}`)).status).toBe(404);
	});

	it("should offer edit and delete only on your own characters, and fit a phone", async () => {
		const [owner, viewer] = await Promise.all([newUser("Owner"), newUser()]);
		const id = await createCharacter(owner, {
			name: "Bastien Loup",
			description: "Lighthouse keeper.",
			alternate_greetings: ["The lamp needs oil."],
			tags: ["sea"],
		});
		const page = await open(viewer, "#/", { viewport: PHONE });
		await page.getByRole("button", { name: "More about Bastien Loup" }).click();
		const sheet = page.getByRole("dialog", { name: "Bastien Loup" });
		await sheet.getByRole("button", { name: "Export JSON" }).waitFor();
		expect(await sheet.getByRole("button", { name: "Edit" }).count()).toBe(0);
		expect(await sheet.getByRole("button", { name: "Delete" }).count()).toBe(0);
		expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await shot(page, "page-phone");
		expect((await rest(owner, "GET", `/characters/id/${id}`)).status).toBe(200);

		const mine = await open(owner, "#/", { viewport: PHONE });
		await mine.getByRole("button", { name: "More about Bastien Loup" }).click();
		await mine.getByRole("dialog", { name: "Bastien Loup" }).getByRole("button", { name: "Edit" }).click();
		const form = mine.getByRole("dialog", { name: "Edit Bastien Loup" });
		await form.getByLabel("Alternate greeting 1", { exact: true }).waitFor();
		expect(await mine.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await shot(mine, "form-phone");
	});
});

describe("imports", () => {
	it("should ask whether an import is public or private, private unless chosen", async () => {
		const user = await newUser();
		const page = await open(user, "#/");
		const card = (name: string) => ({
			name: `${name}.json`,
			mimeType: "application/json",
			buffer: Buffer.from(
				JSON.stringify({ spec: "chara_card_v2", spec_version: "2.0", data: { name, first_mes: "Hi." } }),
			),
		});

		await page.getByRole("button", { name: "Import card" }).click();
		const dialog = page.getByRole("dialog", { name: "Import a character card" });
		expect(await dialog.getByRole("radio", { name: /Private/ }).isChecked()).toBe(true);
		expect(await dialog.getByRole("radio", { name: /Public/ }).isChecked()).toBe(false);
		await shot(page, "import");
		await dialog.getByLabel("Character card file").setInputFiles(card("Quiet Imogen"));
		await page.getByRole("link", { name: "Chat with Quiet Imogen" }).getByText("Private").waitFor();

		await page.getByRole("button", { name: "Import card" }).click();
		await dialog.getByRole("radio", { name: /Public/ }).check();
		await dialog.getByLabel("Character card file").setInputFiles(card("Loud Ottilie"));
		await page.getByRole("link", { name: "Chat with Loud Ottilie" }).waitFor();
		const listed = (await rest(user, "GET", "/characters?limit=100")).body as { name: string; is_public: boolean }[];
		expect(listed.filter((c) => /Imogen|Ottilie/.test(c.name)).map((c) => [c.name, c.is_public])).toEqual(
			expect.arrayContaining([
				["Quiet Imogen", false],
				["Loud Ottilie", true],
			]),
		);
	});
});

describe("character images", () => {
	it("should show a card's image from the small derived route and never fetch the original", async () => {
		const owner = await newUser("Owner");
		const original = cardPng(await noisePortrait(900, 1300), {
			name: `Noor ${uniqueName("n")}`,
			description: "Painter.",
		});
		expect(original.length).toBeGreaterThan(3_000_000);
		const { id, name } = await importCard(owner, original);
		const viewer = await newUser();
		const page = await pages.open();
		const asked: Request[] = [];
		page.on("request", (r) => asked.push(r));
		await page.goto(`${base}/#/`);
		await page.evaluate(`sessionStorage.setItem("cameo.token", ${JSON.stringify(viewer.token)})`);
		const avatarAnswer = page.waitForResponse((r) => new URL(r.url()).pathname === `/characters/id/${id}/avatar`);
		await page.reload();
		const answer = await avatarAnswer;
		const card = page.getByRole("link", { name: `Chat with ${name}` });
		const image = card.locator("img.avatar-image");
		await image.waitFor();

		expect(new URL(answer.url()).search).toBe("?size=128");
		expect(answer.headers()["content-type"]).toBe("image/webp");
		const bytes = await answer.body();
		expect(bytes.length).toBeLessThan(original.length / 50);
		expect(
			await image.evaluate((img) => [
				(img as unknown as ImageSize).naturalWidth,
				(img as unknown as ImageSize).naturalHeight,
			]),
		).toEqual([128, 128]);
		expect(await image.getAttribute("src")).toMatch(/^blob:/);
		const paths = asked.map((r) => new URL(r.url()).pathname);
		expect(paths.filter((p) => p.includes(id))).toEqual([`/characters/id/${id}/avatar`]);
		expect(paths.some((p) => p.endsWith("/card.png"))).toBe(false);

		// On a phone, in dark mode, beside a character whose art is a painting.
		const art = await painting(512, 768, "#264653", "#e9c46a");
		const painted = await importCard(owner, cardPng(art, { name: "Selwyn Hart", description: "Paints harbours." }));
		const phone = await open(viewer, "#/", { viewport: PHONE, colorScheme: "dark" });
		await phone
			.getByRole("link", { name: `Chat with ${painted.name}` })
			.locator("img.avatar-image")
			.waitFor();
		await phone
			.getByRole("link", { name: `Chat with ${name}` })
			.locator("img.avatar-image")
			.waitFor();
		expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await phone.getByRole("link", { name: `Chat with ${painted.name}` }).scrollIntoViewIfNeeded();
		await shot(phone, "gallery-phone");
	});
});

describe("starting and resuming chats", () => {
	it("should start a new chat with the greeting picked on the character's page", async () => {
		const user = await newUser();
		await createCharacter(user, {
			name: "Marguerite Fenn",
			description: "Runs the night ferry.",
			greeting: "Tickets, {{user}}.",
			alternate_greetings: [
				"*The ferry horn sounds.* Last crossing tonight.",
				"You again? Sit by the stove, {{user}}.",
			],
		});
		const page = await open(user, "#/");
		await page.getByRole("button", { name: "More about Marguerite Fenn" }).click();
		const sheet = page.getByRole("dialog", { name: "Marguerite Fenn" });
		const picker = sheet.getByRole("group", { name: "Start a new chat with…" });
		await picker.getByText("Sit by the stove, Robin Vale.").waitFor();
		await picker.getByRole("radio", { name: /Alternate greeting 2/ }).check();
		await shot(page, "greeting-picker");
		const socket = page.waitForEvent("websocket");
		await sheet.getByRole("button", { name: "New chat" }).click();
		expect(new URL((await socket).url()).searchParams.get("greeting")).toBe("2");
		await page.getByText("You again? Sit by the stove, Robin Vale.").waitFor();
		await expect.poll(() => chatIds(page).sessionId ?? "", POLL).toMatch(UUID);
		const { sessionId } = chatIds(page);
		const history = (await rest(user, "GET", `/sessions/${sessionId}/messages`)).body;
		expect(history.messages[0].content).toBe("You again? Sit by the stove, Robin Vale.");

		// The chat page's New chat asks the same.
		await page.getByRole("button", { name: "New chat" }).click();
		const dialog = page.getByRole("dialog", { name: "New chat with Marguerite Fenn" });
		await dialog.getByRole("radio", { name: /Alternate greeting 1/ }).check();
		await shot(page, "new-chat-dialog");
		await dialog.getByRole("button", { name: "New chat" }).click();
		await page.getByText("Last crossing tonight.").waitFor();
		await expect.poll(() => chatIds(page).sessionId ?? sessionId, POLL).not.toBe(sessionId);
		expect(chatIds(page).sessionId).toMatch(UUID);
		expect(await page.getByRole("dialog").count()).toBe(0);
	});

	it("should reopen a character's latest chat from the gallery, and rename it from the recent chats", async () => {
		const user = await newUser();
		const id = await createCharacter(user, { name: "Tobiah Crane", greeting: "Evening." });
		const page = await open(user, "#/");
		await page.getByRole("link", { name: "Chat with Tobiah Crane" }).click();
		await page.locator(".presence-open").waitFor();
		const composer = page.getByLabel("Message Tobiah Crane");
		await composer.fill("Where does the tide go at night?");
		await composer.press("Enter");
		await expect.poll(() => chatIds(page).sessionId ?? "", POLL).toMatch(UUID);
		const first = chatIds(page).sessionId!;
		// A busy machine (other suites running) can take a while.
		await page.locator(".row-ai").nth(1).waitFor({ timeout: 20_000 });

		// Back to the gallery and into the character again: the same chat, not a new one.
		await page.goto(`${base}/#/`);
		await page.getByRole("link", { name: "Chat with Tobiah Crane" }).click();
		await page.getByText("Where does the tide go at night?").first().waitFor();
		expect(chatIds(page)).toEqual({ characterId: id, sessionId: first });
		const sessions = (await rest(user, "GET", `/sessions?character_id=${id}`)).body as { id: string }[];
		expect(sessions.map((s) => s.id)).toEqual([first]);

		// The recent chats show the default title; renaming it is one field.
		await page.goto(`${base}/#/`);
		const recent = page.locator(".recent-item").filter({ hasText: "Tobiah Crane — Where does the tide go at night?" });
		await recent.waitFor({ timeout: 20_000 });
		await recent.getByRole("button", { name: /^Rename/ }).click();
		const title = page.getByLabel("Chat name");
		await title.fill("The tide question");
		await shot(page, "rename");
		await title.press("Enter");
		await page.locator(".recent-item").filter({ hasText: "The tide question" }).waitFor();
		const renamed = (await rest(user, "GET", `/sessions?character_id=${id}`)).body as { title: string }[];
		expect(renamed[0].title).toBe("The tide question");
		await shot(page, "recent");

		// The character's page offers that chat by its name, and a new one; on a phone too.
		const phone = await open(user, "#/", { viewport: PHONE });
		await phone.getByRole("button", { name: "More about Tobiah Crane" }).click();
		const sheet = phone.getByRole("dialog", { name: "Tobiah Crane" });
		await sheet.getByRole("link", { name: "Continue “The tide question”" }).waitFor();
		await rest(user, "PATCH", `/sessions/${first}`, {
			title: "A much longer name for the tide question, as people write",
		});
		await phone.reload();
		await phone.getByRole("button", { name: "More about Tobiah Crane" }).click();
		const resume = sheet.getByRole("link", { name: /^Continue “A much longer name/ });
		await resume.waitFor();
		expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		const box = await resume.boundingBox();
		expect(box && box.x + box.width).toBeLessThanOrEqual(PHONE.width);
		await shot(phone, "page-continue-phone");
		await resume.click();
		await phone.getByText("Where does the tide go at night?").first().waitFor();
		expect(chatIds(phone).sessionId).toBe(first);
	});
});
