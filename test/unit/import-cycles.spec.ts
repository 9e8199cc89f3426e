/**
 * The server's import graph (src/, services/, mixins/, models/), read by dpdm as TypeScript sees it (type-only and
 * dynamic imports count): no import cycle but the character-card pair (characters.ts reads the card's extensions,
 * character-card.ts the character's type), and domain code never imports adapters, services, mixins or models.
 */
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { parseCircular, parseDependencyTree, type Dependency, type DependencyTree } from "dpdm";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCES = ["src/**/*.ts", "services/**/*.ts", "mixins/**/*.ts", "models/**/*.ts"];
const ALLOWED_CYCLES = [["src/domain/characters.ts", "src/domain/character-card.ts"]];
/** What src/domain/ may not import: the code that talks to the outside world. */
const NOT_DOMAIN = /^(src\/adapters|src\/repl|services|mixins|models)\//;

/** The same cycle, whichever file dpdm starts it from. */
const cycleKey = (cycle: string[]) => [...cycle].sort().join(" -> ");

/** The cycles of `tree` that are not allowed, each as "a.ts -> b.ts -> a.ts". */
function forbiddenCycles(tree: DependencyTree): string[] {
	const allowed = new Set(ALLOWED_CYCLES.map(cycleKey));
	return parseCircular(tree)
		.filter((cycle) => !allowed.has(cycleKey(cycle)))
		.map((cycle) => [...cycle, cycle[0]].join(" -> "));
}

const dependency = (issuer: string, id: string) => ({ issuer, request: id, kind: "StaticImport", id }) as Dependency;

describe("import graph", () => {
	const tree = parseDependencyTree(SOURCES, { cwd: ROOT, tsconfig: `${ROOT}tsconfig.json`, transform: false });

	it("should have no import cycle but the character-card pair", async () => {
		expect(forbiddenCycles(await tree)).toEqual([]);
	});

	it("should keep src/domain free of adapters, services, mixins and models", async () => {
		const imports = Object.entries(await tree)
			.filter(([file]) => file.startsWith("src/domain/"))
			.flatMap(([file, deps]) =>
				(deps ?? []).filter((d) => d.id && NOT_DOMAIN.test(d.id)).map((d) => `${file} -> ${d.id}`),
			);
		expect(imports).toEqual([]);
	});

	it("should find the cycles it guards against", () => {
		const cyclic: DependencyTree = {
			"src/a.ts": [dependency("src/a.ts", "src/b.ts")],
			"src/b.ts": [dependency("src/b.ts", "src/a.ts")],
			"src/domain/characters.ts": [dependency("src/domain/characters.ts", "src/domain/character-card.ts")],
			"src/domain/character-card.ts": [dependency("src/domain/character-card.ts", "src/domain/characters.ts")],
		};
		expect(forbiddenCycles(cyclic)).toEqual(["src/a.ts -> src/b.ts -> src/a.ts"]);
	});
});
