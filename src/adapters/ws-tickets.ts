/**
 * WebSocket tickets: a short random string that stands for an access token (a JWT or an API key) for one chat
 * handshake, so the token itself never appears in a URL (URLs end up in access logs). Single use and short-lived: in
 * Redis in a cluster (any chat-ws node redeems what any auth node issued; GETDEL makes the use single across nodes),
 * in memory in embedded mode. The token is kept, not the user it names, so the handshake validates it as it would the
 * token itself: a user disabled or a token or key revoked since the ticket was issued is refused. (Redis sees tokens
 * already: the Redis transporter carries auth.validate's params.)
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { AuthMeta } from "../domain/accounts.js";
import { redisKey } from "./redis.js";

/** What the gateway's ws-ticket route adds: the Bearer token the request was authenticated with. */
export type WsTicketMeta = AuthMeta & { bearer?: string };

export interface TicketStore {
	/** A new ticket for `token`, valid once within the store's TTL. */
	issue(token: string): Promise<string>;
	/** The ticket's token, and the ticket is used up; undefined when it is unknown, used or expired. */
	redeem(ticket: string): Promise<string | undefined>;
}

/** 32 random bytes, base64url: 43 characters. */
const TICKET_BYTES = 32;
export const TICKET_LENGTH = 43;

function newTicket(): string {
	return randomBytes(TICKET_BYTES).toString("base64url");
}

export function redisTicketStore(redis: Redis, namespace: string, ttlMs: number): TicketStore {
	const key = (ticket: string) => redisKey(namespace, "ws-ticket", ticket);
	return {
		async issue(token) {
			const ticket = newTicket();
			await redis.set(key(ticket), token, "PX", ttlMs);
			return ticket;
		},
		async redeem(ticket) {
			return (await redis.getdel(key(ticket))) ?? undefined;
		},
	};
}

export function memoryTicketStore(ttlMs: number, now: () => number = Date.now): TicketStore {
	const tickets = new Map<string, { token: string; expiresAt: number }>();
	// Tickets nobody redeems are dropped at the next issue, so the map holds at most a TTL's worth of them.
	const sweep = () => {
		const t = now();
		for (const [ticket, entry] of tickets) if (entry.expiresAt <= t) tickets.delete(ticket);
	};
	return {
		async issue(token) {
			sweep();
			const ticket = newTicket();
			tickets.set(ticket, { token, expiresAt: now() + ttlMs });
			return ticket;
		},
		async redeem(ticket) {
			const entry = tickets.get(ticket);
			tickets.delete(ticket);
			return entry && entry.expiresAt > now() ? entry.token : undefined;
		},
	};
}
