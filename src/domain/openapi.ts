/**
 * The REST API as an OpenAPI 3.1 document, built from what the gateway already declares: its alias table (method,
 * path, target action, whether the route authenticates) and each action's fastest-validator `params`. Nothing here
 * knows a particular route; services/api.service.ts feeds it the live route settings and the broker's action list.
 */
import type { HttpErrorResponse } from "./http-errors.js";

/** A fastest-validator rule: shorthand (`"string|min:3"`), object form, or a list of alternatives. */
export type ValidatorRule = string | ValidatorRuleObject | ValidatorRule[];
export interface ValidatorRuleObject {
	type?: string;
	[key: string]: unknown;
}
/** An action's `params`: one rule per field, plus `$$` options such as `$$strict`. */
export type ValidatorSchema = Record<string, unknown>;

/** The JSON Schema 2020-12 keywords this module writes. */
export interface JsonSchema {
	$ref?: string;
	type?: string | string[];
	format?: string;
	description?: string;
	default?: unknown;
	enum?: unknown[];
	const?: unknown;
	pattern?: string;
	minLength?: number;
	maxLength?: number;
	minimum?: number;
	maximum?: number;
	items?: JsonSchema;
	minItems?: number;
	maxItems?: number;
	uniqueItems?: boolean;
	properties?: Record<string, JsonSchema>;
	required?: string[];
	additionalProperties?: boolean;
	anyOf?: JsonSchema[];
}

/** One alias of the gateway, as buildOpenApi documents it. */
export interface ApiRoute {
	/** Upper case, e.g. `GET`. */
	method: string;
	/** moleculer-web form: `/characters/id/:id`. */
	path: string;
	action: string;
	/** The route runs the gateway's `authenticate` (a Bearer token). */
	auth: boolean;
	/** Undefined while the action is not registered (its service has not joined yet). */
	params?: ValidatorSchema;
	summary?: string;
	/** The route's onBeforeCall or alias middleware applies a rate limit (429). */
	rateLimited?: boolean;
	/** The action sheds load when its queue is full: 503 BUSY with Retry-After. */
	busy?: boolean;
	/** Admins only (`admin: true`): 403 FORBIDDEN for anyone else (middlewares/admin-only.middleware.ts). */
	admin?: boolean;
	/** Media types the route's body parsers accept; JSON when not given. */
	bodyTypes?: string[];
	/** The body by media type, for an alias middleware that builds the params from it (the params are then not the body). */
	body?: Record<string, JsonSchema>;
}

export interface OpenApiInfo {
	title: string;
	version: string;
	description?: string;
}

interface Reference {
	$ref: string;
}
interface Parameter {
	name: string;
	in: "path" | "query";
	required: boolean;
	schema: JsonSchema;
}
interface Response {
	description: string;
	headers?: Record<string, { description: string; schema: JsonSchema }>;
	content?: Record<string, { schema: JsonSchema }>;
}
interface RequestBody {
	required: boolean;
	content: Record<string, { schema: JsonSchema }>;
}
export interface Operation {
	operationId: string;
	summary?: string;
	tags: string[];
	"x-moleculer-action": string;
	parameters?: Parameter[];
	requestBody?: RequestBody;
	responses: Record<string, Response | Reference>;
	security?: Record<string, string[]>[];
}
export interface OpenApiDocument {
	openapi: "3.1.0";
	info: OpenApiInfo;
	externalDocs?: { description: string; url: string };
	servers: { url: string }[];
	tags: { name: string }[];
	paths: Record<string, Record<string, Operation>>;
	components: {
		securitySchemes: Record<string, { type: "http"; scheme: "bearer"; bearerFormat: string; description: string }>;
		schemas: Record<string, JsonSchema>;
		responses: Record<string, Response>;
	};
}

// ---------------------------------------------------------------------------------------------------------------
// fastest-validator -> JSON Schema

/** `rule` as JSON Schema. Constraints JSON Schema cannot state (`trim`, `convert`) are left out. */
export function toJsonSchema(rule: ValidatorRule): JsonSchema {
	const r = normalize(rule);
	const schema = (CONVERTERS[r.type ?? "any"] ?? (() => ({})))(r);
	if (r.default !== undefined) schema.default = r.default;
	if (r.nullable !== true) return schema;
	// An enum would still refuse null whatever the type says.
	return typeof schema.type === "string" && !schema.enum
		? { ...schema, type: [schema.type, "null"] }
		: { anyOf: [schema, { type: "null" }] };
}

