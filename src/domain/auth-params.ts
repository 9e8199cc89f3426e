/**
 * What the gateway passes on to the auth actions: the OAuth2 password form carries more than login takes, and the
 * seed's clients send the token to validate as a Bearer header rather than in the body.
 */

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
	const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
	return match?.[1];
}

/**
 * The params for the auth action called: login gets only username and password (the form also has grant_type,
 * scope and client_id), validate without a token in the body gets the Bearer header's token (or "").
 */
export function authActionParams(
	action: string | undefined,
	params: Record<string, unknown>,
	authorization: string | undefined,
): Record<string, unknown> {
	if (action === "auth.login") return { username: params.username, password: params.password };
	if (action === "auth.validate" && params.token === undefined) return { token: bearerToken(authorization) ?? "" };
	return params;
}
