import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import {
	buildOpenApi,
	gatewayRoutes,
	isRequired,
	openApiPath,
	toJsonSchema,
	type ApiRoute,
	type OpenApiDocument,
	type ValidatorRule,
} from "../../src/domain/openapi.js";
import { serviceFactories } from "../../services/index.js";

const INFO = { info: { title: "test", version: "1" } };

describe("toJsonSchema", () => {
	it("should read shorthand strings as fastest-validator does", () => {
		expect(toJsonSchema("uuid")).toEqual({ type: "string", format: "uuid" });
		expect(toJsonSchema("string")).toEqual({ type: "string" });
		expect(toJsonSchema("boolean")).toEqual({ type: "boolean" });
		expect(toJsonSchema("string|max:64")).toEqual({ type: "string", maxLength: 64 });
		expect(toJsonSchema("string | min:3 | max:32")).toEqual({ type: "string", minLength: 3, maxLength: 32 });
		expect(toJsonSchema("number|integer|min:0")).toEqual({ type: "integer", minimum: 0 });
		expect(toJsonSchema("number|integer:false")).toEqual({ type: "number" });
		expect(toJsonSchema("string[]")).toEqual({ type: "array", items: { type: "string" } });
		expect(toJsonSchema("email")).toEqual({ type: "string", format: "email" });
		expect(toJsonSchema("url")).toEqual({ type: "string", format: "uri" });
		expect(toJsonSchema("date")).toEqual({ type: "string", format: "date-time" });
	});

	it("should convert string rules: lengths, patterns, enum; trim is not a constraint", () => {
		expect(toJsonSchema({ type: "string", trim: true, min: 1, max: 100 })).toEqual({
			type: "string",
			minLength: 1,
			maxLength: 100,
		});
		expect(toJsonSchema({ type: "string", length: 6 })).toEqual({ type: "string", minLength: 6, maxLength: 6 });
		expect(toJsonSchema({ type: "string", empty: false })).toEqual({ type: "string", minLength: 1 });
		expect(toJsonSchema({ type: "string", enum: ["a", "b"] })).toEqual({ type: "string", enum: ["a", "b"] });
		expect(toJsonSchema({ type: "string", pattern: "^[a-z0-9-]+$" })).toEqual({
			type: "string",
			pattern: "^[a-z0-9-]+$",
		});
		expect(toJsonSchema({ type: "string", pattern: /^[A-Za-z0-9_.-]+$/ })).toEqual({
			type: "string",
			pattern: "^[A-Za-z0-9_.-]+$",
		});
	});

	it("should leave out a pattern it cannot state exactly", () => {
		expect(toJsonSchema({ type: "string", pattern: /^a+$/i })).toEqual({ type: "string" });
		expect(toJsonSchema({ type: "string", pattern: "^a+$", patternFlags: "i" })).toEqual({ type: "string" });
		// A RegExp after JSON (another node's registry).
		expect(toJsonSchema({ type: "string", pattern: {} })).toEqual({ type: "string" });
	});

	it("should convert numbers with integer, bounds and default (convert changes nothing)", () => {
		expect(toJsonSchema({ type: "number", integer: true, min: 1, max: 100, default: 50, convert: true })).toEqual({
			type: "integer",
			minimum: 1,
			maximum: 100,
			default: 50,
		});
		expect(toJsonSchema({ type: "number", min: 0.5 })).toEqual({ type: "number", minimum: 0.5 });
	});

	it("should convert enum, boolean with default, any, equal and arrays", () => {
		expect(toJsonSchema({ type: "enum", values: ["json", "png"] })).toEqual({ enum: ["json", "png"] });
		expect(toJsonSchema({ type: "boolean", default: true })).toEqual({ type: "boolean", default: true });
		expect(toJsonSchema({ type: "any", optional: true })).toEqual({});
		expect(toJsonSchema({ type: "equal", value: 3 })).toEqual({ const: 3 });
		expect(toJsonSchema({ type: "array", max: 100, items: { type: "string", max: 20_000 } })).toEqual({
			type: "array",
			maxItems: 100,
			items: { type: "string", maxLength: 20_000 },
		});
		expect(toJsonSchema({ type: "array", min: 1, unique: true, items: "uuid" })).toEqual({
			type: "array",
			minItems: 1,
			uniqueItems: true,
			items: { type: "string", format: "uuid" },
		});
	});

	it("should convert objects with props, required fields and strict", () => {
		expect(
			toJsonSchema({
				type: "object",
				strict: true,
				props: { a: "string", b: { type: "number", optional: true }, c: "string|default:x" },
			}),
		).toEqual({
			type: "object",
			properties: { a: { type: "string" }, b: { type: "number" }, c: { type: "string", default: "x" } },
			required: ["a"],
			additionalProperties: false,
		});
		expect(toJsonSchema({ type: "object" })).toEqual({ type: "object" });
		expect(toJsonSchema({ $$type: "object|optional", name: "string" })).toEqual({
			type: "object",
			properties: { name: { type: "string" } },
			required: ["name"],
		});
	});

	it("should turn alternatives into anyOf and nullable into a null type", () => {
		expect(toJsonSchema(["string", "number"])).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
		expect(toJsonSchema({ type: "string", nullable: true })).toEqual({ type: ["string", "null"] });
		expect(toJsonSchema({ type: "enum", values: ["a"], nullable: true })).toEqual({
			anyOf: [{ enum: ["a"] }, { type: "null" }],
		});
		expect(toJsonSchema({ type: "string", enum: ["a"], nullable: true })).toEqual({
			anyOf: [{ type: "string", enum: ["a"] }, { type: "null" }],
		});
	});

	it("should describe a type it does not know as anything", () => {
		expect(toJsonSchema({ type: "objectID" })).toEqual({});
	});
});

