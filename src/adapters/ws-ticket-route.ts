/**
 * The gateway's route for POST /ws-ticket (issue 19): authenticated like any other, and it hands the action the
 * Bearer token the request was authenticated with, which the ticket then stands for (mixins/ws-ticket.mixin.ts).
 */
import type { Context } from "moleculer";
import { bearerToken } from "../domain/auth-params.js";
import type { WsTicketMeta } from "./ws-tickets.js";
import { refuseHostileParams, type GatewayRequest } from "./gateway-http.js";

export const WS_TICKET_ROUTE = {
	name: "ws-ticket",
	path: "/",
	mappingPolicy: "restrict",
	authentication: true,
	bodyParsers: { json: { limit: "16kb", strict: true }, urlencoded: false },
	onBeforeCall(ctx: Context<unknown, WsTicketMeta>, _route: unknown, req: GatewayRequest) {
		refuseHostileParams(req.$params);
		ctx.meta.bearer = bearerToken(req.headers.authorization);
	},
	aliases: { "POST /ws-ticket": "auth.issueWsTicket" },
};
