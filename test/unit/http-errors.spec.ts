import { describe, expect, it } from "vitest";
import { Errors } from "moleculer";
import { toHttpError } from "../../src/domain/http-errors.js";
import { Busy, CharacterNotFound, RateLimited, Unauthorized } from "../../src/errors.js";

describe("toHttpError", () => {
	it("should keep a client error's status, message and type", () => {
		expect(toHttpError(CharacterNotFound("abc"))).toEqual({
			status: 404,
			body: { detail: "Character not found", code: "CHARACTER_NOT_FOUND" },
			headers: {},
		});
	});

	it("should ask for a Bearer token on 401", () => {
		const res = toHttpError(Unauthorized("Token expired"));
		expect(res.status).toBe(401);
		expect(res.headers["WWW-Authenticate"]).toBe("Bearer");
		expect(res.body).toEqual({ detail: "Token expired", code: "UNAUTHORIZED" });
	});

	it("should list validation failures without echoing the offending values", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{
				type: "stringMax",
				field: "username",
				message: "The 'username' field length must be less than or equal to 32 characters long.",
				actual: "x".repeat(10_000),
			},
		]);
		const res = toHttpError(err);
		expect(res.status).toBe(422);
		expect(res.body.code).toBe("VALIDATION_ERROR");
		expect(res.body.errors).toEqual([{ field: "username", message: expect.stringContaining("32") }]);
		expect(JSON.stringify(res.body)).not.toContain("xxxx");
	});

	it("should name body-parser failures", () => {
		const parseError = Object.assign(new Error("Unexpected token } in JSON at position 9"), {
			status: 400,
			type: "entity.parse.failed",
		});
		expect(toHttpError(parseError)).toMatchObject({
			status: 400,
			body: { code: "INVALID_JSON", detail: "Request body is not valid JSON" },
		});
		const tooLarge = Object.assign(new Error("request entity too large"), { status: 413, type: "entity.too.large" });
		expect(toHttpError(tooLarge)).toMatchObject({ status: 413, body: { code: "PAYLOAD_TOO_LARGE" } });
	});

	it("should answer a corrupt gzip or deflate body with 400, as moleculer-web passes it on", () => {
		const corrupt = new Errors.MoleculerError("incorrect header check", "Z_DATA_ERROR" as unknown as number);
		expect(toHttpError(corrupt)).toEqual({
			status: 400,
			body: { detail: "Request body is not valid gzip or deflate data", code: "INVALID_CONTENT_ENCODING" },
			headers: {},
		});
		expect(toHttpError(Object.assign(new Error("unexpected end of file"), { code: "Z_BUF_ERROR" })).status).toBe(400);
	});

	it("should add Retry-After to 429", () => {
		const res = toHttpError(RateLimited(12.2));
		expect(res).toMatchObject({
			status: 429,
			headers: { "Retry-After": "13" },
			body: { code: "RATE_LIMITED", retry_after: 13 },
		});
	});

	it("should answer a full hashing queue with 503 BUSY and Retry-After", () => {
		expect(toHttpError(Busy(2))).toEqual({
			status: 503,
			body: { detail: "The server is busy, try again shortly", code: "BUSY", retry_after: 2 },
			headers: { "Retry-After": "2" },
		});
	});

	it("should hide everything about a server error", () => {
		const err = new Error("connect ECONNREFUSED 10.0.0.5:5432 at Pool.connect (/app/node_modules/pg/lib/index.js:12)");
		const res = toHttpError(err);
		expect(res).toEqual({
			status: 500,
			body: { detail: "Internal server error", code: "INTERNAL_ERROR" },
			headers: {},
		});
		expect(toHttpError(new Errors.ServiceNotAvailableError({ action: "auth.login" })).status).toBe(404);
		expect(toHttpError(new Errors.MoleculerError("down", 503, "SERVICE_UNAVAILABLE")).body.code).toBe(
			"SERVICE_UNAVAILABLE",
		);
	});

	it("should survive non-errors thrown", () => {
		expect(toHttpError(undefined).status).toBe(500);
		expect(toHttpError("boom").status).toBe(500);
	});
});