describe("isRequired", () => {
	it("should require a field unless it is optional or has a default", () => {
		expect(isRequired("uuid")).toBe(true);
		expect(isRequired("string|optional")).toBe(false);
		expect(isRequired({ type: "uuid", optional: true })).toBe(false);
		expect(isRequired({ type: "number", default: 0 })).toBe(false);
		expect(isRequired(["string|optional", "number|optional"])).toBe(false);
		expect(isRequired(["string|optional", "number"])).toBe(true);
	});
});

describe("Test the REST services' own params", () => {
	const config = loadConfig({ JWT_SECRET: "x".repeat(32) });
	const schemas = (["api", "auth", "characters", "sessions", "rooms"] as const).map((name) =>
		serviceFactories[name](config),
	);

	it("should convert every field of every action without losing its type", () => {
		for (const schema of schemas) {
			for (const [name, action] of Object.entries(schema.actions ?? {})) {
				const params = (action as { params?: Record<string, ValidatorRule> }).params ?? {};
				for (const [field, rule] of Object.entries(params)) {
					if (field.startsWith("$$")) continue;
					const converted = toJsonSchema(rule);
					const where = `${schema.name}.${name} ${field}`;
					if ((rule as { type?: string }).type === "any") expect(converted, where).toEqual({});
					else
						expect(
							Object.keys(converted).some((k) => k === "type" || k === "enum"),
							where,
						).toBe(true);
				}
			}
		}
	});
});

describe("openApiPath", () => {
	it("should turn moleculer-web parameters into OpenAPI ones", () => {
		expect(openApiPath("/characters/id/:id")).toBe("/characters/id/{id}");
		expect(openApiPath("/characters/id/:id/card.:format")).toBe("/characters/id/{id}/card.{format}");
		expect(openApiPath("/health")).toBe("/health");
	});
});

