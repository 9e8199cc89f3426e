/**
 * Hostile-input cases for issue 14's memory routes (see hostile-cases.ts for the table's rules). `prepareMemory` sets
 * up, as the attacker and the victim, what the cases aim at; its ids land in `ctx.ids`.
 */
import type { HostileContext, RestCase } from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

export async function prepareMemory(_ctx: HostileContext, _asUser: AsUser): Promise<Record<string, string>> {
	return {};
}

export function memoryRequests(_ctx: HostileContext): RestCase[] {
	return [];
}
