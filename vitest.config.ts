import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/** The suites past test/unit talk to real servers: PostgreSQL and, for some, Redis, RabbitMQ and local programs. */
function withServers(name: string): TestProjectInlineConfiguration {
	return {
		extends: true,
		test: {
			name,
			include: [`test/${name}/**/*.spec.ts`],
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
		projects: [
			{ extends: true, test: { name: "unit", include: ["test/unit/**/*.spec.ts"] } },
			withServers("integration"),
			withServers("e2e"),
			withServers("chaos"),
		],
	},
});
