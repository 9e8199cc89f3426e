// The browser client: Preact compiled by esbuild's own JSX transform, so vite and preact are the only dependencies.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
	root,
	base: "/",
	build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
	esbuild: { jsx: "automatic", jsxImportSource: "preact" },
});
