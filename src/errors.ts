/**
 * Every error a client can see, one factory each. `code` is the HTTP status (moleculer-web uses it as such),
 * `type` is the stable machine-readable code that reaches the client as `{"detail", "code"}`.
 */
import { Errors } from "moleculer";

const { MoleculerClientError } = Errors;

export const ErrorCode = {
	Unauthorized: "UNAUTHORIZED",
	InvalidCredentials: "INVALID_CREDENTIALS",
	Forbidden: "FORBIDDEN",
	UserExists: "USER_EXISTS",
	UserDisabled: "USER_DISABLED",
	CharacterNotFound: "CHARACTER_NOT_FOUND",
	SlugTaken: "SLUG_TAKEN",
	SessionNotFound: "SESSION_NOT_FOUND",
	NotFound: "NOT_FOUND",
	ValidationFailed: "VALIDATION_ERROR",
	RateLimited: "RATE_LIMITED",
	Internal: "INTERNAL_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const Unauthorized = (detail = "Not authenticated") =>
	new MoleculerClientError(detail, 401, ErrorCode.Unauthorized);

export const InvalidCredentials = () =>
	new MoleculerClientError("Incorrect username or password", 401, ErrorCode.InvalidCredentials);

export const Forbidden = (detail = "You may not do that") => new MoleculerClientError(detail, 403, ErrorCode.Forbidden);

export const UserExists = (username: string) =>
	new MoleculerClientError("Username already registered", 409, ErrorCode.UserExists, { username });

export const UserDisabled = () => new MoleculerClientError("This account is disabled", 403, ErrorCode.UserDisabled);

export const CharacterNotFound = (id: string) =>
	new MoleculerClientError("Character not found", 404, ErrorCode.CharacterNotFound, { id });

export const SlugTaken = (slug: string) =>
	new MoleculerClientError("A character with this slug already exists", 409, ErrorCode.SlugTaken, { slug });

export const RateLimited = (retryAfterSeconds: number) =>
	new MoleculerClientError("Too many requests, slow down", 429, ErrorCode.RateLimited, { retryAfter: retryAfterSeconds });

/** Same shape as the validator's own errors, for rules a params schema can't express. */
export const ValidationFailed = (detail: string, data: Array<Record<string, unknown>> = []) =>
	new Errors.ValidationError(detail, ErrorCode.ValidationFailed, data);

/** Unknown, or someone else's: both answer 404 so session ids cannot be probed. */
export const SessionNotFound = (id: string) =>
	new MoleculerClientError("Chat session not found", 404, ErrorCode.SessionNotFound, { id });