/** What the client must send: neither `optional` nor filled in by a `default`. */
export function isRequired(rule: ValidatorRule): boolean {
	const r = normalize(rule);
	return r.optional !== true && r.default === undefined;
}

/** The same reading of a rule as fastest-validator's resolveType and parseShortHand. */
function normalize(rule: ValidatorRule): ValidatorRuleObject {
	if (typeof rule === "string") return parseShorthand(rule);
	if (Array.isArray(rule))
		return { type: "multi", rules: rule, optional: rule.every((r) => normalize(r).optional === true) };
	if (typeof rule.$$type === "string") {
		// `{ $$type: "object|optional", name: "string" }`: the other keys are the object's props.
		const props = Object.fromEntries(Object.entries(rule).filter(([key]) => key !== "$$type"));
		return { ...parseShorthand(rule.$$type), props };
	}
	return rule;
}

function parseShorthand(text: string): ValidatorRuleObject {
	const [type, ...flags] = text.split("|").map((s) => s.trim());
	const rule: ValidatorRuleObject = type.endsWith("[]") ? { type: "array", items: type.slice(0, -2) } : { type };
	for (const flag of flags) {
		const colon = flag.indexOf(":");
		if (colon === -1) {
			if (flag.startsWith("no-")) rule[flag.slice(3)] = false;
			else rule[flag] = true;
		} else {
			const value = flag.slice(colon + 1).trim();
			rule[flag.slice(0, colon).trim()] =
				value === "true" || value === "false" ? value === "true" : Number.isNaN(Number(value)) ? value : Number(value);
		}
	}
	return rule;
}

const CONVERTERS: Record<string, (r: ValidatorRuleObject) => JsonSchema> = {
	any: () => ({}),
	string: (r) => ({
		type: "string",
		...lengths(r, "minLength", "maxLength"),
		...(r.empty === false && typeof r.min !== "number" && typeof r.length !== "number" ? { minLength: 1 } : {}),
		...(Array.isArray(r.enum) ? { enum: r.enum } : {}),
		...patternOf(r),
	}),
	uuid: () => ({ type: "string", format: "uuid" }),
	email: (r) => ({ type: "string", format: "email", ...lengths(r, "minLength", "maxLength") }),
	url: () => ({ type: "string", format: "uri" }),
	// A Date object in-process; over HTTP (with `convert`) an ISO string.
	date: () => ({ type: "string", format: "date-time" }),
	number: (r) => ({
		type: r.integer === true ? "integer" : "number",
		...(typeof r.min === "number" ? { minimum: r.min } : {}),
		...(typeof r.max === "number" ? { maximum: r.max } : {}),
	}),
	boolean: () => ({ type: "boolean" }),
	enum: (r) => ({ enum: Array.isArray(r.values) ? r.values : [] }),
	equal: (r) => ({ const: r.value }),
	array: (r) => ({
		type: "array",
		...(r.items !== undefined ? { items: toJsonSchema(r.items as ValidatorRule) } : {}),
		...lengths(r, "minItems", "maxItems"),
		...(r.unique === true ? { uniqueItems: true } : {}),
	}),
	object: (r) => objectSchema(r),
	multi: (r) => ({ anyOf: (r.rules as ValidatorRule[]).map(toJsonSchema) }),
};

function lengths<K extends keyof JsonSchema>(r: ValidatorRuleObject, minKey: K, maxKey: K): JsonSchema {
	const min = typeof r.length === "number" ? r.length : r.min;
	const max = typeof r.length === "number" ? r.length : r.max;
	return {
		...(typeof min === "number" ? { [minKey]: min } : {}),
		...(typeof max === "number" ? { [maxKey]: max } : {}),
	};
}

/**
 * A RegExp or a string pattern. One with flags is left out: JSON Schema patterns have none, and `/^a$/i` without its
 * flag would claim a narrower rule than the server applies. (A RegExp that crossed the transporter arrives as `{}`.)
 */
