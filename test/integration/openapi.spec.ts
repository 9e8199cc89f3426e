/**
 * GET /openapi.json over real HTTP, checked against moleculer-web's own alias list and the registry's action
 * schemas; the document's shape; its rebuild when a service joins; and the /api-docs.html page in headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createBroker } from "../../src/broker.js";
import { openApiPath, type OpenApiDocument, type Operation } from "../../src/domain/openapi.js";
import { serviceFactories } from "../../services/index.js";
import { testConfig } from "../support/config.js";
import { gatewayOrigin } from "../support/gateway.js";
import { ensureWebBuild, launchChromium } from "../support/browser.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

let broker: ServiceBroker;
let base = "";
let doc: OpenApiDocument;
/** Read before the sessions service joined. */
let early: OpenApiDocument;

beforeAll(async () => {
	// Without sessions: the test below adds it at run time, as a cluster node joining later would.
	const config = testConfig({
		SERVICES:
			"api,auth,characters,avatars,story,personas,lorebooks,memory,rooms,search,chat-transfer,moderation,admin,api-keys,completions",
	});
	broker = createBroker(config, { logger: false });
	await Promise.all([broker.start(), ensureWebBuild()]);
	base = gatewayOrigin(broker);
	early = await getDocument();
	broker.createService(serviceFactories.sessions(config));
	await broker.waitForServices(["sessions"]);
	doc = await getDocument();
});

afterAll(() => broker.stop());

async function getDocument(): Promise<OpenApiDocument> {
	const res = await fetch(`${base}/openapi.json`);
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toMatch(/^application\/json/);
	return (await res.json()) as OpenApiDocument;
}

function operations(d: OpenApiDocument): { path: string; method: string; op: Operation }[] {
	return Object.entries(d.paths).flatMap(([path, item]) =>
		Object.entries(item).map(([method, op]) => ({ path, method, op })),
	);
}

