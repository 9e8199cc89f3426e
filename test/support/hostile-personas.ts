/**
 * Hostile-input cases for issue 14's personas routes (see hostile-cases.ts for the table's rules). `preparePersonas` sets
 * up, as the attacker and the victim, what the cases aim at; its ids land in `ctx.ids`.
 */
import type { HostileContext, RestCase } from "./hostile-cases.js";

/** A request as one account: the spec's REST client. */
export type AsUser = (
	token: string,
	method: string,
	path: string,
	body?: unknown,
) => Promise<{ status: number; body: unknown }>;

export async function preparePersonas(_ctx: HostileContext, _asUser: AsUser): Promise<Record<string, string>> {
	return {};
}

export function personaRequests(_ctx: HostileContext): RestCase[] {
	return [];
}
