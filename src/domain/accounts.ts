/**
 * Accounts as the auth service's callers see them: its actions' params, the user the gateway puts in `ctx.meta.user`,
 * the view operators get, and the event that tells chat-ws a user was disabled.
 */

export interface RegisterParams {
	username: string;
	name: string;
	password: string;
}
export interface LoginParams {
	username: string;
	password: string;
}
export interface ValidateParams {
	token: string;
}

/** What `validate` returns and the gateway puts in `ctx.meta.user` (kept small: meta travels between nodes). */
export interface AuthUser {
	id: string;
	username: string;
	name: string;
	role: string;
}
export interface AuthMeta {
	user?: Pick<AuthUser, "id">;
	/** The client's IP, set by the gateway: failed logins are counted per username and client. */
	clientIp?: string;
	$statusCode?: number;
	$location?: string;
}

/** Broadcast events: chat-ws closes a disabled user's open sockets on every node. */
export const UserEvent = { Disabled: "user.disabled" } as const;
export interface UserDisabledPayload {
	username: string;
}

/** A user as operators see it. */
export interface UserView extends AuthUser {
	is_disabled: boolean;
	created_at: string;
}
export interface ListUsersParams {
	q?: string;
	/** Exact match, for looking one user up. */
	username?: string;
	limit: number;
}

/** The account fields these views are made of. */
export interface AccountRecord {
	id: string;
	username: string;
	name: string;
	role: string;
	is_disabled: boolean;
	created_at: Date;
}

export function toAuthUser(user: AccountRecord): AuthUser {
	return { id: user.id, username: user.username, name: user.name, role: user.role };
}

export function toUserView(user: AccountRecord): UserView {
	return { ...toAuthUser(user), is_disabled: user.is_disabled, created_at: user.created_at.toISOString() };
}