describe("GET /openapi.json", () => {
	it("should list every alias of the gateway with its method, path and action, and nothing else", async () => {
		const aliases = await broker.call<{ actionName: string; fullPath: string; methods: string }[]>("api.listAliases");
		expect(aliases.length).toBeGreaterThanOrEqual(20);
		const documented = operations(doc).map(
			({ path, method, op }) => `${method.toUpperCase()} ${path} ${op["x-moleculer-action"]}`,
		);
		const served = aliases.map((a) => `${a.methods} ${openApiPath(a.fullPath.replace(/^\/+/, "/"))} ${a.actionName}`);
		expect(documented.sort()).toEqual(served.sort());
		expect(documented).toContain("GET /characters/id/{id}/card.{format} characters.exportCard");
		expect(documented).toContain("GET /openapi.json api.openapi");
	});

	it("should document exactly each action's params, as path, query or body fields", () => {
		const actions = new Map(broker.registry.getActionList({}).map((a) => [a.name, a.action]));
		for (const { path, method, op } of operations(doc)) {
			const action = op["x-moleculer-action"];
			// Their alias middleware turn the upload into params: the body is the card or image, not them.
			if (["characters.importCard", "avatars.put", "chat-transfer.importChat"].includes(action)) continue;
			// The /v1 route turns OpenAI's wire body into the params (src/domain/openai-wire.ts): the body is OpenAI's.
			if (action === "completions.create") continue;
			const params = actions.get(action)?.params ?? {};
			const body = op.requestBody?.content["application/json"]?.schema;
			const bodySchema = body?.$ref ? doc.components.schemas[body.$ref.split("/").pop() as string] : body;
			const fields = [...(op.parameters ?? []).map((p) => p.name), ...Object.keys(bodySchema?.properties ?? {})];
			expect(fields.sort(), `${method} ${path}`).toEqual(
				Object.keys(params)
					.filter((k) => !k.startsWith("$$"))
					.sort(),
			);
			if (method === "get") expect(op.requestBody, `${method} ${path}`).toBeUndefined();
		}
		expect(doc.paths["/characters"].get.parameters?.map((p) => [p.name, p.in, p.required])).toEqual([
			["q", "query", false],
			["limit", "query", false],
			["offset", "query", false],
		]);
		expect(doc.paths["/sessions/{id}/messages"].get.parameters?.find((p) => p.name === "limit")?.schema).toEqual({
			type: "integer",
			minimum: 1,
			maximum: 200,
			default: 50,
		});
	});

	it("should describe /v1 in OpenAI's terms: its wire body, JSON or events, errors as {error}", () => {
		const op = doc.paths["/v1/chat/completions"].post;
		expect(op.requestBody?.content["application/json"].schema).toEqual({
			$ref: "#/components/schemas/ChatCompletionRequest",
		});
		expect(doc.components.schemas.ChatCompletionRequest.properties).toHaveProperty("max_completion_tokens");
		expect(Object.keys((op.responses["200"] as { content: object }).content)).toEqual([
			"application/json",
			"text/event-stream",
		]);
		for (const status of ["400", "401", "404", "413", "429", "503"])
			expect(op.responses[status], status).toMatchObject({
				content: { "application/json": { schema: { $ref: "#/components/schemas/OpenAIError" } } },
			});
		expect(op.security).toEqual([{ bearerAuth: [] }]);
		expect(doc.paths["/v1/models"].get.responses["200"]).toMatchObject({
			content: { "application/json": { schema: { $ref: "#/components/schemas/OpenAIModelList" } } },
		});
	});

	it("should put the bearer scheme on authenticated routes only", () => {
		expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
			type: "http",
			scheme: "bearer",
			bearerFormat: "JWT",
			description: expect.stringContaining("personal API key"),
		});
		for (const [path, method] of [
			["/me", "get"],
			["/characters", "post"],
			["/sessions/{id}", "delete"],
			["/characters/import", "post"],
		]) {
			expect(doc.paths[path][method].security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
			expect(doc.paths[path][method].responses["401"], `${method} ${path}`).toEqual({
				$ref: "#/components/responses/Unauthorized",
			});
		}
		for (const [path, method] of [
			["/register", "post"],
			["/login", "post"],
			["/health", "get"],
			["/openapi.json", "get"],
		]) {
			expect(doc.paths[path][method].security, `${method} ${path}`).toBeUndefined();
		}
	});

	it("should describe POST /register's body with the username's pattern and lengths, as JSON or a form", async () => {
		const op = doc.paths["/register"].post;
		expect(op.summary).toBe("Create an account");
		expect(Object.keys(op.requestBody?.content ?? {})).toEqual([
			"application/json",
			"application/x-www-form-urlencoded",
		]);
		expect(doc.components.schemas["auth.register"]).toMatchObject({
			type: "object",
			required: ["username", "name", "password"],
			properties: {
				username: { type: "string", minLength: 3, maxLength: 32, pattern: "^[A-Za-z0-9_.-]+$" },
				password: { type: "string", minLength: 8, maxLength: 256 },
			},
		});
		expect(Object.keys(op.responses)).toEqual(["201", "400", "413", "422", "429", "503", "default"]);
		expect(doc.paths["/token"].post.requestBody).toEqual(doc.paths["/login"].post.requestBody);
		expect(doc.paths["/characters/id/{id}"].delete.responses["204"]).toEqual({ description: "No content" });
		expect(Object.keys(doc.paths["/characters/import"].post.requestBody?.content ?? {})).toEqual([
			"application/json",
			"image/png",
			"multipart/form-data",
		]);
	});

	it("should declare 503 BUSY on the password routes and 429 wherever a rate limit applies", () => {
		for (const path of ["/register", "/login", "/token"]) {
			expect(doc.paths[path].post.responses["503"], path).toEqual({ $ref: "#/components/responses/Busy" });
		}
		expect(doc.paths["/characters/import"].post.responses["429"]).toEqual({
			$ref: "#/components/responses/RateLimited",
		});
		expect(doc.paths["/validate"].post.responses["503"]).toBeUndefined();
		expect(doc.paths["/characters"].post.responses["429"]).toBeUndefined();
	});

	it("should declare the path parameter id as a UUID and answer 404 for it", () => {
		for (const { path, method, op } of operations(doc).filter(({ path }) => path.includes("{id}"))) {
			expect(
				op.parameters?.find((p) => p.name === "id"),
				`${method} ${path}`,
			).toEqual({
				name: "id",
				in: "path",
				required: true,
				schema: { type: "string", format: "uuid" },
			});
			expect(op.responses["404"], `${method} ${path}`).toBeDefined();
		}
		expect(doc.paths["/characters/id/{id}/card.{format}"].get.parameters?.[1]).toEqual({
			name: "format",
			in: "path",
			required: true,
			schema: { enum: ["json", "png"] },
		});
	});

	it("should be a well-formed document: top-level fields, resolvable $refs, declared path parameters, unique ids", () => {
		expect(doc).toMatchObject({
			openapi: expect.stringMatching(/^3\.1\.\d+$/),
			info: { title: expect.any(String), version: expect.any(String) },
		});
		expect(doc.externalDocs?.url).toBe("/api-docs.html");

		const refs: string[] = [];
		const walk = (node: unknown): void => {
			if (Array.isArray(node)) node.forEach(walk);
			else if (node && typeof node === "object") {
				for (const [key, value] of Object.entries(node)) {
					if (key === "$ref") refs.push(value as string);
					else walk(value);
				}
			}
		};
		walk(doc);
		expect(refs.length).toBeGreaterThan(0);
		for (const ref of refs) {
			expect(ref, ref).toMatch(/^#\//);
			const target = ref
				.slice(2)
				.split("/")
				.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], doc);
			expect(target, ref).toBeTypeOf("object");
		}

		const ids = new Set<string>();
		for (const { path, method, op } of operations(doc)) {
			expect(METHODS, path).toContain(method);
			expect(path).toMatch(/^\//);
			const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
			const declared = (op.parameters ?? [])
				.filter((p) => p.in === "path")
				.map((p) => p.name)
				.sort();
			expect(declared, `${method} ${path}`).toEqual(templated);
			expect(ids.has(op.operationId), op.operationId).toBe(false);
			ids.add(op.operationId);
			expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
			for (const tag of op.tags) expect(doc.tags.map((t) => t.name)).toContain(tag);
		}
	});

	it("should rebuild once a service joins, and serve the cached document until then", async () => {
		// Before sessions joined, its routes were listed without params; the first build is not kept forever.
		expect(early.paths["/sessions"].get.parameters).toBeUndefined();
		expect(early.paths["/sessions/{id}"].delete.parameters).toEqual([
			{ name: "id", in: "path", required: true, schema: { type: "string" } },
		]);
		expect(doc.paths["/sessions"].get.parameters?.map((p) => p.name)).toEqual(["limit", "offset", "character_id"]);

		const api = broker.getLocalService("api") as unknown as { openapiDocument?: OpenApiDocument };
		const cached = api.openapiDocument;
		expect(await getDocument()).toEqual(doc);
		expect(api.openapiDocument).toBe(cached);
	});
});

