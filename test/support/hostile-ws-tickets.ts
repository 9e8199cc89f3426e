/**
 * Hostile-input cases for issue 19's WebSocket tickets (see hostile-cases.ts for the table's rules): POST /ws-ticket
 * without a token, with forged ones or a ticket as a token, with bodies that try to choose the ticket's token; and
 * chat handshakes with tickets that are no ticket (garbage, huge, a JWT, NUL, broken escapes) or with a ticket where
 * a token goes. prepareWsTickets issues the one live ticket they need; no case uses it up.
 */
import {
	INVALID_JSON,
	TOO_LARGE,
	UNAUTHORIZED,
	forgedTokens,
	json,
	type HandshakeCase,
	type HostileContext,
	type Json,
	type RestCase,
} from "./hostile-cases.js";
import type { AsUser } from "./hostile-personas.js";

/** A live ticket of the attacker's. */
export async function prepareWsTickets(ctx: HostileContext, asUser: AsUser): Promise<Record<string, string>> {
	const issued = await asUser(ctx.attacker.token, "POST", "/ws-ticket");
	if (issued.status !== 200) throw new Error(`prepareWsTickets: ${issued.status} ${JSON.stringify(issued.body)}`);
	return { attackerTicket: (issued.body as { ticket: string }).ticket };
}

/** A fresh ticket, whatever the body said: no token or ticket of the request's choosing. */
const issued = {
	status: [],
	ok: {
		status: 200,
		check: (body: Json) =>
			!/^[A-Za-z0-9_-]{43}$/.test(body?.ticket ?? "") || body.ticket.includes("forged")
				? `ticket ${JSON.stringify(body?.ticket)}`
				: Object.keys(body).sort().join() !== "expires_in,ticket"
					? `answered ${JSON.stringify(body)}`
					: undefined,
	},
};

export function wsTicketRequests(ctx: HostileContext): RestCase[] {
	const post = (category: RestCase["category"], name: string, rest: Partial<RestCase>): RestCase =>
		({ category, name: `POST /ws-ticket ${name}`, method: "POST", path: "/ws-ticket", ...rest }) as RestCase;
	return [
		post("forged_jwt", "without a token", { auth: "none", ...UNAUTHORIZED }),
		post("forged_jwt", "with a ticket as the token", {
			auth: { header: `Bearer ${ctx.ids.attackerTicket}` },
			...UNAUTHORIZED,
		}),
		post("forged_jwt", "with a token in the body only", {
			auth: "none",
			body: json({ token: ctx.attacker.token }),
			...UNAUTHORIZED,
		}),
		...forgedTokens(ctx)
			.slice(0, 4)
			.map(({ name, token }) =>
				post("forged_jwt", `Bearer ${name}`, { auth: { header: `Bearer ${token}` }, ...UNAUTHORIZED }),
			),
		post("other_users", "naming the victim's token and a ticket in the body", {
			body: json({ token: ctx.victim.token, bearer: ctx.victim.token, ticket: "forged-ticket" }),
			...issued,
		}),
		post("malformed_json", "truncated body", { body: '{"token": "x', ...INVALID_JSON }),
		post("huge_bodies", "body of 100 kB", { body: json({ pad: "x".repeat(100 * 1024) }), ...TOO_LARGE }),
	];
}

/** Handshakes with tickets that are none, and tickets where they do not belong. */
export function wsTicketHandshakes(ctx: HostileContext): HandshakeCase[] {
	const c = ctx.chatCharacterId;
	const live = ctx.ids.attackerTicket;
	const t = encodeURIComponent(ctx.attacker.token);
	const cases: [string, string, number[]][] = [
		["garbage", `/ws/${c}?ticket=garbage`, [401]],
		["43 characters, no ticket", `/ws/${c}?ticket=${"A".repeat(43)}`, [401]],
		["10 kB", `/ws/${c}?ticket=${"A".repeat(10 * 1024)}`, [401]],
		["the live one and 1 character", `/ws/${c}?ticket=${live}A`, [401]],
		["the live one with %00", `/ws/${c}?ticket=${live}%00`, [401]],
		["with an invalid percent escape", `/ws/${c}?ticket=%zz${live}`, [401]],
		["with SQL", `/ws/${c}?ticket=${encodeURIComponent("' OR '1'='1")}`, [401]],
		["a JWT", `/ws/${c}?ticket=${t}`, [401]],
		["garbage first, the live one second", `/ws/${c}?ticket=garbage&ticket=${live}`, [401]],
		["and a token", `/ws/${c}?ticket=${live}&token=${t}`, [400]],
		["of a room, garbage", `/ws/session/${ctx.ownSessionId}?ticket=garbage`, [401]],
		["the live one as ?token=", `/ws/${c}?token=${live}`, [401]],
		["the live one as a Bearer header", `/ws/${c}`, [401]],
	];
	return cases.map(([name, path, status]) => ({
		category: name.startsWith("garbage") || name.includes("JWT") ? "forged_jwt" : "ws_handshake",
		name: `ticket: ${name}`,
		path,
		status,
		...(name.endsWith("Bearer header") ? { headers: { Authorization: `Bearer ${live}` } } : {}),
	}));
}
