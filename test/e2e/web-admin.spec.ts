/**
 * The web client's admin console (issue 17) in headless Chromium against the whole system in one process, with
 * REGISTRATION=invite: an admin finds a user, disables them (their token is refused), sets their message limit, makes
 * a password-reset code that works, reads the live figures and makes an invite, with which a new person signs up;
 * a user reports a character from its page and the admin hides it from the reports queue and resolves the report (the
 * reporter can no longer see it); a user who is no admin has no link to the console and is told it is for admins; and
 * with REGISTRATION=closed the sign-up form says so.
 * Screenshots go to test/e2e/screenshots/admin-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceBroker } from "moleculer";
import type { Browser, Page } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages } from "../support/web-pages.js";
import { restClient } from "../support/rest-client.js";

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const PASSWORD = "a password for the admin test";
const CHIEF = uniqueName("chief");

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let base = "";
/** An invite for the test's own accounts (REGISTRATION=invite). */
let invite = "";
const client = restClient(() => base);

beforeAll(async () => {
	await Promise.all([ensureWebBuild(), mkdir(SHOTS, { recursive: true })]);
	broker = createBroker(
		testConfig({ NAMESPACE: uniqueName("webadmin"), REGISTRATION: "invite", ADMIN_USERNAMES: CHIEF }),
		{ logger: false },
	);
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	base = gatewayOrigin(broker);
	pages = new WebPages(browser, base);
	const operator = { user: { id: "00000000-0000-0000-0000-000000000000", username: "test_operator", role: "admin" } };
	invite = (await broker.call<{ code: string }, object>("admin.createInvite", { uses: 50 }, { meta: operator })).code;
});

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

async function signUp(name: string, username = uniqueName("web")): Promise<{ username: string; token: string }> {
	const made = await client.call("POST", "/register", { json: { username, name, password: PASSWORD, invite } });
	expect(made.status).toBe(201);
	const login = await client.call("POST", "/login", { json: { username, password: PASSWORD } });
	expect(login.status).toBe(200);
	return { username, token: login.body.access_token as string };
}

const status = async (token: string) => (await client.call("GET", "/me", { token })).status;

async function shot(page: Page, name: string): Promise<void> {
	await page.evaluate("document.activeElement instanceof HTMLElement && document.activeElement.blur()");
	await page.evaluate("document.querySelector('.toasts')?.style.setProperty('visibility', 'hidden')");
	await page.screenshot({ path: `${SHOTS}admin-${name}.png`, fullPage: true });
	await page.evaluate("document.querySelector('.toasts')?.style.removeProperty('visibility')");
}

