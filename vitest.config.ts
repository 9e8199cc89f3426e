import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/**
 * Files that time the event loop (a stall test fails when another file's work shares its core) or kill nodes and wait
 * on recovery deadlines (chaos): each runs alone, after the rest, in a group of its own.
 */
const ALONE = [
	"test/integration/event-loop-stalls.spec.ts",
	"test/integration/character-cards.spec.ts",
	"test/chaos/chaos.spec.ts",
];

/** The suites past test/unit talk to real servers: PostgreSQL and, for some, Redis, RabbitMQ and local programs. */
function withServers(name: string, include: string[], groupOrder = 0): TestProjectInlineConfiguration {
	return {
		extends: true,
		test: {
			name,
			include,
			exclude: groupOrder === 0 ? ALONE : [],
			sequence: { groupOrder },
			// The run's database (shared by these projects); unit tests need none and run without PostgreSQL.
			globalSetup: ["test/support/global-setup.ts"],
			// A suite whose Redis, RabbitMQ or programs are missing is skipped (failed under CI): see services.ts.
			runner: "test/support/skipping-runner.ts",
		},
	};
}

export default defineConfig({
	test: {
		pool: "forks",
		testTimeout: 30_000,
		hookTimeout: 60_000,
		// Each file gets its own broker; files share the run's database (see global-setup.ts).
		fileParallelism: true,
		// Vitest's default (cores minus one) runs one file at a time on a 2-core machine, though the files spend most
		// of their time waiting on sockets, servers and browsers; two at a time nearly halves the wall time there.
		maxWorkers: 2,
		projects: [
			{ extends: true, test: { name: "unit", include: ["test/unit/**/*.spec.ts"], sequence: { groupOrder: 0 } } },
			...["integration", "e2e"].map((name) => withServers(name, [`test/${name}/**/*.spec.ts`])),
			...ALONE.map((file, i) => withServers(file.replace(/^test\/|\.spec\.ts$/g, ""), [file], i + 1)),
		],
	},
});
