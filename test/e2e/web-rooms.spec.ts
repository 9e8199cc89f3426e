/**
 * Rooms in the web client, two people in two browser contexts against the whole system in one process (embedded
 * mode, real PostgreSQL, the offline model): Ana signs up, makes a room with two characters and an invite link; Bo
 * signs up through the link and is in the room. Both see each other online and the other typing; Ana's message naming
 * one character is shown to both once, under her name for Bo, and that character's reply once; Bo's button asks the
 * other character to speak, and both see that reply once. Removed by Ana, Bo is back in the gallery, still logged in.
 * Added by username instead, Bo finds the room among his in the gallery; Ana adds a third character to the cast and
 * Bo's button asking it to speak appears without reloading; Bo leaves the room.
 * Screenshots (desktop and a 390 px phone) go to test/e2e/screenshots/rooms-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, Locator, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages } from "../support/web-pages.js";
import { restClient } from "../support/rest-client.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const PHONE = { width: 390, height: 844 };
const REPLY = { timeout: 20_000 };
// Names other suites' characters don't have (files share the database when run together): letters only, so the
// room's "addressed" mode finds them as words.
const TAG = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");
const ODILE = `Odile ${TAG}`;
const BASTIEN = `Bastien ${TAG}`;
const MARIN = `Marin ${TAG}`;

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";
const client = restClient(() => base);
/** The two characters' ids, in cast order (a third, Marin, joins a cast later). */
const cast: string[] = [];

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		testConfig({
			NAMESPACE: uniqueName("rooms"),
			// Slow enough that a reply is seen being written.
			OFFLINE_MODEL_DELAY_MS: "25",
			CHAT_MESSAGES_PER_MINUTE: "1000",
			CHAT_USER_MESSAGES_PER_MINUTE: "1000",
		}),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	base = gatewayOrigin(broker);
	pages = new WebPages(browser, base);
	// Public characters, so both people see them.
	const author = await client.login("Character Author");
	for (const [name, greeting] of [
		[ODILE, "The lamp is lit, {{user}}."],
		[BASTIEN, "Nets don't mend themselves."],
		[MARIN, "Tide's turning."],
	]) {
		const res = await client.call("POST", "/characters", {
			token: author.token,
			json: { name, system_prompt: `You are ${name}.`, greeting, is_public: true },
		});
		expect(res.status).toBe(201);
		if (name !== MARIN) cast.push(res.body.id);
	}
});

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

async function shot(page: Page, name: string): Promise<void> {
	await page.evaluate("document.activeElement instanceof HTMLElement && document.activeElement.blur()");
	await page.evaluate("document.querySelector('.toasts')?.style.setProperty('visibility', 'hidden')");
	await page.waitForTimeout(150);
	await page.screenshot({ path: `${SHOTS}rooms-${name}.png` });
	await page.evaluate("document.querySelector('.toasts')?.style.removeProperty('visibility')");
}

/** Signs up on the login page the client shows (at whatever address it was opened). */
async function signUp(page: Page, name: string): Promise<void> {
	await page.getByRole("tab", { name: "Sign up" }).click();
	await page.getByLabel("Username").fill(uniqueName("room"));
	await page.getByLabel("Display name").fill(name);
	await page.getByLabel("Password").fill("harbour-lights-42");
	await page.getByRole("button", { name: "Create account" }).click();
}

/** The finished replies by `character` (not its greeting: the offline model's replies say what they are). */
function repliesBy(page: Page, character: string): Locator {
	return page
		.locator(".row-ai:not(.row-other):not([data-streaming])")
		.filter({ has: page.locator(".author", { hasText: character }) })
		.filter({ hasText: "(offline model" });
}

function person(page: Page, name: string): Locator {
	return page.getByRole("list", { name: "People in the room" }).getByRole("listitem").filter({ hasText: name });
}