function patternOf(r: ValidatorRuleObject): JsonSchema {
	if (r.pattern instanceof RegExp) return r.pattern.flags ? {} : { pattern: r.pattern.source };
	if (typeof r.pattern === "string" && !r.patternFlags) return { pattern: r.pattern };
	return {};
}

function objectSchema(r: ValidatorRuleObject): JsonSchema {
	const props = (r.props ?? r.properties) as Record<string, ValidatorRule> | undefined;
	if (!props) return { type: "object" };
	const required = Object.keys(props).filter((name) => isRequired(props[name]));
	return {
		type: "object",
		properties: Object.fromEntries(Object.entries(props).map(([name, rule]) => [name, toJsonSchema(rule)])),
		...(required.length > 0 ? { required } : {}),
		...(r.strict === true ? { additionalProperties: false } : {}),
	};
}

function fieldRules(params: ValidatorSchema | undefined): Record<string, ValidatorRule> {
	return Object.fromEntries(Object.entries(params ?? {}).filter(([name]) => !name.startsWith("$$"))) as Record<
		string,
		ValidatorRule
	>;
}

// ---------------------------------------------------------------------------------------------------------------
// The document

const JSON_TYPE = "application/json";

/** Mirrors HttpErrorResponse["body"]: a field added there without a schema here fails to compile. */
const ERROR_SCHEMA: JsonSchema & { properties: Record<keyof HttpErrorResponse["body"], JsonSchema> } = {
	type: "object",
	required: ["detail", "code"],
	properties: {
		detail: { type: "string", description: "What went wrong, for people." },
		code: {
			type: "string",
			pattern: "^[A-Z0-9_]+$",
			description: "Stable and machine-readable, e.g. USER_EXISTS or CHARACTER_NOT_FOUND.",
		},
		errors: {
			type: "array",
			description: "VALIDATION_ERROR only: one entry per invalid field.",
			items: {
				type: "object",
				required: ["field", "message"],
				properties: { field: { type: "string" }, message: { type: "string" } },
			},
		},
		retry_after: { type: "integer", description: "RATE_LIMITED and BUSY: seconds to wait (the Retry-After header)." },
	},
};

function errorResponse(description: string, headers?: Response["headers"]): Response {
	return {
		description,
		...(headers ? { headers } : {}),
		content: { [JSON_TYPE]: { schema: { $ref: "#/components/schemas/Error" } } },
	};
}

const ERROR_RESPONSES = {
	BadRequest: errorResponse("The body is not valid JSON (INVALID_JSON)."),
	Unauthorized: errorResponse("Missing, invalid or expired Bearer token (UNAUTHORIZED).", {
		"WWW-Authenticate": { description: "Always `Bearer`.", schema: { type: "string" } },
	}),
	Forbidden: errorResponse("Only admins may do that (FORBIDDEN)."),
	NotFound: errorResponse("No such resource, or one the caller may not see."),
	PayloadTooLarge: errorResponse("The body is larger than the route accepts (PAYLOAD_TOO_LARGE)."),
	ValidationError: errorResponse("A parameter breaks its rules (VALIDATION_ERROR, with `errors`)."),
	RateLimited: errorResponse("Too many attempts; wait as long as Retry-After says (RATE_LIMITED).", {
		"Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } },
	}),
	Busy: errorResponse("Too much work queued (password checks); retry after Retry-After seconds (BUSY).", {
		"Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } },
	}),
	Error: errorResponse(
		"Any other error, e.g. 403 FORBIDDEN or NOT_ROOM_OWNER, 409 USER_EXISTS or ROOM_FULL, 410 INVITE_EXPIRED, " +
			"415 UNSUPPORTED_MEDIA_TYPE, 500 INTERNAL_ERROR.",
	),
} satisfies Record<string, Response>;

const SUCCESS_TEXT = { 200: "OK", 201: "Created", 204: "No content" } as const;

