import { describe, expect, it } from "vitest";
import { gatewayHealth } from "../../src/domain/gateway-health.js";

const self = { mode: "embedded", node: "node-1", uptimeSeconds: 12.6 };

describe("gatewayHealth", () => {
	it("should be ok while auth and characters are reachable, whatever else is missing", () => {
		expect(gatewayHealth(["api", "auth", "characters"], self)).toEqual({
			status: "ok",
			mode: "embedded",
			node: "node-1",
			uptime_s: 13,
		});
	});

	it("should be degraded and name the required services it cannot reach", () => {
		expect(gatewayHealth(["api", "characters"], self)).toMatchObject({
			status: "degraded",
			missing_services: ["auth"],
		});
		expect(gatewayHealth([], self).missing_services).toEqual(["auth", "characters"]);
	});

	it("should keep the order of fields clients have always seen", () => {
		expect(Object.keys(gatewayHealth([], self))).toEqual(["status", "mode", "node", "uptime_s", "missing_services"]);
	});
});
