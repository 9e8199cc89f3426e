/**
 * Access tokens: JWT HS256 with `sub` (username), `uid` (user id), `iat` and `exp`.
 * Verification pins the algorithm (no `none`, no RS/HS confusion) and checks every claim we rely on, because a
 * token signed with our secret but missing `exp` would otherwise be valid forever.
 */
import jwt from "jsonwebtoken";
import { isUuid } from "./uuid.js";

export interface AccessTokenSubject {
	userId: string;
	username: string;
}

export interface AccessTokenClaims {
	sub: string;
	uid: string;
	iat: number;
	exp: number;
}

export type InvalidTokenReason = "expired" | "invalid";

export class InvalidTokenError extends Error {
	constructor(readonly reason: InvalidTokenReason) {
		super(reason === "expired" ? "Token expired" : "Invalid token");
		this.name = "InvalidTokenError";
	}
}

const ALGORITHM = "HS256";
function requireSecret(secret: string): void {
	if (typeof secret !== "string" || secret.length === 0) throw new Error("JWT secret is empty");
}

export function signAccessToken(subject: AccessTokenSubject, secret: string, ttlSeconds: number): string {
	requireSecret(secret);
	if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)
		throw new Error(`JWT ttl must be a positive integer, got ${ttlSeconds}`);
	const iat = Math.floor(Date.now() / 1000);
	const claims: AccessTokenClaims = { sub: subject.username, uid: subject.userId, iat, exp: iat + ttlSeconds };
	return jwt.sign(claims, secret, { algorithm: ALGORITHM });
}

/** Returns the claims of a valid token; throws InvalidTokenError("expired" | "invalid") on anything else. */
export function verifyAccessToken(token: string, secret: string): AccessTokenClaims {
	requireSecret(secret);
	let payload: string | jwt.JwtPayload;
	try {
		payload = jwt.verify(token, secret, { algorithms: [ALGORITHM] });
	} catch (err) {
		throw new InvalidTokenError(err instanceof jwt.TokenExpiredError ? "expired" : "invalid");
	}
	if (typeof payload !== "object" || payload === null) throw new InvalidTokenError("invalid");
	const { sub, uid, iat, exp } = payload as Record<string, unknown>;
	if (typeof sub !== "string" || sub.length === 0) throw new InvalidTokenError("invalid");
	if (!isUuid(uid)) throw new InvalidTokenError("invalid");
	if (!Number.isInteger(iat) || !Number.isInteger(exp)) throw new InvalidTokenError("invalid");
	return { sub, uid, iat: iat as number, exp: exp as number };
}
