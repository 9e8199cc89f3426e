import { describe, expect, it } from "vitest";
import { acceptedRequestId, SECURITY_HEADERS } from "../../src/domain/http-hardening.js";

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
		expect(SECURITY_HEADERS["X-Content-Type-Options"]).toBe("nosniff");
	});
});
