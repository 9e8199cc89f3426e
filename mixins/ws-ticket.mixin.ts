/**
 * WebSocket tickets (issue 19), mixed into the auth service: POST /ws-ticket trades the caller's access token (a
 * login's JWT or an API key) for a ticket that opens one chat socket within WS_TICKET_TTL_SECONDS, so the token stays
 * out of the socket's URL. chat-ws redeems it (redeemWsTicket) and validates the token it stood for, as it would a
 * `?token=`: the socket is the token's, with its user, token id and API key. src/adapters/ws-tickets.ts keeps them.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import { RateLimited, Unauthorized } from "../src/errors.js";
import { acquireRedis, redisKey, releaseRedis } from "../src/adapters/redis.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import {
	memoryTicketStore,
	redisTicketStore,
	TICKET_LENGTH,
	type TicketStore,
	type WsTicketMeta,
} from "../src/adapters/ws-tickets.js";

type WsTicketThis = Service & { tickets: TicketStore; ticketLimiter: RateLimiter; ticketRedis?: Redis };

export default function WsTicketMixin(config: Config): Partial<ServiceSchema> {
	const ttlMs = config.wsTicketTtlSeconds * 1000;
	return {
		actions: {
			/** `{ ticket, expires_in }`: one handshake's worth of the caller's token. */
			issueWsTicket: {
				description:
					"A single-use ticket for the chat WebSocket (`?ticket=`), valid for expires_in seconds: the access token " +
					"stays out of the socket's URL",
				params: {},
				async handler(this: WsTicketThis, ctx: Context<unknown, WsTicketMeta>) {
					const { user, bearer } = ctx.meta;
					if (!user || !bearer) throw Unauthorized();
					// A ticket is good for one handshake only: as many as the handshakes one user may make.
					const { allowed, retryAfterSeconds } = await this.ticketLimiter.hit(user.id);
					if (!allowed) throw RateLimited(retryAfterSeconds);
					return { ticket: await this.tickets.issue(bearer), expires_in: config.wsTicketTtlSeconds };
				},
			},

			/**
			 * chat-ws: the token a ticket stood for, and the ticket is used up. 401 for an unknown, used or expired one
			 * (an oversized one never reaches the store).
			 */
			redeemWsTicket: {
				visibility: "public",
				params: { ticket: "string" },
				async handler(this: WsTicketThis, ctx: Context<{ ticket: string }>): Promise<string> {
					const { ticket } = ctx.params;
					const token = ticket.length === TICKET_LENGTH ? await this.tickets.redeem(ticket) : undefined;
					if (!token) throw Unauthorized("Invalid or expired ticket: get a new one (POST /ws-ticket)");
					return token;
				},
			},
		},

		started(this: Service) {
			const self = this as WsTicketThis;
			if (config.mode === "cluster" && config.redisUrl) self.ticketRedis = acquireRedis(config.redisUrl);
			self.tickets = self.ticketRedis
				? redisTicketStore(self.ticketRedis, config.namespace, ttlMs)
				: memoryTicketStore(ttlMs);
			self.ticketLimiter = createRateLimiter({
				keyPrefix: redisKey(config.namespace, "limit", "ws-ticket-user"),
				points: config.chat.handshakesPerUserPerMinute,
				durationSeconds: 60,
				redis: self.ticketRedis,
			});
		},

		async stopped(this: Service) {
			if ((this as WsTicketThis).ticketRedis) await releaseRedis();
		},
	};
}
