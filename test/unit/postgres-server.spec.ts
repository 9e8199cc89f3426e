import { describe, expect, it } from "vitest";
import { parsePostmasterPid, postgresLogLevel } from "../../src/domain/postgres-server.js";
import { failureMessage } from "../../src/domain/failure-message.js";

describe("PostgreSQL server output", () => {
	it.each([
		[
			'2026-12-07 05:57:29.777 GMT [3357] FATAL:  could not create lock file "/tmp/.s.PGSQL.54329.lock": Permission denied',
			"error",
		],
		["2026-12-07 05:57:29.777 GMT [3357] PANIC:  could not write to file", "error"],
		['[STDERR] initdb: error: could not access directory "/root/x/.data/postgres": Permission denied', "error"],
		["postgres: could not access the server configuration file", "error"],
		["2026-12-07 05:57:29.777 GMT [3357] LOG:  database system is ready to accept connections", "debug"],
		// A client's statement error is the client's to handle.
		["2026-12-07 05:57:29.777 GMT [3357] ERROR:  duplicate key value violates unique constraint", "debug"],
		// Ctrl-C in a terminal signals PostgreSQL too: it ends the pool's connections.
		["2026-12-07 06:09:18.057 UTC [30060] FATAL:  terminating connection due to administrator command", "debug"],
	] as const)("should log %j at %s level", (line, level) => {
		expect(postgresLogLevel(line)).toBe(level);
	});

	it("should read the pid, data directory and port of postmaster.pid", () => {
		expect(
			parsePostmasterPid("4242\n/data/postgres\n1796622959\n54329\n\n127.0.0.1\n  2146497        29\nready   \n"),
		).toEqual({
			pid: 4242,
			dataDir: "/data/postgres",
			port: 54329,
		});
		expect(parsePostmasterPid("")).toBeUndefined();
		expect(parsePostmasterPid("garbage\n")).toBeUndefined();
	});
});

describe("failureMessage", () => {
	it.each([
		[new Error("boom"), "boom"],
		["plain text", "plain text"],
		[undefined, "failed without a reason (undefined)"],
		[null, "failed without a reason (null)"],
		[{ message: "from an object" }, "from an object"],
		[{ code: 42 }, '{"code":42}'],
		[7, "7"],
	])("should turn %j into a readable line", (reason, message) => {
		expect(failureMessage(reason)).toBe(message);
	});
});
