import { describe, expect, it } from "vitest";
import { authActionParams, bearerToken } from "../../src/domain/auth-params.js";

describe("bearerToken", () => {
	it("should read the token of a Bearer header, in any case of the scheme", () => {
		expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
		expect(bearerToken("bearer   abc")).toBe("abc");
	});

	it("should find none in a missing, empty, other-scheme or malformed header", () => {
		for (const header of [undefined, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "abc"]) {
			expect(bearerToken(header), String(header)).toBeUndefined();
		}
	});
});

describe("authActionParams", () => {
	it("should pass on only username and password of an OAuth2 password form to login", () => {
		const form = { grant_type: "password", username: "ada", password: "pw", scope: "", client_id: "x" };
		expect(authActionParams("auth.login", form, undefined)).toEqual({ username: "ada", password: "pw" });
	});

	it("should give validate the Bearer header's token when the body has none, and keep a body's token", () => {
		expect(authActionParams("auth.validate", {}, "Bearer t0k")).toEqual({ token: "t0k" });
		expect(authActionParams("auth.validate", {}, undefined)).toEqual({ token: "" });
		expect(authActionParams("auth.validate", { token: "body" }, "Bearer header")).toEqual({ token: "body" });
	});

	it("should leave other actions' params as they are", () => {
		const params = { username: "ada", password: "pw", name: "Ada" };
		expect(authActionParams("auth.register", params, "Bearer t")).toBe(params);
	});
});
