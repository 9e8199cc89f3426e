/** What the gateway's GET /health answers: up, and whether the services it cannot answer without are reachable. */

/** Services without which the gateway answers almost nothing (no sign-in, no characters). */
export const REQUIRED_SERVICES = ["auth", "characters"] as const;

export interface GatewayHealth {
	/** "degraded" (answered with 503) while a required service is unreachable. */
	status: "ok" | "degraded";
	mode: string;
	node: string;
	uptime_s: number;
	missing_services?: string[];
}

/** The report for a gateway node that sees `available` services (by name). */
export function gatewayHealth(
	available: Iterable<string>,
	self: { mode: string; node: string; uptimeSeconds: number },
): GatewayHealth {
	const seen = new Set(available);
	const missing = REQUIRED_SERVICES.filter((name) => !seen.has(name));
	return {
		status: missing.length === 0 ? "ok" : "degraded",
		mode: self.mode,
		node: self.node,
		uptime_s: Math.round(self.uptimeSeconds),
		...(missing.length > 0 ? { missing_services: missing } : {}),
	};
}
