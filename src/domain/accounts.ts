/**
 * Accounts as the auth service's callers see them: its actions' params, the user the gateway puts in `ctx.meta.user`,
 * the view operators get, and the events that tell chat-ws a user was disabled or tokens were taken back.
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
	/** Opted in to characters marked NSFW (PATCH /me); the character rules read it (src/domain/characters.ts). */
	show_nsfw: boolean;
	/** The id (`jti`) of the token the request came with: what POST /logout takes back. */
	token_id?: string;
	/** Set when the request came with an API key (its id, also `token_id`): what only a login may do is refused. */
	api_key_id?: string;
}
export interface AuthMeta {
	user?: Pick<AuthUser, "id" | "token_id" | "api_key_id">;
	/** The client's IP, set by the gateway: failed logins are counted per username and client. */
	clientIp?: string;
	$statusCode?: number;
	$location?: string;
}

/** Broadcast events: chat-ws closes a disabled user's open sockets, or those of tokens taken back, on every node. */
export const UserEvent = { Disabled: "user.disabled", TokensRevoked: "user.tokens.revoked" } as const;
export interface UserDisabledPayload {
	username: string;
}
/**
 * Tokens of `username` taken back: only `token_id` (a logout, a revoked API key), or all but `except_token_id` (a
 * password change: the caller's fresh token), or all (a password reset, the account deleted). API keys outlive a
 * password change or reset: their sockets are among "all" only with `api_keys` (the account deleted).
 * `reason` is the sockets' close reason.
 */
export interface TokensRevokedPayload {
	username: string;
	token_id?: string;
	except_token_id?: string;
	api_keys?: boolean;
	reason: string;
}

/** Whether a socket opened with token `tokenId` (an API key's id when `apiKey`) by `username` is among those taken back. */
export function revokedBy(
	payload: TokensRevokedPayload,
	socket: { username: string; tokenId?: string; apiKey?: boolean },
): boolean {
	if (socket.username !== payload.username) return false;
	if (payload.token_id !== undefined) return socket.tokenId === payload.token_id;
	if (socket.apiKey && !payload.api_keys) return false;
	return payload.except_token_id === undefined || socket.tokenId !== payload.except_token_id;
}

/** PATCH /me: a new display name, a new password (with the current one), or both. */
export interface UpdateAccountParams {
	name?: string;
	current_password?: string;
	new_password?: string;
	show_nsfw?: boolean;
}
export interface DeleteAccountParams {
	password: string;
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
	show_nsfw: boolean;
	is_disabled: boolean;
	created_at: Date;
}

export function toAuthUser(user: AccountRecord): AuthUser {
	return { id: user.id, username: user.username, name: user.name, role: user.role, show_nsfw: user.show_nsfw };
}

export function toUserView(user: AccountRecord): UserView {
	return { ...toAuthUser(user), is_disabled: user.is_disabled, created_at: user.created_at.toISOString() };
}
