/**
 * Pages of the built web client in headless Chromium, each in its own context (its own sessionStorage, so its own
 * login), under the strictest Content-Security-Policy the client must run with. Errors thrown in a page and policy
 * violations are collected in `errors`: a suite expects it empty at the end.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";

/**
 * No inline script or style, no eval, nothing from elsewhere, sockets only to its own origin, images also as blob:
 * URLs (a character's avatar is fetched with the token). Added to whatever policy the gateway sends (both are enforced).
 */
export const CLIENT_CSP =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface PageOptions {
	viewport?: { width: number; height: number };
	colorScheme?: "light" | "dark";
	/** Browser permissions beyond reaching the local server, e.g. "clipboard-read". */
	permissions?: string[];
	/** A phone: a touch screen and no mouse to hover with. */
	touch?: boolean;
}

export class WebPages {
	readonly errors: string[] = [];
	private contexts: BrowserContext[] = [];

	constructor(
		private readonly browser: Browser,
		private readonly origin: string,
	) {}

	/** A page logged in with `token` (in this tab's sessionStorage), showing `hash`. */
	async loggedIn(token: string, hash: string, opts: PageOptions = {}): Promise<Page> {
		const page = await this.open(opts);
		await page.goto(`${this.origin}/${hash}`);
		await page.evaluate(`sessionStorage.setItem("cameo.token", ${JSON.stringify(token)})`);
		await page.reload();
		return page;
	}

	async open({
		viewport = { width: 1280, height: 800 },
		colorScheme = "light",
		permissions = [],
		touch = false,
	}: PageOptions = {}) {
		// A document the test answers itself (to add the policy) counts as a public page, which Chromium then keeps
		// from reaching 127.0.0.1; the page it stands for is served from there.
		const context = await this.browser.newContext({
			viewport,
			colorScheme,
			permissions: ["local-network-access", ...permissions],
			hasTouch: touch,
			isMobile: touch,
		});
		// Well inside the test timeout, so a step that waits in vain says which one it was.
		context.setDefaultTimeout(10_000);
		this.contexts.push(context);
		await context.route(
			(url) => url.pathname === "/" || url.pathname.endsWith(".html"),
			async (route) => {
				const response = await route.fetch();
				const served = response.headers()["content-security-policy"];
				const policy = served ? `${served}, ${CLIENT_CSP}` : CLIENT_CSP;
				await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": policy } });
			},
		);
		const page = await context.newPage();
		page.on("pageerror", (err) => this.errors.push(err.message));
		page.on("console", (msg) => {
			if (msg.type() === "error" && msg.text().includes("Content Security Policy")) this.errors.push(msg.text());
		});
		return page;
	}

	/** Closes every page opened so far, so no socket outlives its test. */
	async closeAll(): Promise<void> {
		await Promise.all(this.contexts.map((c) => c.close()));
		this.contexts = [];
	}
}