describe("buildOpenApi", () => {
	const register: ApiRoute = {
		method: "POST",
		path: "/register",
		action: "auth.register",
		auth: false,
		rateLimited: true,
		bodyTypes: ["application/json", "application/x-www-form-urlencoded"],
		summary: "Create an account",
		params: {
			$$strict: "remove",
			username: { type: "string", min: 3, max: 32, pattern: "^[A-Za-z0-9_.-]+$" },
			password: "string|min:8",
		},
	};
	const getOne: ApiRoute = {
		method: "GET",
		path: "/characters/id/:id",
		action: "characters.get",
		auth: true,
		params: { id: "uuid" },
	};
	const list: ApiRoute = {
		method: "GET",
		path: "/characters",
		action: "characters.list",
		auth: true,
		params: {
			q: { type: "string", optional: true },
			limit: { type: "number", integer: true, default: 50, convert: true },
		},
	};
	const update: ApiRoute = {
		method: "PATCH",
		path: "/characters/id/:id",
		action: "characters.update",
		auth: true,
		bodyTypes: ["application/json"],
		params: { $$strict: true, id: "uuid", name: "string|optional" },
	};
	const remove: ApiRoute = {
		method: "DELETE",
		path: "/characters/id/:id",
		action: "characters.remove",
		auth: true,
		params: { id: "uuid" },
	};
	const health: ApiRoute = { method: "GET", path: "/health", action: "api.health", auth: false, params: {} };
	const doc: OpenApiDocument = buildOpenApi([register, getOne, list, update, remove, health], {
		...INFO,
		docsUrl: "/api-docs.html",
	});

	it("should have the top-level fields, the bearer scheme and the error schema", () => {
		expect(doc).toMatchObject({
			openapi: "3.1.0",
			info: { title: "test", version: "1" },
			externalDocs: { url: "/api-docs.html" },
			components: {
				securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
				schemas: { Error: { type: "object", required: ["detail", "code"] } },
			},
		});
		expect(doc.tags.map((t) => t.name)).toEqual(["auth", "characters", "api"]);
		expect(Object.keys(doc.paths)).toEqual(["/register", "/characters/id/{id}", "/characters", "/health"]);
		expect(Object.keys(doc.paths["/characters/id/{id}"])).toEqual(["get", "patch", "delete"]);
	});

	it("should send a POST's params as a JSON or form body, by reference", () => {
		const op = doc.paths["/register"].post;
		expect(op).toMatchObject({
			operationId: "postRegister",
			summary: "Create an account",
			tags: ["auth"],
			"x-moleculer-action": "auth.register",
		});
		expect(op.parameters).toBeUndefined();
		expect(op.security).toBeUndefined();
		const ref = { $ref: "#/components/schemas/auth.register" };
		expect(op.requestBody).toEqual({
			required: true,
			content: { "application/json": { schema: ref }, "application/x-www-form-urlencoded": { schema: ref } },
		});
		// "remove" drops unknown fields rather than refusing them.
		expect(doc.components.schemas["auth.register"]).toEqual({
			type: "object",
			properties: {
				username: { type: "string", minLength: 3, maxLength: 32, pattern: "^[A-Za-z0-9_.-]+$" },
				password: { type: "string", minLength: 8 },
			},
			required: ["username", "password"],
		});
		expect(Object.keys(op.responses)).toEqual(["201", "400", "413", "422", "429", "default"]);
		expect(op.responses["429"]).toEqual({ $ref: "#/components/responses/RateLimited" });
	});

	it("should declare 503 BUSY with Retry-After for an action that sheds load", () => {
		const busyDoc = buildOpenApi([{ ...register, busy: true }], INFO);
		const op = busyDoc.paths["/register"].post;
		expect(Object.keys(op.responses)).toEqual(["201", "400", "413", "422", "429", "503", "default"]);
		expect(op.responses["503"]).toEqual({ $ref: "#/components/responses/Busy" });
		expect(busyDoc.components.responses.Busy).toMatchObject({
			headers: { "Retry-After": { schema: { type: "integer" } } },
		});
		expect(Object.keys(doc.paths["/register"].post.responses)).not.toContain("503");
	});

	it("should declare path parameters, GET params as query parameters, and bearer security", () => {
		const op = doc.paths["/characters/id/{id}"].get;
		expect(op.parameters).toEqual([
			{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } },
		]);
		expect(op.security).toEqual([{ bearerAuth: [] }]);
		expect(Object.keys(op.responses)).toEqual(["200", "401", "404", "422", "default"]);

		expect(doc.paths["/characters"].get.parameters).toEqual([
			{ name: "q", in: "query", required: false, schema: { type: "string" } },
			{ name: "limit", in: "query", required: false, schema: { type: "integer", default: 50 } },
		]);
	});

	it("should keep path parameters out of the body, and refuse unknown fields under $$strict", () => {
		const op = doc.paths["/characters/id/{id}"].patch;
		expect(op.parameters?.map((p) => p.name)).toEqual(["id"]);
		expect(op.requestBody?.required).toBe(false);
		expect(doc.components.schemas["characters.update"]).toEqual({
			type: "object",
			properties: { name: { type: "string" } },
			additionalProperties: false,
		});
	});

	it("should answer deletes with 204 and public routes without params with only success and default", () => {
		expect(doc.paths["/characters/id/{id}"].delete.requestBody).toBeUndefined();
		expect(Object.keys(doc.paths["/characters/id/{id}"].delete.responses)).toEqual([
			"204",
			"401",
			"404",
			"422",
			"default",
		]);
		expect(doc.paths["/health"].get.responses).toEqual({
			200: { description: "OK" },
			default: { $ref: "#/components/responses/Error" },
		});
	});

	it("should answer a branch with 201 Created, as it makes a session", () => {
		const branch = { method: "POST", path: "/sessions/:id/branch", action: "sessions.branch", auth: true };
		const op = buildOpenApi([branch], INFO).paths["/sessions/{id}/branch"].post;
		expect(op.responses["201"]).toEqual({ description: "Created" });
		expect(op.responses["200"]).toBeUndefined();
	});

	it("should answer adding a room member and making an invite with 201, accepting one with 200", () => {
		const routes = [
			{ method: "POST", path: "/sessions/:id/members", action: "rooms.addMember", auth: true },
			{ method: "POST", path: "/sessions/:id/invites", action: "rooms.createInvite", auth: true },
			{ method: "POST", path: "/invites/:code/accept", action: "rooms.acceptInvite", auth: true },
		];
		const paths = buildOpenApi(routes, INFO).paths;
		expect(Object.keys(paths["/sessions/{id}/members"].post.responses)).toContain("201");
		expect(Object.keys(paths["/sessions/{id}/invites"].post.responses)).toContain("201");
		expect(Object.keys(paths["/invites/{code}/accept"].post.responses)).toContain("200");
	});

	it("should answer a report with 201, and declare 403 FORBIDDEN for admins' actions only", () => {
		const routes = [
			{ method: "POST", path: "/characters/id/:id/report", action: "moderation.report", auth: true },
			{ method: "GET", path: "/admin/reports", action: "moderation.reports", auth: true, admin: true },
		];
		const paths = buildOpenApi(routes, INFO).paths;
		expect(Object.keys(paths["/characters/id/{id}/report"].post.responses)).toEqual(["201", "401", "404", "default"]);
		expect(paths["/admin/reports"].get.responses["403"]).toEqual({ $ref: "#/components/responses/Forbidden" });
	});

	it("should document a route whose action is not registered yet, without params", () => {
		const early = buildOpenApi([{ method: "POST", path: "/login", action: "auth.login", auth: false }], INFO);
		expect(early.paths["/login"].post).toMatchObject({ operationId: "postLogin", "x-moleculer-action": "auth.login" });
		expect(early.paths["/login"].post.requestBody).toBeUndefined();
		expect(Object.keys(early.paths["/login"].post.responses)).toEqual(["200", "default"]);
	});

	it("should share one body schema between aliases of an action, and keep different ones apart", () => {
		const login: ApiRoute = {
			method: "POST",
			path: "/login",
			action: "auth.login",
			auth: false,
			params: { username: "string" },
		};
		const twice = buildOpenApi(
			[
				login,
				{ ...login, path: "/token" },
				{ ...login, path: "/token/:username" },
				{ ...login, path: "/other", params: { password: "string" } },
			],
			INFO,
		);
		expect(twice.paths["/token"].post.requestBody).toEqual(twice.paths["/login"].post.requestBody);
		expect(twice.paths["/token/{username}"].post.requestBody).toBeUndefined();
		expect(twice.paths["/other"].post.requestBody?.content["application/json"].schema).toEqual({
			$ref: "#/components/schemas/auth.login.2",
		});
	});

	it("should use a route's own body description instead of its params", () => {
		const png = { type: "string", format: "binary" };
		const imported = buildOpenApi(
			[
				{
					method: "POST",
					path: "/characters/import",
					action: "characters.importCard",
					auth: true,
					params: { png: "string|optional" },
					body: { "image/png": png },
				},
			],
			INFO,
		);
		const op = imported.paths["/characters/import"].post;
		expect(op.requestBody).toEqual({ required: true, content: { "image/png": { schema: png } } });
		expect(Object.keys(op.responses)).toEqual(["201", "400", "401", "413", "422", "default"]);
	});
});

