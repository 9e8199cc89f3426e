/**
 * Search in the web client, in headless Chromium against the whole system in one process: the top bar's box finds a
 * word in an old message of a long chat, the hit shows its snippet with the word marked (as text: a message's markup
 * never becomes elements), and opening it reads older pages of the chat until that message is there, scrolls to it
 * and marks it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import type { Browser } from "playwright-core";
import type { Sequelize } from "sequelize";
import { createBroker } from "../../src/broker.js";
import type { DbThis } from "../../mixins/db.mixin.js";
import { createTestCharacter, signUp, testConfig, uniqueName, type SignedUp } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages } from "../support/web-pages.js";

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let user: SignedUp;
let characterId = "";
let sessionId = "";
let targetId = "";
/** Found once, in a message 100 lines before the end: two pages back. */
const WORD = `Leuchtturm${uniqueName("").replace(/[^a-z0-9]/g, "")}`;

beforeAll(async () => {
	await ensureWebBuild();
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("websearch") }), { logger: false });
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	pages = new WebPages(browser, gatewayOrigin(broker));
	[user, characterId] = await Promise.all([signUp(broker, "seeker", "Robin Vale"), createTestCharacter(broker)]);
	const { sequelize } = (broker.getLocalService("search") as unknown as DbThis).db as { sequelize: Sequelize };
	const [[session]] = (await sequelize.query(
		`INSERT INTO chat_sessions (username, character_id) VALUES ($1, $2) RETURNING id`,
		{ bind: [user.username, characterId] },
	)) as [{ id: string }[], unknown];
	sessionId = session.id;
	const lines = Array.from({ length: 120 }, (_, i) =>
		i === 20 ? `Am alten ${WORD} <img src=x onerror="document.title='pwned'"> brennt noch Licht` : `Zeile ${i}`,
	);
	const [rows] = (await sequelize.query(
		`INSERT INTO messages (session_id, username, character_id, role, content, created_at)
		 SELECT $1, $2, $3, CASE WHEN n % 2 = 0 THEN 'user' ELSE 'ai' END, line, now() - make_interval(secs => 1000 - n)
		 FROM unnest($4::text[]) WITH ORDINALITY AS l(line, n) ORDER BY n RETURNING id, content`,
		{ bind: [sessionId, user.username, characterId, lines] },
	)) as [{ id: string; content: string }[], unknown];
	targetId = rows.find((r) => r.content.includes(WORD))!.id;
}, 60_000);

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

describe("search in the web client", () => {
	it("should find an old message from the top bar and open the chat scrolled to it", async () => {
		const page = await pages.loggedIn(user.token, "#/");
		await page.getByRole("searchbox", { name: "Search your chats" }).fill(WORD.toLowerCase());
		await page.keyboard.press("Enter");
		const hit = page.locator(".search-hit");
		await expect.poll(() => hit.count()).toBe(1);
		expect(await hit.locator("mark").allTextContents()).toEqual([WORD]);
		expect(await hit.locator(".search-hit-snippet").textContent()).toContain("brennt noch Licht");
		expect(await page.locator(".search-hits img").count()).toBe(0);

		await hit.click();
		const row = page.locator(`[data-id="${targetId}"]`);
		await expect.poll(() => row.getAttribute("class")).toContain("focused");
		// The chat writes its own address once open; the message was read from the one the hit opened.
		expect(page.url()).toContain(`/${sessionId}`);
		expect(await row.isVisible()).toBe(true);
		const box = (await row.boundingBox())!;
		expect(box.y).toBeGreaterThanOrEqual(0);
		expect(box.y + box.height).toBeLessThanOrEqual(page.viewportSize()!.height);
		expect(await page.title()).not.toBe("pwned");
	});
});
