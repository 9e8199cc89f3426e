import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { AdminOnlyMiddleware } from "../../middlewares/admin-only.middleware.js";

const broker = new ServiceBroker({ logger: false, middlewares: [AdminOnlyMiddleware] });
broker.createService({
	name: "panel",
	actions: {
		secret: { admin: true, handler: () => "for admins" },
		open: { handler: () => "for anyone" },
	},
});

beforeAll(() => broker.start());
afterAll(() => broker.stop());

const as = (role?: string) => ({ meta: role ? { user: { id: "u", username: "u", name: "U", role } } : {} });
const refusal = (role?: string) =>
	broker.call("panel.secret", {}, as(role)).then(
		() => null,
		(err: { code: number; type: string }) => [err.code, err.type],
	);

describe("AdminOnlyMiddleware", () => {
	it("should let admins call an `admin: true` action, refuse others with 403 and no user with 401", async () => {
		expect(await broker.call("panel.secret", {}, as("admin"))).toBe("for admins");
		expect(await refusal("user")).toEqual([403, "FORBIDDEN"]);
		expect(await refusal("Admin")).toEqual([403, "FORBIDDEN"]);
		expect(await refusal()).toEqual([401, "UNAUTHORIZED"]);
	});

	it("should leave actions without the flag alone", async () => {
		expect(await broker.call("panel.open", {}, as("user"))).toBe("for anyone");
		expect(await broker.call("panel.open", {}, as())).toBe("for anyone");
	});
});
