/** Headless Debian Chromium for the browser tests, and the built web client they need. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_PATH } from "./services.js";

/**
 * Flags known to work on these machines: without the background-networking ones Chromium keeps trying Google's
 * hosts, which the closed network refuses.
 */
const CHROMIUM_ARGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
];

export function launchChromium(): Promise<Browser> {
	return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Builds web/dist when it is missing (CI builds it before the tests; a fresh checkout may not have). */
export async function ensureWebBuild(): Promise<void> {
	if (existsSync(fileURLToPath(new URL("../../web/dist/index.html", import.meta.url)))) return;
	await promisify(execFile)("npm", ["run", "build:web"], {
		cwd: fileURLToPath(new URL("../..", import.meta.url)),
		timeout: 120_000,
	});
}
