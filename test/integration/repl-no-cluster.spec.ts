/**
 * `npm run repl` beside an embedded `npm start`: there is no cluster to join. It must say so within seconds and point
 * to `npm start -- --repl`, instead of retrying the transporter forever without a prompt.
 */
import { afterAll, describe, expect, it } from "vitest";
import { freePort, killStarted, startProcess, within } from "../support/process.js";
import { uniqueName } from "../support/config.js";
import { REDIS_URL } from "../support/services.js";

async function runRepl(env: Record<string, string>) {
	const started = Date.now();
	const repl = startProcess(process.execPath, ["--import", "tsx", "scripts/repl.ts"], env);
	const code = await within(repl.exited, 20_000, "`npm run repl` to give up");
	return { code, ms: Date.now() - started, output: repl.output() };
}

describe("npm run repl without a cluster", () => {
	afterAll(killStarted);

	it("should give up on a transporter nobody listens on, pointing to `npm start -- --repl`", async () => {
		const closed = await freePort();
		const { code, ms, output } = await runRepl({ TRANSPORTER: `redis://:secret@127.0.0.1:${closed}` });
		expect(code).toBe(1);
		expect(output).toContain(`cameo repl: no cluster to join: no transporter answers on redis://127.0.0.1:${closed}`);
		expect(output).toContain("open its REPL with `npm start -- --repl`");
		expect(output).not.toContain("secret");
		expect(ms).toBeLessThan(15_000);
	}, 30_000);

	it("should give up when the transporter is up but no cameo node answers", async () => {
		const namespace = uniqueName("nobody");
		const { code, ms, output } = await runRepl({ TRANSPORTER: REDIS_URL, NAMESPACE: namespace });
		expect(code).toBe(1);
		expect(output).toContain(`no cameo node answered in namespace "${namespace}"`);
		expect(output).toContain("`npm start -- --repl`");
		expect(ms).toBeLessThan(15_000);
	}, 30_000);
});