export function buildOpenApi(
	routes: readonly ApiRoute[],
	meta: { info: OpenApiInfo; docsUrl?: string },
): OpenApiDocument {
	const doc: OpenApiDocument = {
		openapi: "3.1.0",
		info: meta.info,
		...(meta.docsUrl ? { externalDocs: { description: "Browsable reference", url: meta.docsUrl } } : {}),
		servers: [{ url: "/" }],
		tags: [],
		paths: {},
		components: {
			securitySchemes: {
				bearerAuth: {
					type: "http",
					scheme: "bearer",
					bearerFormat: "JWT",
					description: "A login's access_token (POST /login), or a personal API key (`cameo_sk_…`, POST /me/api-keys).",
				},
			},
			schemas: { Error: ERROR_SCHEMA },
			responses: ERROR_RESPONSES,
		},
	};
	for (const route of routes) {
		const tag = route.action.slice(0, route.action.lastIndexOf("."));
		if (!doc.tags.some((t) => t.name === tag)) doc.tags.push({ name: tag });
		(doc.paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation(
			route,
			tag,
			doc.components.schemas,
		);
	}
	return doc;
}

/** `/characters/id/:id/card.:format` -> `/characters/id/{id}/card.{format}`. */
export function openApiPath(path: string): string {
	return path.replace(/:(\w+)/g, "{$1}");
}

function operation(route: ApiRoute, tag: string, schemas: Record<string, JsonSchema>): Operation {
	const rules = fieldRules(route.params);
	const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
	const fields = Object.fromEntries(Object.entries(rules).filter(([name]) => !pathNames.includes(name)));
	const inQuery = route.method === "GET" || route.method === "HEAD";

	const parameters: Parameter[] = [
		...pathNames.map((name): Parameter => ({
			name,
			in: "path",
			required: true,
			schema: rules[name] ? toJsonSchema(rules[name]) : { type: "string" },
		})),
		...(inQuery
			? Object.entries(fields).map(([name, rule]): Parameter => ({
					name,
					in: "query",
					required: isRequired(rule),
					schema: toJsonSchema(rule),
				}))
			: []),
	];
	const requestBody = inQuery ? undefined : requestBodyOf(route, fields, schemas);

	return {
		operationId: operationId(route),
		...(route.summary ? { summary: route.summary } : {}),
		tags: [tag],
		"x-moleculer-action": route.action,
		...(parameters.length > 0 ? { parameters } : {}),
		...(requestBody ? { requestBody } : {}),
		responses: responsesOf(route, Object.keys(rules).length > 0, requestBody !== undefined),
		...(route.auth ? { security: [{ bearerAuth: [] }] } : {}),
	};
}

function requestBodyOf(
	route: ApiRoute,
	fields: Record<string, ValidatorRule>,
	schemas: Record<string, JsonSchema>,
): RequestBody | undefined {
	if (route.body)
		return {
			required: true,
			content: Object.fromEntries(Object.entries(route.body).map(([type, schema]) => [type, { schema }])),
		};
	if (Object.keys(fields).length === 0) return undefined;
	// `$$strict: true` refuses unknown fields (additionalProperties: false); "remove" only drops them.
	const ref = addSchema(schemas, route.action, objectSchema({ props: fields, strict: route.params?.$$strict }));
	return {
		required: Object.values(fields).some(isRequired),
		content: Object.fromEntries((route.bodyTypes ?? [JSON_TYPE]).map((type) => [type, { schema: ref }])),
	};
}

/** Shared by the aliases of one action (POST /login and /token); another body for the same action gets a suffix. */
function addSchema(schemas: Record<string, JsonSchema>, name: string, schema: JsonSchema): Reference {
	let key = name;
	for (let n = 2; schemas[key] && JSON.stringify(schemas[key]) !== JSON.stringify(schema); n += 1) key = `${name}.${n}`;
	schemas[key] = schema;
	return { $ref: `#/components/schemas/${key}` };
}

function responsesOf(route: ApiRoute, hasParams: boolean, hasBody: boolean): Operation["responses"] {
	const status = successStatus(route);
	const ref = (name: keyof typeof ERROR_RESPONSES): Reference => ({ $ref: `#/components/responses/${name}` });
	return {
		[status]: { description: SUCCESS_TEXT[status] },
		...(hasBody ? { 400: ref("BadRequest"), 413: ref("PayloadTooLarge") } : {}),
		...(route.auth ? { 401: ref("Unauthorized") } : {}),
		...(route.admin ? { 403: ref("Forbidden") } : {}),
		...(route.path.includes(":") ? { 404: ref("NotFound") } : {}),
		...(hasParams ? { 422: ref("ValidationError") } : {}),
		...(route.rateLimited ? { 429: ref("RateLimited") } : {}),
		...(route.busy ? { 503: ref("Busy") } : {}),
		default: ref("Error"),
	};
}

/**
 * The handlers set `ctx.meta.$statusCode`, which only running them reveals; they follow a naming rule instead:
 * deletes and logout answer 204, and actions named register, create*, import*, branch*, add* or report* answer 201.
 */
function successStatus(route: ApiRoute): keyof typeof SUCCESS_TEXT {
	const name = route.action.slice(route.action.lastIndexOf(".") + 1);
	if (route.method === "DELETE" || name === "logout") return 204;
	return /^(register|create|import|branch|add|report)/.test(name) ? 201 : 200;
}

/** `GET /characters/id/:id` -> `getCharactersIdId`: unique per method and path, as OpenAPI requires. */
function operationId(route: ApiRoute): string {
	const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
	return route.method.toLowerCase() + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

// ---------------------------------------------------------------------------------------------------------------
// From the gateway's settings

/** The parts of a moleculer-web route's settings that shape the document. */
export interface GatewayRoute {
	name?: string;
	path?: string;
	authentication?: unknown;
	bodyParsers?: unknown;
	aliases?: Record<string, unknown>;
}
/** An entry of `broker.registry.getActionList()`. */
export interface RegisteredAction {
	name: string;
	action?: { params?: unknown; description?: unknown; admin?: unknown };
}
export interface GatewayDocOptions {
	/** Names of the routes whose onBeforeCall or alias middleware rate-limits (429). */
	rateLimitedRoutes?: readonly string[];
	/** Actions that rate-limit themselves (429). */
	rateLimitedActions?: readonly string[];
	/** Actions that answer 503 BUSY when their queue is full. */
	busyActions?: readonly string[];
	/** Alias middleware -> the body it reads, by media type (it builds the params, so they don't describe the body). */
	bodies?: ReadonlyMap<unknown, Record<string, JsonSchema>>;
}

/**
 * Every `"METHOD /path": target` alias of `routes` whose target names an action (a string, or the string in a
 * middleware array), with that action's params and description from the registry.
 */
export function gatewayRoutes(
	routes: readonly GatewayRoute[],
	actions: readonly RegisteredAction[],
	opts: GatewayDocOptions = {},
): ApiRoute[] {
	const registered = new Map(actions.map((a) => [a.name, a.action]));
	return routes.flatMap((route) =>
		Object.entries(route.aliases ?? {}).flatMap(([key, target]): ApiRoute[] => {
			const [method, aliasPath] = key.trim().split(/\s+/);
			const steps = Array.isArray(target) ? target : [target];
			const action = steps.find((step): step is string => typeof step === "string");
			if (!aliasPath || !action) return [];
			const def = registered.get(action);
			const body = steps.map((step) => opts.bodies?.get(step)).find((b) => b !== undefined);
			return [
				{
					method: method.toUpperCase(),
					path: `${(route.path ?? "/").replace(/\/+$/, "")}/${aliasPath.replace(/^\/+/, "")}`,
					action,
					auth: Boolean(route.authentication),
					params: isPlainObject(def?.params) ? def.params : undefined,
					summary: typeof def?.description === "string" ? def.description : undefined,
					rateLimited:
						(opts.rateLimitedRoutes?.includes(route.name ?? "") ?? false) ||
						(opts.rateLimitedActions?.includes(action) ?? false),
					...(opts.busyActions?.includes(action) ? { busy: true } : {}),
					...(def?.admin === true ? { admin: true } : {}),
					bodyTypes: mediaTypes(route.bodyParsers),
					...(body ? { body } : {}),
				},
			];
		}),
	);
}

/** What moleculer-web's body parsers accept (it parses JSON when a route names none). */
function mediaTypes(parsers: unknown): string[] {
	const p = (parsers == null || parsers === true ? { json: true } : parsers || {}) as Record<string, unknown>;
	const raw = p.raw as { type?: unknown } | undefined;
	return [
		...(p.json ? [JSON_TYPE] : []),
		...(p.urlencoded ? ["application/x-www-form-urlencoded"] : []),
		...(raw ? [typeof raw.type === "string" ? raw.type : "application/octet-stream"] : []),
	];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}