describe("gatewayRoutes", () => {
	const upload = () => undefined;
	const routes = [
		{ name: "public", path: "/", bodyParsers: false, aliases: { "GET /health": "api.health" } },
		{
			name: "auth",
			path: "/",
			bodyParsers: { json: { limit: "16kb" }, urlencoded: { extended: false } },
			aliases: { "POST /login": "auth.login", "POST /token": "auth.login" },
		},
		{
			name: "authenticated",
			path: "/v2/",
			authentication: true,
			aliases: { "GET characters/id/:id": "characters.get" },
		},
		{
			name: "import",
			path: "/",
			authentication: true,
			bodyParsers: { json: true, urlencoded: false, raw: { type: "image/png" } },
			aliases: {
				"POST /characters/import": [upload, "characters.importCard"],
				"GET /handler": upload,
				"/any": "api.health",
			},
		},
	];
	const actions = [
		{ name: "api.health", action: { params: {}, description: "Health" } },
		{ name: "auth.login", action: { params: { username: "string" } } },
		// Registered on no node: no endpoint, no action.
		{ name: "characters.get" },
		{ name: "characters.importCard", action: { params: { png: "string|optional" }, description: 42 } },
	];
	const body = { "image/png": { type: "string", format: "binary" } };

	it("should list every aliased action with its route's auth, body types and rate limit", () => {
		expect(gatewayRoutes(routes, actions, { rateLimitedRoutes: ["auth"], bodies: new Map([[upload, body]]) })).toEqual([
			{
				method: "GET",
				path: "/health",
				action: "api.health",
				auth: false,
				params: {},
				summary: "Health",
				rateLimited: false,
				bodyTypes: [],
			},
			{
				method: "POST",
				path: "/login",
				action: "auth.login",
				auth: false,
				params: { username: "string" },
				summary: undefined,
				rateLimited: true,
				bodyTypes: ["application/json", "application/x-www-form-urlencoded"],
			},
			{
				method: "POST",
				path: "/token",
				action: "auth.login",
				auth: false,
				params: { username: "string" },
				summary: undefined,
				rateLimited: true,
				bodyTypes: ["application/json", "application/x-www-form-urlencoded"],
			},
			{
				method: "GET",
				path: "/v2/characters/id/:id",
				action: "characters.get",
				auth: true,
				params: undefined,
				summary: undefined,
				rateLimited: false,
				bodyTypes: ["application/json"],
			},
			{
				method: "POST",
				path: "/characters/import",
				action: "characters.importCard",
				auth: true,
				params: { png: "string|optional" },
				summary: undefined,
				rateLimited: false,
				bodyTypes: ["application/json", "image/png"],
				body,
			},
		]);
	});

	it("should mark admins' actions, and the actions named rate-limited, and only those", () => {
		const admin = actions.map((a) => (a.name === "auth.login" ? { ...a, action: { ...a.action, admin: true } } : a));
		const listed = gatewayRoutes(routes, admin, { rateLimitedActions: ["characters.importCard"] });
		expect(listed.filter((r) => r.admin).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /login", "POST /token"]);
		expect(listed.filter((r) => r.rateLimited).map((r) => r.action)).toEqual(["characters.importCard"]);
	});

	it("should mark the actions named busy, and only those", () => {
		const listed = gatewayRoutes(routes, actions, { busyActions: ["auth.login"] });
		expect(listed.filter((r) => r.busy).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /login", "POST /token"]);
		expect(listed.find((r) => r.action === "api.health")).not.toHaveProperty("busy");
	});
});