describe("GET /api-docs.html", () => {
	it("should be served as HTML whose script (a file of its own, for the Content-Security-Policy) loads /openapi.json", async () => {
		const res = await fetch(`${base}/api-docs.html`);
		expect(res.status, "web/dist/api-docs.html is missing: run `npm run build:web`").toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(await res.text()).toContain('<script src="/api-docs.js"');
		expect(await (await fetch(`${base}/api-docs.js`)).text()).toContain('fetch("/openapi.json"');
	});

	it("should render the endpoints grouped by tag, with parameters, bodies and responses", async () => {
		const browser = await launchChromium();
		try {
			const page = await browser.newPage();
			const errors: string[] = [];
			page.on("pageerror", (err) => errors.push(err.message));
			await page.goto(`${base}/api-docs.html`);
			await page.locator("#postRegister").waitFor({ timeout: 10_000 });
			expect(await page.locator("main h2").allTextContents()).toEqual(
				expect.arrayContaining(["api", "auth", "characters", "sessions", "Errors"]),
			);
			const register = page.locator("#postRegister");
			expect(await register.textContent()).toContain("^[A-Za-z0-9_.-]+$");
			expect(await register.textContent()).toContain("3–32 chars");
			expect(await register.locator(".type-chip").allTextContents()).toEqual([
				"application/json",
				"application/x-www-form-urlencoded",
			]);
			expect(await page.locator("#getCharactersIdId .badge").textContent()).toBe("Bearer token");
			expect(await page.locator("#getCharactersIdId").textContent()).toContain("string (uuid)");
			expect(await page.locator("#deleteSessionsId .status").allTextContents()).toEqual([
				"204",
				"401",
				"404",
				"422",
				"default",
			]);

			await page.fill("#filter", "card.");
			expect(await page.locator(".op[data-search]:visible").count()).toBe(1);
			expect(errors).toEqual([]);
		} finally {
			await browser.close();
		}
	});
});
