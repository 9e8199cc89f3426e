/**
 * Hostile-input cases for issue 17's per-chat presets (see hostile-cases.ts for the table's rules): the preset fields
 * of PATCH /sessions/{id} (`model`, `temperature`, `top_p`, `max_output_tokens`). The suite's server is offline with
 * the default bounds (LLM_MAX_TEMPERATURE 1.5, LLM_MAX_OUTPUT_TOKENS_LIMIT 2048) and no LLM_ALLOWED_MODELS, so the
 * only model a preset may name is "offline".
 */
import {
	TOO_LARGE,
	UNAUTHORIZED,
	VALIDATION,
	json,
	type Category,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

const NOT_ALLOWED = { status: [422], code: ["MODEL_NOT_ALLOWED"] };

/**
 * Two chats of the attacker's own for the cases a preset is accepted in, one each: the table runs cases at the same
 * time, and two accepted PATCHes of one chat would each read back the other's preset. The one to clear has one set.
 */
export async function preparePresets(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const chat = async () => {
		const made = await asUser(ctx.attacker.token, "POST", "/sessions", { character_ids: [ctx.chatCharacterId] });
		if (made.status !== 201) throw new Error(`preparePresets: POST /sessions ${made.status}`);
		return (made.body as Json).id as string;
	};
	const [presetSet, presetCleared] = [await chat(), await chat()];
	const preset = { model: "offline", temperature: 0.3, top_p: 0.5, max_output_tokens: 64 };
	const set = await asUser(ctx.attacker.token, "PATCH", `/sessions/${presetCleared}`, preset);
	if (set.status !== 200) throw new Error(`preparePresets: PATCH preset ${set.status}`);
	return { presetSet, presetCleared };
}

/** Values of the wrong type for a number field. */
const NOT_NUMBERS: [string, unknown][] = [
	["string", "0.5"],
	["boolean", true],
	["array", [1]],
	["operator object", { $gt: 0 }],
];

export function presetRequests(ctx: HostileContext): RestCase[] {
	const own = `/sessions/${ctx.ownSessionId}`;
	const theirs = `/sessions/${ctx.victimSessionId}`;
	const patch = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field" | "ok">,
		path = own,
	): RestCase => ({
		category,
		name: `PATCH /sessions/{own} preset ${name}`,
		method: "PATCH",
		path,
		body,
		...expect,
	});
	const invalid = (field: string) => ({ ...VALIDATION, field });
	/** An accepted preset: the answer shows exactly `expected` as the chat's preset. */
	const shows = (expected: Record<string, unknown>) => ({
		status: [],
		ok: {
			status: 200,
			check: (body: Json) => {
				const preset = body?.preset as Record<string, unknown> | undefined;
				const wrong = Object.entries(expected).filter(([field, value]) => preset?.[field] !== value);
				return wrong.length === 0 ? undefined : `preset reads ${JSON.stringify(preset)}`;
			},
		},
	});

	return [
		// Someone else's chat: as if it did not exist, and its preset stays as it is.
		...[{ temperature: 0.1 }, { model: null }, { max_output_tokens: 1, top_p: 0 }].map((body): RestCase => ({
			category: "other_users",
			name: `PATCH /sessions/{theirs} preset ${JSON.stringify(body)}`,
			method: "PATCH",
			path: theirs,
			body: json(body),
			status: [404],
			code: ["SESSION_NOT_FOUND"],
		})),
		{
			category: "forged_jwt",
			name: "PATCH /sessions/{own} preset without a token",
			method: "PATCH",
			path: own,
			auth: "none",
			body: json({ temperature: 0.5 }),
			...UNAUTHORIZED,
		},

		// Wrong types.
		...(["temperature", "top_p", "max_output_tokens"] as const).flatMap((field) =>
			NOT_NUMBERS.map(([what, value]) =>
				patch("wrong_types", `${field} ${what}`, json({ [field]: value }), invalid(field)),
			),
		),
		patch("wrong_types", "max_output_tokens fraction", json({ max_output_tokens: 10.5 }), invalid("max_output_tokens")),
		...(
			[
				["number", 42],
				["array", ["offline"]],
				["operator object", { $ne: "" }],
				["empty", ""],
			] as const
		).map(([what, value]) => patch("wrong_types", `model ${what}`, json({ model: value }), invalid("model"))),

		// Beyond the operator's bounds, and numbers JSON parses to infinity.
		patch("wrong_types", "temperature over LLM_MAX_TEMPERATURE", json({ temperature: 1.6 }), invalid("temperature")),
		patch("wrong_types", "temperature negative", json({ temperature: -0.1 }), invalid("temperature")),
		patch("wrong_types", "temperature 1e400", '{"temperature": 1e400}', invalid("temperature")),
		patch("wrong_types", "top_p over 1", json({ top_p: 1.01 }), invalid("top_p")),
		patch("wrong_types", "top_p negative", json({ top_p: -1 }), invalid("top_p")),
		patch(
			"wrong_types",
			"max_output_tokens over the limit",
			json({ max_output_tokens: 2049 }),
			invalid("max_output_tokens"),
		),
		patch("wrong_types", "max_output_tokens 0", json({ max_output_tokens: 0 }), invalid("max_output_tokens")),
		patch("wrong_types", "max_output_tokens 1e400", '{"max_output_tokens": 1e400}', invalid("max_output_tokens")),

		// Models: outside the allow-list (a provider's prefix included), or not a model name at all.
		patch("wrong_types", "model not allowed", json({ model: "gpt-4o" }), NOT_ALLOWED),
		patch("wrong_types", "model with another provider's prefix", json({ model: "openai:offline" }), NOT_ALLOWED),
		patch(
			"other_users",
			"not-allowed model beside an allowed setting",
			json({ model: "o1", temperature: 0.5 }),
			NOT_ALLOWED,
		),
		patch("path_traversal", "model ../../etc/passwd", json({ model: "../../etc/passwd" }), NOT_ALLOWED),
		patch("injection", "model with SQL", json({ model: "offline'; DROP TABLE chat_sessions;--" }), invalid("model")),
		patch(
			"injection",
			"model with a JSON merge",
			json({ model: '", "max_output_tokens": 65536, "x": "' }),
			invalid("model"),
		),
		patch("unicode", "model in full-width letters", json({ model: "ｏｆｆｌｉｎｅ" }), invalid("model")),
		patch("unicode", "model with a zero-width space", json({ model: "off\u200Bline" }), invalid("model")),
		patch("null_bytes", "model with a NUL", json({ model: "offline\u0000" }), invalid("model")),
		patch("huge_bodies", "model of 101 characters", json({ model: "a".repeat(101) }), invalid("model")),
		patch("huge_bodies", "model of 2 MB", json({ model: "a".repeat(2_000_000) }), {
			status: [...TOO_LARGE.status, 422],
			code: [...TOO_LARGE.code!, "VALIDATION_ERROR"],
		}),

		// What is allowed is stored and shown; null clears a setting.
		patch(
			"wrong_types",
			"within the bounds",
			json({ model: "offline", temperature: 1.5, top_p: 0 }),
			shows({ model: "offline", temperature: 1.5, top_p: 0 }),
			`/sessions/${ctx.ids.presetSet}`,
		),
		patch(
			"wrong_types",
			"all cleared with null",
			json({ model: null, temperature: null, top_p: null, max_output_tokens: null }),
			shows({ model: null, temperature: null, top_p: null, max_output_tokens: null }),
			`/sessions/${ctx.ids.presetCleared}`,
		),
	];
}
