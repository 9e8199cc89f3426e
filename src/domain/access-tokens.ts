/**
 * Access tokens: JWT HS256 with `sub` (username), `uid` (user id), `iat`, `exp`, `jti` (this token's id, so it alone
 * can be logged out) and `gen` (the user's token generation it was signed in: a password change moves it on).
 * Verification pins the algorithm (no `none`, no RS/HS confusion) and checks every claim we rely on, because a
 * token signed with our secret but missing `exp` would otherwise be valid forever.
 */
import { createHash, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { isUuid } from "./uuid.js";

export interface AccessTokenSubject {
	userId: string;
	username: string;
	/** The user's token generation (users.token_generation); 0 when omitted. */
	generation?: number;
}

export interface AccessTokenClaims {
	sub: string;
	uid: string;
	iat: number;
	exp: number;
	/** The token's id. Tokens signed before ids existed get one derived from their bytes (see legacyTokenId). */
	jti: string;
	/** Token generation; 0 for tokens signed before generations existed. */
	gen: number;
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
	const claims: AccessTokenClaims = {
		sub: subject.username,
		uid: subject.userId,
		iat,
		exp: iat + ttlSeconds,
		jti: randomUUID(),
		gen: subject.generation ?? 0,
	};
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
	const { sub, uid, iat, exp, jti, gen } = payload as Record<string, unknown>;
	if (typeof sub !== "string" || sub.length === 0) throw new InvalidTokenError("invalid");
	if (!isUuid(uid)) throw new InvalidTokenError("invalid");
	if (!Number.isInteger(iat) || !Number.isInteger(exp)) throw new InvalidTokenError("invalid");
	if (jti !== undefined && !isUuid(jti)) throw new InvalidTokenError("invalid");
	if (gen !== undefined && !(Number.isInteger(gen) && (gen as number) >= 0)) throw new InvalidTokenError("invalid");
	return {
		sub,
		uid,
		iat: iat as number,
		exp: exp as number,
		jti: (jti as string | undefined) ?? legacyTokenId(token),
		gen: (gen as number | undefined) ?? 0,
	};
}

/**
 * The id of a token signed before tokens had one: a UUID-shaped digest of its bytes, so logging it out works as for
 * any other (two such tokens differ at least in `iat` or the user, hence in the digest).
 */
export function legacyTokenId(token: string): string {
	const hex = createHash("sha256").update(token).digest("hex");
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
