import { describe, expect, it } from "vitest";
import {
	acceptedRequestId,
	hostileParams,
	MAX_PARAMS_DEPTH,
	SECURITY_HEADERS,
} from "../../src/domain/http-hardening.js";

describe("acceptedRequestId", () => {
	it("should keep short plain ids and drop anything that could forge or bloat a log line", () => {
		expect(acceptedRequestId("3f2a9c00-0000-4000-8000-000000000002")).toBe("3f2a9c00-0000-4000-8000-000000000002");
		expect(acceptedRequestId("req_42.a")).toBe("req_42.a");
		for (const bad of ["", "a b", 'x" level="error', "a".repeat(65), "é", "a\tb", "id,other", ["a", "b"], undefined]) {
			expect(acceptedRequestId(bad as string), JSON.stringify(bad)).toBeUndefined();
		}
	});
});

describe("SECURITY_HEADERS", () => {
	it("should forbid framing, inline scripts and MIME sniffing", () => {
		expect(SECURITY_HEADERS["Content-Security-Policy"]).toContain("frame-ancestors 'none'");
		expect(SECURITY_HEADERS["Content-Security-Policy"]).toContain("script-src 'self';");
		expect(SECURITY_HEADERS["Content-Security-Policy"]).toContain("img-src 'self' blob:;");
		expect(SECURITY_HEADERS["X-Content-Type-Options"]).toBe("nosniff");
	});
});

/** An object nested `depth` levels deep: { a: { a: ... { a: 1 } } }. */
function nested(depth: number): unknown {
	let value: unknown = 1;
	for (let level = 0; level < depth; level += 1) value = { a: value };
	return value;
}

describe("hostileParams", () => {
	it("should let ordinary params through, nested up to the limit", () => {
		expect(hostileParams({ name: "Ada", tags: ["x", "y"], card: { data: { extensions: {} } } })).toBeUndefined();
		expect(hostileParams(nested(MAX_PARAMS_DEPTH))).toBeUndefined();
		expect(hostileParams(undefined)).toBeUndefined();
	});

	it("should name the field that holds a NUL character, at any depth", () => {
		const field = "card.data.tags.1";
		expect(hostileParams({ card: { data: { tags: ["ok", "a\u0000b"] } } })).toEqual({
			detail: "Text may not contain NUL characters",
			errors: [{ type: "string", field, message: `The '${field}' field may not contain NUL characters` }],
		});
	});

	it("should refuse params nested deeper than the limit without overflowing the stack itself", () => {
		expect(hostileParams(nested(MAX_PARAMS_DEPTH + 1))).toMatchObject({
			detail: `The request is nested more than ${MAX_PARAMS_DEPTH} levels deep`,
			errors: [{ type: "object", field: Array(MAX_PARAMS_DEPTH).fill("a").join(".") }],
		});
		expect(hostileParams(nested(100_000))?.errors[0].type).toBe("object");
	});

	it("should look at inherited keys, which moleculer-web makes of a body's __proto__", () => {
		const params = Object.create({ name: "\u0000" }) as object;
		expect(hostileParams(params)?.errors[0].field).toBe("name");
	});
});
