/**
 * The web client's account page (issue 16) in headless Chromium against the whole system in one process: the display
 * name changed (the header follows), the password changed (a wrong current one refused in the form; other logins end,
 * this tab stays in), everything downloaded as a zip, logging out (the token no longer works on the server), and the
 * account deleted after its password (back to the login, saying so), the NSFW opt-in (issue 17) showing a
 * character an admin marked NSFW in the gallery, a personal API key (issue 18) made, shown once, used and revoked,
 * and the user's own AI provider (issue 17) set (the key never shown back), refused at a private address, and removed.
 * Screenshots go to test/e2e/screenshots/account-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages } from "../support/web-pages.js";
import { restClient } from "../support/rest-client.js";
import { unzip } from "../support/unzip.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const PHONE = { width: 390, height: 844 };
const PASSWORD = "first password here";

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";
const client = restClient(() => base);

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("account") }), { logger: false });
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

async function signUp(name: string): Promise<{ username: string; token: string }> {
	const username = uniqueName("web");
	expect((await client.call("POST", "/register", { json: { username, name, password: PASSWORD } })).status).toBe(201);
	return { username, token: await logIn(username, PASSWORD) };
}

async function logIn(username: string, password: string): Promise<string> {
	const res = await client.call("POST", "/login", { json: { username, password } });
	expect(res.status).toBe(200);
	return res.body.access_token as string;
}

const status = async (token: string) => (await client.call("GET", "/me", { token })).status;

async function shot(page: Page, name: string): Promise<void> {
	await page.evaluate("document.activeElement instanceof HTMLElement && document.activeElement.blur()");
	await page.evaluate("document.querySelector('.toasts')?.style.setProperty('visibility', 'hidden')");
	await page.screenshot({ path: `${SHOTS}account-${name}.png`, fullPage: true });
	await page.evaluate("document.querySelector('.toasts')?.style.removeProperty('visibility')");
}

describe("web client account page", () => {
	it("should change the name and the password, and download everything", async () => {
		const me = await signUp("Ada Quill");
		const elsewhere = await logIn(me.username, PASSWORD);
		const page = await pages.loggedIn(me.token, "#/");
		await page.getByRole("link", { name: "Account" }).click();
		await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
		await page.getByText(`Logged in as ${me.username}.`).waitFor();

		const name = page.getByLabel("Display name");
		await name.fill("Ada Lovequill");
		await page.getByRole("button", { name: "Save name" }).click();
		await page.getByText("Display name saved").waitFor();
		await page.locator(".topbar-name", { hasText: "Ada Lovequill" }).waitFor();

		await page.getByLabel("Current password").fill("not it at all");
		await page.getByLabel("New password", { exact: true }).fill("second password here");
		await page.getByLabel("New password again").fill("second password here");
		await page.getByRole("button", { name: "Change password" }).click();
		await page.getByRole("alert").filter({ hasText: "The password is not right" }).waitFor();
		expect(await status(elsewhere)).toBe(200);

		await page.getByLabel("Current password").fill(PASSWORD);
		await page.getByRole("button", { name: "Change password" }).click();
		await page.getByText("Password changed. Your other devices are logged out.").waitFor();
		expect(await status(elsewhere)).toBe(401);
		expect(await status(me.token)).toBe(401);
		// This tab goes on, with the fresh token.
		const fresh = (await page.evaluate(`sessionStorage.getItem("cameo.token")`)) as string;
		expect(fresh).not.toBe(me.token);
		expect(await status(fresh)).toBe(200);
		await page.reload();
		await page.getByText(`Logged in as ${me.username}.`).waitFor();

		const [download] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: "Download everything" }).click(),
		]);
		expect(download.suggestedFilename()).toMatch(/^cameo-web_[^/]+-\d{4}-\d{2}-\d{2}\.zip$/);
		const files = unzip(await readFile((await download.path())!));
		expect(JSON.parse(files.get("profile.json")!.toString())).toMatchObject({
			username: me.username,
			name: "Ada Lovequill",
		});
		await shot(page, "desktop");
	});

	it("should show characters marked NSFW in the gallery once the box is ticked, and hide them once unticked", async () => {
		const owner = await signUp("Di Marsh");
		const name = `Tavern dancer ${uniqueName("c")}`;
		const made = await client.call("POST", "/characters", {
			token: owner.token,
			json: { name, system_prompt: "You dance.", description: "For grown-ups." },
		});
		// A character anyone sees: once it shows, the gallery has loaded.
		const control = `Innkeeper ${uniqueName("c")}`;
		await client.call("POST", "/characters", { token: owner.token, json: { name: control, system_prompt: "p" } });
		const admin = { user: { id: made.body.created_by as string, username: "root", role: "admin" } };
		await broker.call("moderation.moderateCharacter", { id: made.body.id, nsfw: true }, { meta: admin });

		const me = await signUp("Ed Vale");
		const page = await pages.loggedIn(me.token, "#/");
		// Searched by name: the gallery shows the first 100 by name, and the run's other suites make many characters.
		const search = (text: string) => page.getByLabel("Search characters by name").fill(text);
		await search(control);
		await page.getByText(control).first().waitFor();
		await search(name);
		await page.getByText(`No characters match “${name}”.`).waitFor();
		await page.goto(`${base}/#/account`);
		const box = page.getByLabel("Show characters marked NSFW");
		expect(await box.isChecked()).toBe(false);
		await box.check();
		await page.getByText("Characters marked NSFW are shown").waitFor();
		expect((await client.call("GET", "/me", { token: me.token })).body.show_nsfw).toBe(true);
		await page.goto(`${base}/#/`);
		await search(name);
		await page.locator(".character-card", { hasText: name }).getByText("NSFW", { exact: true }).waitFor();

		await page.goto(`${base}/#/account`);
		await page.reload();
		expect(await page.getByLabel("Show characters marked NSFW").isChecked()).toBe(true);
		await page.getByLabel("Show characters marked NSFW").uncheck();
		await page.getByText("Characters marked NSFW are hidden").waitFor();
		expect((await client.call("GET", "/me", { token: me.token })).body.show_nsfw).toBe(false);

		// Its owner sees what an admin did to their characters.
		const controlId = (await client.call("GET", `/characters?q=${encodeURIComponent(control)}`, { token: owner.token }))
			.body[0].id as string;
		await broker.call("moderation.moderateCharacter", { id: controlId, hidden: true }, { meta: admin });
		const own = await pages.loggedIn(owner.token, "#/");
		const ownSearch = (text: string) => own.getByLabel("Search characters by name").fill(text);
		await ownSearch(control);
		await own.locator(".character-card", { hasText: control }).getByText("Hidden", { exact: true }).waitFor();
		await ownSearch(name);
		await own.locator(".character-card", { hasText: name }).getByText("NSFW", { exact: true }).waitFor();
	});

	it("should make an API key shown once to copy, list it by its hint, and revoke it", async () => {
		const me = await signUp("Di Quill");
		const page = await pages.loggedIn(me.token, "#/account");
		const section = page.getByRole("region", { name: "API keys" });
		await section.getByText("You have no API keys.").waitFor();
		await section.getByLabel("Key name").fill("  Nightly backup  ");
		await section.getByRole("button", { name: "Create key" }).click();
		const shown = section.getByLabel("Your new key");
		await shown.waitFor();
		const key = await shown.inputValue();
		expect(key).toMatch(/^cameo_sk_[A-Za-z0-9_-]{43}$/);
		await section.getByText("it is shown only this once").waitFor();
		await section.getByRole("button", { name: "Copy" }).waitFor();
		const list = section.getByRole("list", { name: "Your API keys" });
		await list.getByText(`…${key.slice(-4)}`).waitFor();
		await list.getByText("never used").waitFor();
		expect((await client.call("GET", "/me", { token: key })).body.username).toBe(me.username);
		await shot(page, "api-keys");

		// Shown once: after a reload only its name and hint are left, with its use.
		await page.reload();
		await list.getByText("Nightly backup").waitFor();
		await list.getByText(/last used/).waitFor();
		expect(await section.getByLabel("Your new key").count()).toBe(0);
		expect(await page.content()).not.toContain(key);

		await list.getByRole("button", { name: "Revoke key Nightly backup" }).click();
		await page.getByText("Key “Nightly backup” revoked").waitFor();
		await section.getByText("You have no API keys.").waitFor();
		expect(await status(key)).toBe(401);
		expect(await status(me.token)).toBe(200);
	});

	it("should set your own AI provider, show only the key's last 4 characters, refuse a private address, and remove it", async () => {
		const me = await signUp("Ed Lamp");
		const page = await pages.loggedIn(me.token, "#/account");
		const section = page.getByRole("region", { name: "Your own AI provider" });
		const form = section.getByRole("form", { name: "Set your own provider" });
		await form.getByLabel("Provider").selectOption("openai");
		await form.getByLabel("API key").fill("sk-web-private-0000");
		await form.getByLabel("Base URL").fill("http://127.0.0.1:11434/v1");
		await form.getByLabel("Model").fill("llama3");
		await form.getByRole("button", { name: "Use my provider" }).click();
		await form.getByRole("alert").getByText("The server refuses this address").waitFor();
		expect((await client.call("GET", "/me/provider", { token: me.token })).status).toBe(404);

		const key = "AIza-web-own-key-9x7Q";
		await form.getByLabel("Provider").selectOption("gemini");
		expect(await form.getByLabel("Base URL").count()).toBe(0);
		await form.getByLabel("API key").fill(key);
		await form.getByRole("button", { name: "Use my provider" }).click();
		const current = section.getByLabel("Your provider");
		await current.getByText("Gemini · the server's default model · key …9x7Q").waitFor();
		expect((await client.call("GET", "/me/provider", { token: me.token })).body).toMatchObject({
			provider: "gemini",
			key_last4: "9x7Q",
		});
		expect(await form.getByLabel("API key").inputValue()).toBe("");
		await section.screenshot({ path: `${SHOTS}account-own-provider.png` });

		await page.reload();
		await current.getByText("key …9x7Q").waitFor();
		expect(await page.content()).not.toContain(key);
		await current.getByRole("button", { name: "Stop using my key" }).click();
		await page.getByText("the server's model answers you again").waitFor();
		expect(await current.count()).toBe(0);
		expect((await client.call("GET", "/me/provider", { token: me.token })).status).toBe(404);
	});

	it("should log out on the server, and fit a phone", async () => {
		const me = await signUp("Bo Lark");
		const page = await pages.loggedIn(me.token, "#/account", { viewport: PHONE, touch: true });
		await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
		expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
		await shot(page, "phone");
		await page.getByRole("button", { name: "Log out" }).first().click();
		await page.getByRole("form", { name: "Log in" }).waitFor();
		await expect.poll(() => status(me.token)).toBe(401);
	});

	it("should delete the account after its password, and say so at the login", async () => {
		const me = await signUp("Cy Fenn");
		const page = await pages.loggedIn(me.token, "#/account");
		await page.getByRole("button", { name: "Delete account…" }).click();
		const dialog = page.getByRole("dialog", { name: "Delete your account?" });
		await dialog.getByLabel("Password").fill("wrong password");
		await dialog.getByRole("button", { name: "Delete my account" }).click();
		await dialog.getByRole("alert").filter({ hasText: "The password is not right" }).waitFor();
		expect(await status(me.token)).toBe(200);

		await dialog.getByLabel("Password").fill(PASSWORD);
		await dialog.getByRole("button", { name: "Delete my account" }).click();
		await page.getByText("Your account and everything in it were deleted.").waitFor();
		expect(await status(me.token)).toBe(401);
		const login = await client.call("POST", "/login", { json: { username: me.username, password: PASSWORD } });
		expect(login.status).toBe(401);
	});
});
