/**
 * The gateway's route for the account (issue 16): PATCH and DELETE /me, POST /logout, GET /me/export, and the
 * personal API keys (issue 18: POST and GET /me/api-keys, DELETE /me/api-keys/{id}). It passes the
 * client's address along, as the login route does, so wrong passwords count against the same per-client budget as
 * failed logins. (GET /me stays on the plain authenticated route.)
 */
import type { IncomingMessage } from "node:http";
import type { Context } from "moleculer";
import type { AuthMeta } from "../domain/accounts.js";
import { refuseHostileParams, type GatewayRequest } from "./gateway-http.js";

export const ACCOUNT_ROUTE = {
	name: "account",
	path: "/",
	mappingPolicy: "restrict",
	authentication: true,
	bodyParsers: { json: { limit: "16kb", strict: true }, urlencoded: false },
	onBeforeCall(
		this: { clientIp(req: IncomingMessage): string },
		ctx: Context<unknown, AuthMeta>,
		_route: unknown,
		req: GatewayRequest,
	) {
		refuseHostileParams(req.$params);
		ctx.meta.clientIp = this.clientIp(req);
	},
	aliases: {
		"PATCH /me": "auth.updateAccount",
		"DELETE /me": "auth.deleteAccount",
		"POST /logout": "auth.logout",
		"GET /me/export": "auth.exportAccount",
		"PUT /me/provider": "own-provider.set",
		"GET /me/provider": "own-provider.get",
		"DELETE /me/provider": "own-provider.remove",
		"POST /me/api-keys": "api-keys.create",
		"GET /me/api-keys": "api-keys.list",
		"DELETE /me/api-keys/:id": "api-keys.remove",
	},
};
