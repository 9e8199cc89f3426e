/**
 * The gateway's route for the admins' REST actions (issue 17), services/admin.service.ts; each action is `admin: true`,
 * so a non-admin gets 403 whichever alias reaches it. (POST /password-reset, for users, is on the auth route: no login,
 * the same per-client limit as /login.)
 */
import type { Context } from "moleculer";
import { refuseHostileParams, type GatewayRequest } from "./gateway-http.js";

export const ADMIN_ROUTE = {
	name: "admin",
	path: "/",
	mappingPolicy: "restrict",
	authentication: true,
	bodyParsers: { json: { limit: "16kb", strict: true }, urlencoded: false },
	onBeforeCall(_ctx: Context, _route: unknown, req: GatewayRequest) {
		refuseHostileParams(req.$params);
	},
	aliases: {
		"GET /admin/users": "admin.users",
		"PATCH /admin/users/:username": "admin.updateUser",
		"POST /admin/users/:username/password-reset": "admin.createPasswordReset",
		"GET /admin/stats": "admin.stats",
		"POST /admin/invites": "admin.createInvite",
		"GET /admin/invites": "admin.invites",
		"DELETE /admin/invites/:code": "admin.deleteInvite",
	},
};
