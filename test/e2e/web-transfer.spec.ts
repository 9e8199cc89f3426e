/**
 * Chat import and export in the web client (issue 16), in headless Chromium against the whole system in one process
 * (embedded mode, real PostgreSQL, the offline model): a SillyTavern chat file imported from a character's page opens
 * as a chat showing its shown swipe, goes on when written to, downloads again as JSONL and JSON from the chat's list,
 * and a malformed file is refused with the line named.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import type { ServiceBroker } from "moleculer";
import type { Browser } from "playwright-core";
import { createBroker } from "../../src/broker.js";
import { signUp, testConfig, uniqueName } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";
import { WebPages } from "../support/web-pages.js";

const CHARACTER = "Maren Holt";
const jsonl = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n");
const CHAT = jsonl(
	{ user_name: "unused", character_name: "unused", create_date: "2026-11-24@20h44m09s", chat_metadata: {} },
	{ name: CHARACTER, is_user: false, send_date: "November 24, 2026 8:44pm", mes: "The ferry leaves at dawn." },
	{ name: "Robin", is_user: true, send_date: 1795552449156, mes: "Is there room for one more?" },
	{
		name: CHARACTER,
		is_user: false,
		send_date: "2026-11-24T20:46:00.000Z",
		mes: "Always, if you can row.",
		swipe_id: 1,
		swipes: ["No.", "Always, if you can row."],
	},
	{ name: "System", is_user: false, is_system: true, mes: "hidden note" },
);

let broker: ServiceBroker;
let browser: Browser;
let pages: WebPages;
let token = "";

beforeAll(async () => {
	await ensureWebBuild();
	broker = createBroker(testConfig({ NAMESPACE: uniqueName("webxfer") }), { logger: false });
	[browser] = await Promise.all([launchChromium(), broker.start()]);
	pages = new WebPages(browser, gatewayOrigin(broker));
	const owner = await signUp(broker, "webxfer", "Owner");
	await broker.call(
		"characters.create",
		{ name: CHARACTER, system_prompt: "You are Maren Holt, ferrywoman.", greeting: "Mind the rope.", is_public: true },
		{ meta: owner.meta },
	);
	token = (await signUp(broker, "webxfer", "Robin Vale")).token;
});

afterEach(() => pages.closeAll());

afterAll(async () => {
	await browser?.close();
	await broker?.stop();
	expect(pages?.errors ?? []).toEqual([]);
});

describe("web client chat import and export", () => {
	it("should import a SillyTavern chat from a character's page, go on with it and export it again", async () => {
		const page = await pages.loggedIn(token, "#/");
		await page.getByRole("button", { name: `More about ${CHARACTER}` }).click();
		const sheet = page.getByRole("dialog", { name: CHARACTER });
		await sheet.getByRole("button", { name: "Import a chat file" }).click();
		await sheet
			.getByLabel(`Chat file to import with ${CHARACTER}`)
			.setInputFiles({ name: "ferry.jsonl", mimeType: "", buffer: Buffer.from(CHAT) });

		// The imported chat opens: its lines, the shown swipe (2 of 2), and no system line.
		await page.waitForURL(/#\/chat\/[0-9a-f-]+\/[0-9a-f-]+$/);
		await page.locator(".row-user", { hasText: "Is there room for one more?" }).waitFor();
		await page.locator(".row-ai", { hasText: "Always, if you can row." }).waitFor();
		await page.locator(".variant-count", { hasText: "2/2" }).waitFor();
		expect(await page.getByText("hidden note").count()).toBe(0);

		// It goes on: a new message gets a reply, and the imported lines were not sent to the model.
		await page.locator(".presence-open").waitFor();
		const input = page.getByLabel(`Message ${CHARACTER}`);
		await input.fill("Then I will row.");
		await input.press("Enter");
		await page.locator(".row-ai:not([data-streaming])", { hasText: 'You said "Then I will row."' }).waitFor();
		expect(await page.locator(".row-ai", { hasText: "You said" }).count()).toBe(1);

		// Export from the chat's list: SillyTavern's lines with the swipes, then cameo's JSON.
		await page.getByRole("button", { name: "Export or import chat" }).first().click();
		const dialog = page.getByRole("dialog", { name: "Export or import a chat" });
		const [jsonlFile] = await Promise.all([
			page.waitForEvent("download"),
			dialog.getByRole("button", { name: "Export JSONL", exact: true }).click(),
		]);
		expect(jsonlFile.suggestedFilename()).toMatch(/^Maren-Holt-\d{4}-\d{2}-\d{2}\.jsonl$/);
		const lines = (await readFile((await jsonlFile.path())!, "utf8")).split("\n").map((l) => JSON.parse(l));
		expect(lines.slice(1, 4).map((l) => [l.name, l.mes])).toEqual([
			[CHARACTER, "The ferry leaves at dawn."],
			["Robin", "Is there room for one more?"],
			[CHARACTER, "Always, if you can row."],
		]);
		expect(lines[3]).toMatchObject({ swipe_id: 1, swipes: ["No.", "Always, if you can row."] });
		expect(lines.at(-1)).toMatchObject({ is_user: false, mes: expect.stringContaining('You said "Then I will row."') });
		const [jsonFile] = await Promise.all([
			page.waitForEvent("download"),
			dialog.getByRole("button", { name: "Export JSON", exact: true }).click(),
		]);
		const cameo = JSON.parse(await readFile((await jsonFile.path())!, "utf8"));
		expect(cameo).toMatchObject({ format: "cameo.chat", version: 1 });

		// A malformed file is refused with the line named, and nothing opens.
		const before = page.url();
		await dialog
			.getByLabel(`Chat file to import with ${CHARACTER}`)
			.setInputFiles({ name: "broken.jsonl", mimeType: "", buffer: Buffer.from('{"mes":"ok"}\n{"mes": nope}') });
		await dialog.getByRole("alert").getByText("Line 2").waitFor();
		expect(page.url()).toBe(before);
	});
});
