/**
 * `admin: true` on an action makes it admins' only: a caller whose `meta.user` is not an admin gets 403 FORBIDDEN
 * before the handler runs (401 when there is no user at all). Declared on the action, enforced once here, as Kantab's
 * check-permissions middleware does, so no admin route can forget its check.
 */
import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { Forbidden, Unauthorized } from "../src/errors.js";
import { isAdmin } from "../src/domain/characters.js";
import type { AuthUser } from "../src/domain/accounts.js";

declare module "moleculer" {
	interface ActionSchema {
		/** Only admins may call it (middlewares/admin-only.middleware.ts). */
		admin?: boolean;
	}
}

export const AdminOnlyMiddleware = {
	name: "AdminOnly",
	localAction(next: ActionHandler, action: ActionSchema): ActionHandler {
		if (action.admin !== true) return next;
		return (ctx: Context<unknown, { user?: AuthUser }>) => {
			const user = ctx.meta.user;
			if (!user) return Promise.reject(Unauthorized());
			if (!isAdmin(user)) return Promise.reject(Forbidden("Only admins may do that"));
			return next(ctx);
		};
	},
} as unknown as Middleware;