describe("web client admin console", () => {
	let chief: { username: string; token: string };

	beforeAll(async () => {
		chief = await signUp("Chief Admin", CHIEF);
	});

	it("should list users, disable one, set a limit, make a reset code, show live figures and make an invite", async () => {
		const target = await signUp("Vic Target");
		const page = await pages.loggedIn(chief.token, "#/");
		await page.getByRole("link", { name: "Admin" }).click();
		await page.getByRole("heading", { name: "Admin", exact: true }).waitFor();

		await page.getByLabel("Search users").fill(target.username);
		const row = page.getByRole("row").filter({ hasText: target.username });
		await row.getByText("Vic Target").waitFor();
		// The header and the one user the search finds.
		await expect.poll(() => page.getByRole("table", { name: "Users" }).getByRole("row").count()).toBe(2);

		await row.getByRole("button", { name: `Disable ${target.username}` }).click();
		await page.getByText(`${target.username} disabled`).waitFor();
		await row.getByText("disabled", { exact: true }).waitFor();
		expect(await status(target.token)).toBe(401);

		await row.getByRole("button", { name: `Limits of ${target.username}` }).click();
		const limits = page.getByRole("dialog", { name: `Limits of ${target.username}` });
		await limits.getByLabel("Messages per minute").fill("3");
		await limits.getByRole("button", { name: "Save limits" }).click();
		await page.getByText(`Limits of ${target.username} saved`).waitFor();
		await row.getByText("3 msgs/min").waitFor();
		await row.getByText("own", { exact: true }).waitFor();
		const listed = await client.call("GET", `/admin/users?q=${target.username}`, { token: chief.token });
		expect(listed.body[0]).toMatchObject({ disabled: true, limit_overrides: { messages_per_minute: 3 } });
		await shot(page, "users");

		await row.getByRole("button", { name: `Enable ${target.username}` }).click();
		await page.getByText(`${target.username} enabled`).waitFor();
		await row.getByRole("button", { name: `Password-reset code for ${target.username}` }).click();
		const code = await page
			.getByRole("dialog", { name: `Password reset for ${target.username}` })
			.getByLabel("Reset code")
			.inputValue();
		const reset = await client.call("POST", "/password-reset", {
			json: { username: target.username, code, password: "a brand new password" },
		});
		expect(reset.status).toBe(204);
		await page.keyboard.press("Escape");

		await page.getByRole("tab", { name: "Live figures" }).click();
		await page.getByRole("definition").filter({ hasText: "not available" }).waitFor();
		await page.getByText("Replies per minute").waitFor();

		await page.getByRole("tab", { name: "Invites" }).click();
		await page.getByText("Invite only: new accounts need one of these codes.").waitFor();
		await page.getByLabel("Accounts it makes").fill("2");
		await page.getByLabel("Expires in").selectOption({ label: "1 day" });
		await page.getByRole("button", { name: "Create invite" }).click();
		const made = await page.getByLabel("New invite code").inputValue();
		await page
			.getByRole("table", { name: "Invites" })
			.getByRole("row")
			.filter({ hasText: made })
			.getByText("0 of 2")
			.waitFor();
		await shot(page, "invites");

		// Someone signs up with it.
		const newcomer = uniqueName("new");
		const signup = await pages.open();
		await signup.goto(`${base}/#/login`);
		await signup.getByRole("tab", { name: "Sign up" }).click();
		await signup.getByLabel("Username").fill(newcomer);
		await signup.getByLabel("Password").fill(PASSWORD);
		await signup.getByLabel("Invite code").fill(made);
		await signup.getByRole("button", { name: "Create account" }).click();
		await signup.getByRole("button", { name: "Log out" }).waitFor();
		const invites = await client.call("GET", "/admin/invites", { token: chief.token });
		expect(invites.body.find((i: { code: string }) => i.code === made)).toMatchObject({ uses: 2, used: 1 });
	});

	it("should take a user's report of a character to the admins, who hide it and resolve the report", async () => {
		const owner = await signUp("Ola Owner");
		const name = `Shady dealer ${uniqueName("c")}`;
		const character = await client.call("POST", "/characters", {
			token: owner.token,
			json: { name, system_prompt: "You sell things.", description: "Sells things." },
		});
		expect(character.status).toBe(201);

		const reporter = await signUp("Rae Porter");
		const page = await pages.loggedIn(reporter.token, "#/");
		// Searched by name: the gallery shows the first 100 by name, and the run's other suites make many characters.
		await page.getByLabel("Search characters by name").fill(name);
		await page.getByRole("button", { name: `More about ${name}` }).click();
		await page.getByRole("button", { name: "Report…" }).click();
		const form = page.getByRole("form", { name: `Report ${name}` });
		await form.getByLabel("Reason").fill("It asks for card numbers.");
		await form.getByRole("button", { name: "Send report" }).click();
		await page.getByText(`Reported ${name} to the admins`).waitFor();

		const admin = await pages.loggedIn(chief.token, "#/admin");
		await admin.getByRole("tab", { name: "Reports" }).click();
		const item = admin.getByRole("listitem", { name: `Report on ${name}` });
		await item.getByText("It asks for card numbers.").waitFor();
		await item.getByText(`Reported by ${reporter.username}`).waitFor();
		await item.getByText(`by ${owner.username}`).waitFor();
		await shot(admin, "reports");
		await item.getByRole("button", { name: "Hide" }).click();
		await admin.getByText(`${name} hidden`).waitFor();
		await item.getByText("Hidden", { exact: true }).waitFor();
		expect((await client.call("GET", `/characters/id/${character.body.id}`, { token: reporter.token })).status).toBe(
			404,
		);

		await item.getByLabel("Resolution note").fill("Hidden: a scam.");
		await item.getByRole("button", { name: "Resolve" }).click();
		await admin.getByText("Report resolved").waitFor();
		await item.waitFor({ state: "detached" });
		const reports = await client.call("GET", `/admin/reports?character_id=${character.body.id}`, {
			token: chief.token,
		});
		expect(reports.body).toMatchObject([{ resolution: "Hidden: a scam.", resolved_by: chief.username }]);
	});

	it("should give a user who is no admin no link to the console, and say it is for admins", async () => {
		const user = await signUp("Una User");
		const page = await pages.loggedIn(user.token, "#/account");
		await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
		expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0);
		await page.goto(`${base}/#/admin`);
		await page.getByRole("heading", { name: "Admins only" }).waitFor();
		expect(await page.getByRole("table").count()).toBe(0);
	});
});

describe("signing up when registration is closed", () => {
	let closed: ServiceBroker;

	beforeAll(async () => {
		closed = createBroker(testConfig({ NAMESPACE: uniqueName("closed"), REGISTRATION: "closed" }), { logger: false });
		await closed.start();
	});

	afterAll(() => closed?.stop());

	it("should say registration is closed instead of offering the form", async () => {
		const page = await pages.open();
		await page.goto(`${gatewayOrigin(closed)}/#/login`);
		await page.getByRole("button", { name: "Log in", exact: true }).waitFor();
		await page.getByRole("tab", { name: "Sign up" }).click();
		await page.getByText("Registration is closed on this site").waitFor();
		expect(await page.getByRole("button", { name: "Create account" }).count()).toBe(0);
		expect(await page.getByLabel("Invite code").count()).toBe(0);
	});
});
