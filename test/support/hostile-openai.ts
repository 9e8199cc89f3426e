/**
 * Hostile-input cases for the /v1 OpenAI-compatible API (issue 18; see hostile-cases.ts for the table's rules). Its
 * refusals are in OpenAI's form `{error: {message, type, code}}` (the spec reads `code` there for /v1 paths): huge and
 * countless messages, deep content parts, unknown roles, every field with wrong types, bodies that are no object,
 * another user's private character as the model (by UUID and by slug), and model ids made of SQL, paths and odd
 * unicode. What is well-formed is answered (by the offline model) as a `chat.completion`, never with a 500.
 */
import { slugify } from "../../src/domain/characters.js";
import { MAX_MESSAGES, MAX_TOTAL_CHARS } from "../../src/domain/openai-wire.js";
import { deepArray, json, type Category, type HostileContext, type Json, type RestCase } from "./hostile-cases.js";

const PATH = "/v1/chat/completions";

export function openaiRequests(ctx: HostileContext): RestCase[] {
	const model = ctx.chatCharacterId;
	const hi = [{ role: "user", content: "hi" }];
	const post = (category: Category, name: string, body: unknown, expect: Pick<RestCase, "status" | "code" | "ok">) =>
		({
			category,
			name: `POST ${PATH} ${name}`,
			method: "POST",
			path: PATH,
			body: typeof body === "string" ? body : json(body),
			...expect,
		}) as RestCase;
	const invalid = (code = "invalid_value") => ({ status: [400], code: [code] });
	const answered = {
		status: [],
		ok: {
			status: 200,
			check: (body: Json) => (body?.object === "chat.completion" ? undefined : `not a completion: ${json(body)}`),
		},
	};
	const notFound = { status: [404], code: ["model_not_found"] };
	const privateSlug = slugify(ctx.victimPrivateCharacterName);

	/** Every field with values of the wrong type or out of range. */
	const wrongTypes: [string, unknown[]][] = [
		["model", [7, null, true, ["a"], { id: "a" }, ""]],
		["messages", ["hi", 1, null, { role: "user", content: "hi" }, []]],
		["stream", ["true", 1, {}]],
		["stream_options", ["yes", 1, []]],
		["temperature", ["1", -0.1, 2.5, {}, []]],
		["top_p", [1.5, -1, "0.5"]],
		["max_tokens", [0, -5, 1.5, "10", 1e12]],
		["max_completion_tokens", [0, "x"]],
		["stop", [5, [1], Array.from({ length: 17 }, (_, i) => `s${i}`), [""], ["s".repeat(201)], { a: 1 }]],
		["user", [1, {}, []]],
		["n", [2, 0, "1"]],
		["tools", [[{ type: "function", function: { name: "f" } }]]],
	];

	return [
		// The caller's key.
		{
			...post("forged_jwt", "without a token", { model, messages: hi }, { status: [401], code: ["invalid_api_key"] }),
			auth: "none",
		},
		{
			...post(
				"forged_jwt",
				"with a Basic header",
				{ model, messages: hi },
				{ status: [401], code: ["invalid_api_key"] },
			),
			auth: { header: "Basic YWxpY2U6c2VjcmV0" },
		},
		{
			category: "forged_jwt",
			name: "GET /v1/models without a token",
			method: "GET",
			path: "/v1/models",
			auth: "none",
			status: [401],
			code: ["invalid_api_key"],
		},

		// Another user's private character, however it is named.
		post(
			"other_users",
			"model={victim's private character id}",
			{ model: ctx.victimPrivateCharacterId, messages: hi },
			notFound,
		),
		{
			category: "other_users",
			name: "GET /v1/models/{victim's private character id}",
			method: "GET",
			path: `/v1/models/${ctx.victimPrivateCharacterId}`,
			...notFound,
		},
		{
			category: "other_users",
			name: "GET /v1/models (the victim's private character is not listed)",
			method: "GET",
			path: "/v1/models",
			status: [],
			ok: {
				status: 200,
				check: (body: Json) => {
					if (body?.object !== "list") return `not a list: ${json(body).slice(0, 200)}`;
					const models: { id: string; owned_by: string }[] = body.data ?? [];
					if (models.some((m) => m.id === ctx.victimPrivateCharacterId)) return "lists the victim's private character";
					// The attacker may own a character of that name too (a case imports one): then the slug is theirs.
					const bySlug = models.find((m) => m.id === privateSlug);
					return bySlug && bySlug.owned_by !== "you" ? "lists the victim's private character by slug" : undefined;
				},
			},
		},
		{
			category: "other_users",
			name: "GET /v1/models/{victim's private character slug}",
			method: "GET",
			path: `/v1/models/${privateSlug}`,
			...notFound,
			ok: {
				status: 200,
				check: (body: Json) => (body?.owned_by === "you" ? undefined : `the victim's character: ${json(body)}`),
			},
		},

		// cameo's session_id extension: another user's chat, or no chat id at all.
		post(
			"other_users",
			"session_id={victim's chat}",
			{ model, messages: hi, session_id: ctx.victimSessionId },
			{
				status: [404],
				code: ["session_not_found"],
			},
		),
		post(
			"other_users",
			"session_id={own chat}, model={victim's private character}",
			{ model: ctx.victimPrivateCharacterId, messages: hi, session_id: ctx.ownSessionId },
			notFound,
		),
		...["abc", 5, ["x"], { id: ctx.ownSessionId }, "' OR 1=1 --", `${ctx.ownSessionId}\u0000`].map((sessionId) =>
			post(
				"wrong_types",
				`session_id=${json(sessionId).slice(0, 40)}`,
				{ model, messages: hi, session_id: sessionId },
				invalid(),
			),
		),

		// Sizes.
		post(
			"huge_bodies",
			`${MAX_MESSAGES + 1} messages`,
			{ model, messages: Array.from({ length: MAX_MESSAGES + 1 }, () => hi[0]) },
			invalid("too_many_messages"),
		),
		post(
			"huge_bodies",
			"10,000 tiny messages",
			{
				model,
				messages: Array.from({ length: 10_000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "a" })),
			},
			invalid("too_many_messages"),
		),
		post(
			"huge_bodies",
			`a message of ${MAX_TOTAL_CHARS + 1} characters`,
			{ model, messages: [{ role: "user", content: "a".repeat(MAX_TOTAL_CHARS + 1) }] },
			{ status: [413], code: ["request_too_large"] },
		),
		post(
			"huge_bodies",
			"a body over 1 MB",
			{ model, messages: hi, pad: "p".repeat(1_100_000) },
			{
				status: [413],
				code: ["request_too_large"],
			},
		),
		post(
			"huge_bodies",
			"101 content parts",
			{
				model,
				messages: [{ role: "user", content: Array.from({ length: 101 }, () => ({ type: "text", text: "a" })) }],
			},
			invalid("too_many_parts"),
		),
		post(
			"huge_bodies",
			"a 1,000-message conversation",
			{
				model,
				messages: Array.from({ length: 1000 }, (_, i) => ({
					role: i % 2 ? "assistant" : "user",
					content: `line ${i}`,
				})),
			},
			answered,
		),

		// Nesting.
		post(
			"deep_nesting",
			"content nested 1,000 arrays deep",
			`{"model":"${model}","messages":[{"role":"user","content":${deepArray(1000)}}]}`,
			invalid("too_deep"),
		),
		post(
			"deep_nesting",
			"content parts nested 40 deep",
			`{"model":"${model}","messages":[{"role":"user","content":[${deepArray(40, { type: "text", text: "x" })}]}]}`,
			invalid("too_deep"),
		),
		post(
			"deep_nesting",
			"content parts one level too deep",
			{ model, messages: [{ role: "user", content: [[{ type: "text", text: "x" }]] }] },
			invalid("invalid_type"),
		),
		post(
			"deep_nesting",
			"user as a deep object",
			`{"model":"${model}","messages":${json(hi)},"user":${'{"a":'.repeat(500)}1${"}".repeat(500)}}`,
			invalid("too_deep"),
		),

		// Roles and content.
		...["tool", "function", "wizard", "", "SYSTEM", "__proto__"].map((role) =>
			post(
				"wrong_types",
				`role=${json(role)}`,
				{ model, messages: [{ role, content: "x" }] },
				invalid("unsupported_role"),
			),
		),
		post(
			"wrong_types",
			"a message without a role",
			{ model, messages: [{ content: "x" }] },
			invalid("unsupported_role"),
		),
		post(
			"wrong_types",
			"an image part",
			{
				model,
				messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://127.0.0.1/" } }] }],
			},
			invalid("unsupported_content"),
		),
		post(
			"wrong_types",
			"an audio part",
			{
				model,
				messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }] }],
			},
			invalid("unsupported_content"),
		),
		post(
			"wrong_types",
			"a part without text",
			{ model, messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] },
			invalid("invalid_type"),
		),
		post(
			"wrong_types",
			"content as a number",
			{ model, messages: [{ role: "user", content: 42 }] },
			invalid("invalid_type"),
		),
		post(
			"wrong_types",
			"a user's content null",
			{ model, messages: [{ role: "user", content: null }] },
			invalid("invalid_type"),
		),
		post("wrong_types", "a message that is a string", { model, messages: ["hi"] }, invalid("invalid_type")),
		...wrongTypes.flatMap(([field, values]) =>
			values.map((value) =>
				post("wrong_types", `${field}=${json(value)}`, { model, messages: hi, [field]: value }, { status: [400] }),
			),
		),

		// Bodies that are no request.
		...["[]", '"hello"', "123", "null", "true", json([{ model, messages: hi }])].map((body) =>
			post("malformed_json", `body ${body.slice(0, 30)}`, body, invalid("invalid_type")),
		),
		post("malformed_json", "truncated JSON", `{"model": "${model}", "messages": [`, invalid("invalid_json")),
		{
			...post(
				"malformed_json",
				"as text/plain",
				{ model, messages: hi },
				{ status: [400], code: ["invalid_type", "invalid_value"] },
			),
			type: "text/plain",
		},

		// Model ids that are SQL, paths or odd text.
		...[
			"' OR 1=1 --",
			"../../etc/passwd",
			"%",
			"_",
			"東京",
			"\u202Emodel",
			"a".repeat(200),
			ctx.victimPrivateCharacterId.toUpperCase(),
		].map((name) => post("injection", `model=${json(name.slice(0, 40))}`, { model: name, messages: hi }, notFound)),
		post("null_bytes", "model with a NUL", { model: "aria\u0000", messages: hi }, notFound),
		post(
			"null_bytes",
			"content with a NUL (a prompt, never stored)",
			{ model, messages: [{ role: "user", content: "a\u0000b" }] },
			answered,
		),
		post(
			"unicode",
			"content of emoji and RTL marks",
			{ model, messages: [{ role: "user", content: "😀\u202Eabc" }] },
			answered,
		),
		post(
			"unicode",
			"lone surrogate in content",
			`{"model":"${model}","messages":[{"role":"user","content":"\\ud800"}]}`,
			answered,
		),
	];
}
