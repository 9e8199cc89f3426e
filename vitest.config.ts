import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		include: ["test/**/*.spec.ts"],
		globalSetup: ["test/support/global-setup.ts"],
		pool: "forks",
		testTimeout: 30_000,
		hookTimeout: 60_000,
		// Each file gets its own broker; files share the run's database (see global-setup.ts).
		fileParallelism: true,
	},
});
