/**
 * The /v1 routes in the OpenAPI document (issue 18). The generic builder (openapi.ts) describes a route by its action's
 * params and `{detail, code}` errors; /v1 takes OpenAI's wire body, which the route turns into those params, answers
 * JSON or server-sent events and errs in OpenAI's form: its operations are written here, over the generated ones
 * (a copy: the gateway caches the generated document).
 */
import type { JsonSchema, OpenApiDocument, Operation } from "./openapi.js";
import {
	MAX_CONTENT_PARTS,
	MAX_MESSAGES,
	MAX_MODEL_CHARS,
	MAX_STOP_CHARS,
	MAX_STOP_SEQUENCES,
	MAX_TOTAL_CHARS,
} from "./openai-wire.js";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const SCHEMAS: Record<string, JsonSchema> = {
	OpenAIError: {
		type: "object",
		required: ["error"],
		properties: {
			error: {
				type: "object",
				required: ["message", "type", "param", "code"],
				properties: {
					message: { type: "string" },
					type: {
						type: "string",
						description: "invalid_request_error, rate_limit_error, insufficient_quota or server_error",
					},
					param: { type: ["string", "null"], description: "The field at fault, e.g. `messages[2].content`" },
					code: {
						type: ["string", "null"],
						description:
							"e.g. invalid_api_key, model_not_found, session_not_found, unsupported_role, unsupported_content, " +
							"too_many_messages, request_too_large, rate_limit_exceeded, token_quota_exceeded, provider_unavailable",
					},
				},
			},
		},
	},
	OpenAIModel: {
		type: "object",
		required: ["id", "object", "created", "owned_by"],
		properties: {
			id: { type: "string", description: "The character's slug, or its UUID when the slug names another" },
			object: { const: "model" },
			created: { type: "integer", description: "When the character was created (Unix seconds)" },
			owned_by: { type: "string", description: "`you` for your own characters, else the card's creator or cameo" },
		},
	},
	OpenAIModelList: {
		type: "object",
		required: ["object", "data"],
		properties: { object: { const: "list" }, data: { type: "array", items: ref("OpenAIModel") } },
	},
	ChatCompletionRequest: {
		type: "object",
		required: ["model", "messages"],
		description:
			"Other OpenAI fields are ignored; tools and n > 1 are refused. `system` and `developer` messages are " +
			"appended to the character's own system prompt; `user` and `assistant` messages are the conversation.",
		properties: {
			model: {
				type: "string",
				minLength: 1,
				maxLength: MAX_MODEL_CHARS,
				description: "A character: an id from GET /v1/models, or its UUID",
			},
			messages: {
				type: "array",
				minItems: 1,
				maxItems: MAX_MESSAGES,
				description: `At most ${MAX_TOTAL_CHARS} characters of content in all (413 beyond)`,
				items: {
					type: "object",
					required: ["role", "content"],
					properties: {
						role: { enum: ["system", "developer", "user", "assistant"] },
						content: {
							anyOf: [
								{ type: "string" },
								{
									type: "array",
									maxItems: MAX_CONTENT_PARTS,
									items: {
										type: "object",
										required: ["type", "text"],
										properties: { type: { const: "text" }, text: { type: "string" } },
									},
								},
								{ type: "null", description: "An assistant's only" },
							],
						},
					},
				},
			},
			stream: { type: ["boolean", "null"] },
			stream_options: {
				type: ["object", "null"],
				properties: { include_usage: { type: ["boolean", "null"] } },
			},
			temperature: {
				type: ["number", "null"],
				minimum: 0,
				maximum: 2,
				description: "Clamped to the operator's LLM_MAX_TEMPERATURE",
			},
			top_p: { type: ["number", "null"], minimum: 0, maximum: 1 },
			max_tokens: {
				type: ["integer", "null"],
				minimum: 1,
				description: "Clamped to the operator's LLM_MAX_OUTPUT_TOKENS_LIMIT",
			},
			max_completion_tokens: { type: ["integer", "null"], minimum: 1, description: "Wins over max_tokens" },
			stop: {
				anyOf: [
					{ type: "string", minLength: 1, maxLength: MAX_STOP_CHARS },
					{
						type: "array",
						maxItems: MAX_STOP_SEQUENCES,
						items: { type: "string", minLength: 1, maxLength: MAX_STOP_CHARS },
					},
					{ type: "null" },
				],
			},
			user: { type: ["string", "null"] },
			session_id: {
				type: ["string", "null"],
				format: "uuid",
				description:
					"cameo's extension: continue this chat of yours instead. The last message (the user's) is stored there " +
					"and answered by the chat as if sent from the chat page; the answer is the stored reply, in one piece.",
			},
		},
	},
	ChatCompletion: {
		type: "object",
		required: ["id", "object", "created", "model", "choices", "usage"],
		properties: {
			id: { type: "string" },
			object: { const: "chat.completion" },
			created: { type: "integer" },
			model: { type: "string" },
			choices: { type: "array" },
			usage: {
				type: "object",
				properties: {
					prompt_tokens: { type: "integer" },
					completion_tokens: { type: "integer" },
					total_tokens: { type: "integer" },
				},
			},
		},
	},
};

const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const failure = (description: string) => ({ description, content: json(ref("OpenAIError")) });
const retryAfter = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };

const COMMON = {
	401: failure("A missing or bad key (invalid_api_key)"),
	default: failure("An error in OpenAI's form"),
};

/** The document with the /v1 operations over the generated ones (kept: their ids, tags, action names, security). */
export function withOpenAiOperations(doc: OpenApiDocument): OpenApiDocument {
	const paths = { ...doc.paths };
	const replace = (path: string, method: string, fields: Partial<Operation>) => {
		const generated = paths[path]?.[method];
		if (generated) paths[path] = { ...paths[path], [method]: { ...generated, ...fields } };
	};
	replace("/v1/models", "get", {
		summary: "The characters you can chat with, as OpenAI models",
		responses: { 200: { description: "OK", content: json(ref("OpenAIModelList")) }, ...COMMON },
	});
	replace("/v1/models/{model}", "get", {
		summary: "One character as an OpenAI model",
		parameters: [{ name: "model", in: "path", required: true, schema: { type: "string" } }],
		responses: {
			200: { description: "OK", content: json(ref("OpenAIModel")) },
			404: failure("No character you can see goes by this id (model_not_found)"),
			...COMMON,
		},
	});
	replace("/v1/chat/completions", "post", {
		summary:
			"Chat with a character through OpenAI's Chat Completions API (stateless: nothing is stored). " +
			"`stream: true` answers server-sent `chat.completion.chunk` events ending with `data: [DONE]`.",
		requestBody: { required: true, content: json(ref("ChatCompletionRequest")) },
		responses: {
			200: {
				description: "A chat.completion, or its chunks as server-sent events",
				content: {
					...json(ref("ChatCompletion")),
					"text/event-stream": {
						schema: { type: "string", description: "`data: {chunk}` events, then `data: [DONE]`" },
					},
				},
			},
			400: failure("A malformed request, the field named in `param`"),
			404: failure("No character you can see goes by this model id (model_not_found)"),
			413: failure("Too large a body or too many characters (request_too_large)"),
			429: { ...failure("Your message limit or daily token quota"), headers: retryAfter },
			503: failure("The model's provider could not answer (provider_unavailable)"),
			...COMMON,
		},
	});
	return { ...doc, paths, components: { ...doc.components, schemas: { ...doc.components.schemas, ...SCHEMAS } } };
}