describe("rooms in the web client", () => {
	it("should let two people talk with two characters in one room", async () => {
		// Ana makes the room and an invite link.
		const ana = await pages.open();
		await ana.goto(`${base}/`);
		await signUp(ana, "Ana Lopes");
		await ana.getByRole("heading", { name: "Hello, Ana" }).waitFor();
		await ana.getByRole("button", { name: "New room" }).click();
		const dialog = ana.getByRole("dialog", { name: "New room" });
		const create = dialog.getByRole("button", { name: "Create room" });
		await dialog.getByRole("checkbox", { name: ODILE }).check();
		expect(await create.isDisabled()).toBe(true);
		await dialog.getByRole("checkbox", { name: BASTIEN }).check();
		await dialog.getByLabel("Name (optional)").fill("Harbour night");
		await shot(ana, "new-room");
		await create.click();
		await ana.getByRole("heading", { name: "Harbour night", level: 1 }).waitFor();
		expect(new URL(ana.url()).hash).toMatch(/^#\/rooms\/[0-9a-f-]{36}$/);
		await ana.getByRole("button", { name: "Create invite link" }).click();
		const link = await ana.getByRole("textbox", { name: "Invite link" }).inputValue();
		expect(link).toMatch(new RegExp(`^${base}/#/invite/[A-Za-z0-9_-]+$`));
		const code = link.split("/").pop()!;
		const open = ana.getByRole("list", { name: "Open invite links" }).getByRole("listitem");
		await open
			.filter({ hasText: code.slice(-6) })
			.filter({ hasText: "1 use left" })
			.waitFor();

		// Bo opens the link, signs up, and is in the room.
		const bo = await pages.open();
		await bo.goto(link);
		await signUp(bo, "Bo Carter");
		await bo.getByRole("heading", { name: "Harbour night", level: 1 }).waitFor();
		expect(new URL(bo.url()).hash).toBe(new URL(ana.url()).hash);
		// A link for one person is used up: it leaves the owner's list.
		await open.filter({ hasText: code.slice(-6) }).waitFor({ state: "detached" });
		expect(await ana.getByRole("textbox", { name: "Invite link" }).count()).toBe(0);
		// Both greetings open the room, once each.
		await expect.poll(() => bo.locator(".row-ai", { hasText: "Nets don't mend themselves." }).count()).toBe(1);

		// Each sees both people online.
		for (const page of [ana, bo]) {
			for (const name of ["Ana Lopes", "Bo Carter"]) {
				await person(page, name).getByRole("img", { name: "online" }).waitFor();
			}
		}

		// Bo types: Ana sees it; Bo doesn't see himself.
		await bo.getByLabel("Message the room").fill("Hm, let me think");
		await ana.getByText("Bo Carter is typing…").waitFor();
		expect(await bo.getByText("Bo Carter is typing…").count()).toBe(0);
		await bo.getByLabel("Message the room").fill("");

		// Ana names Odile: both see her message and Odile's reply, once each.
		const said = `${ODILE}, what is that light on the water?`;
		await ana.getByLabel("Message the room").fill(said);
		await ana.getByLabel("Message the room").press("Enter");
		// Bo sees Odile writing (the offline model takes a word every 25 ms).
		await bo.getByText(`${ODILE} is typing…`).waitFor();
		await bo.screenshot({ path: `${SHOTS}rooms-writing.png` });
		for (const page of [ana, bo]) await repliesBy(page, ODILE).waitFor(REPLY);
		await ana.waitForTimeout(500);
		for (const page of [ana, bo]) {
			expect(
				await page
					.locator(".row", { hasText: said })
					.filter({ hasNot: page.locator(".author", { hasText: ODILE }) })
					.count(),
			).toBe(1);
			expect(await repliesBy(page, ODILE).count()).toBe(1);
			// It answers Ana's line (the offline model quotes it).
			expect(await repliesBy(page, ODILE).innerText()).toContain(said);
			// Nobody else answered it.
			expect(await repliesBy(page, BASTIEN).count()).toBe(0);
		}
		// Ana's own line is on her side; Bo sees it under her name.
		await ana.locator(".row-user", { hasText: said }).waitFor();
		const anaLine = bo.locator(".row-other", { hasText: said });
		await anaLine.locator(".author", { hasText: "Ana Lopes" }).waitFor();
		// The story is Ana's to steer: Bo may only copy her line.
		await anaLine.getByRole("button", { name: "Message actions" }).click();
		await bo.getByRole("menuitem", { name: "Copy text" }).waitFor();
		expect(await bo.getByRole("menuitem").allInnerTexts()).toEqual(["Copy text"]);
		await bo.keyboard.press("Escape");

		// Bo asks Bastien to speak: both see Bastien's reply, once.
		await bo.getByRole("button", { name: `Ask ${BASTIEN} to speak` }).click();
		for (const page of [ana, bo]) await repliesBy(page, BASTIEN).waitFor(REPLY);
		await bo.waitForTimeout(500);
		for (const page of [ana, bo]) expect(await repliesBy(page, BASTIEN).count()).toBe(1);
		await shot(ana, "desktop-owner");
		await shot(bo, "desktop-member");

		// The same room on Bo's phone, where he plays another persona of his: Ana's list says so.
		const token = String(await bo.evaluate("sessionStorage.getItem('cameo.token')"));
		const made = await client.call("POST", "/personas", { token, json: { name: "Captain Bo" } });
		expect(made.status).toBe(201);
		const phone = await pages.loggedIn(token, new URL(bo.url()).hash, { viewport: PHONE, touch: true });
		await repliesBy(phone, BASTIEN).waitFor(REPLY);
		await phone.getByLabel("Playing as").selectOption({ label: "Captain Bo" });
		await person(ana, "Captain Bo").waitFor();
		expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await shot(phone, "phone");
		await phone.close();
		// Ana's phone: the room's people and her invite links in the drawer.
		const anaToken = await ana.evaluate("sessionStorage.getItem('cameo.token')");
		const owner = await pages.loggedIn(String(anaToken), new URL(ana.url()).hash, { viewport: PHONE, touch: true });
		await owner.getByRole("button", { name: "Show people" }).click();
		await person(owner, "Captain Bo").getByRole("img", { name: "online" }).waitFor();
		expect(await owner.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await shot(owner, "phone-people");
		await owner.close();

		// Ana removes Bo: he is told, and is back in the gallery, still logged in.
		await person(ana, "Captain Bo").getByRole("button", { name: "Remove Captain Bo" }).click();
		await person(ana, "Captain Bo").getByRole("button", { name: "Remove", exact: true }).click();
		await bo.getByText("You were removed from this room").waitFor();
		await bo.getByRole("heading", { name: "Hello, Bo" }).waitFor();
		await person(ana, "Captain Bo").waitFor({ state: "detached" });

		// The room is among Ana's rooms in the gallery, and opens from there.
		await ana.getByRole("link", { name: "Back to characters" }).first().click();
		const listed = ana.getByRole("list", { name: "Your rooms" }).getByRole("link", { name: /Harbour night/ });
		await listed.waitFor();
		await shot(ana, "gallery");
		await listed.click();
		await ana.getByRole("heading", { name: "Harbour night", level: 1 }).waitFor();
		await repliesBy(ana, BASTIEN).waitFor();
	});

	it("should let the owner add someone by username and a character to the cast, and the member leave", async () => {
		const ana = await client.login("Ana Lopes");
		const bo = await client.login("Bo Carter");
		const { body: me } = await client.call("GET", "/me", { token: bo.token });
		const made = await client.call("POST", "/sessions", {
			token: ana.token,
			json: { character_ids: cast, title: "Low tide", reply_mode: "manual" },
		});
		expect(made.status).toBe(201);

		const owner = await pages.loggedIn(ana.token, `#/rooms/${made.body.id}`);
		await owner.getByLabel("Add by username").fill(me.username);
		await owner.getByRole("button", { name: "Add", exact: true }).click();
		await person(owner, "Bo Carter").waitFor();
		expect(await owner.getByLabel("Who replies").inputValue()).toBe("manual");

		const member = await pages.loggedIn(bo.token, "#/");
		await member
			.getByRole("list", { name: "Your rooms" })
			.getByRole("link", { name: /Low tide/ })
			.click();
		await member.getByRole("heading", { name: "Low tide", level: 1 }).waitFor();
		// Continue and "Write for me" are one person's tools: a room has none.
		expect(await member.getByRole("button", { name: /Continue|Write for me/ }).count()).toBe(0);

		// Ana adds Marin to the cast: Bo's button to ask Marin appears, and Marin is among the characters.
		await owner.getByRole("button", { name: "Change characters" }).click();
		const dialog = owner.getByRole("dialog", { name: "Characters in the room" });
		expect(await dialog.getByRole("checkbox", { name: ODILE }).isChecked()).toBe(true);
		await dialog.getByRole("checkbox", { name: MARIN }).check();
		await shot(owner, "cast");
		await dialog.getByRole("button", { name: "Save" }).click();
		await dialog.waitFor({ state: "detached" });
		await member.getByRole("button", { name: `Ask ${MARIN} to speak` }).waitFor();
		await member.getByRole("list", { name: "Characters in the room" }).getByText(MARIN).waitFor();
		await member.getByRole("button", { name: "Leave room" }).click();
		await member.getByRole("button", { name: "Leave", exact: true }).click();
		await member.getByText("You left the room").waitFor();
		await member.getByRole("heading", { name: "Hello, Bo" }).waitFor();
		expect(await member.getByText("You were removed from this room").count()).toBe(0);
		await person(owner, "Bo Carter").waitFor({ state: "detached" });
	});
});
