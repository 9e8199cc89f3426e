// Flat config: typescript-eslint's recommended rules over every TypeScript file.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
	{ ignores: ["dist/", "node_modules/", ".data/", "coverage/", "web/dist/"] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		languageOptions: { globals: { ...globals.node } },
		rules: {
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
		},
	},
	// The web client and the API page's script run in the browser (web/vite.config.ts runs in Node).
	{ files: ["web/src/**", "web/public/**"], languageOptions: { globals: { ...globals.browser } } },
	// The bundle may take from the server's code only modules without imports, so no server module can slip in.
	{
		files: ["web/src/**"],
		rules: {
			"no-restricted-imports": [
				"error",
				{
					patterns: [
						{
							regex: String.raw`(^|/)src/(?!domain/(chat-frames|lorebook|macros|search|uuid)(\.js)?$)`,
							message:
								"web/src may import only src/domain/chat-frames, lorebook, macros, search and uuid, which import nothing.",
						},
					],
				},
			],
		},
	},
);
