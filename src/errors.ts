/**
 * Every error a client can see, one factory each. `code` is the HTTP status (moleculer-web uses it as such),
 * `type` is the stable machine-readable code that reaches the client as `{"detail", "code"}`.
 */
import { Errors } from "moleculer";
import { CardError, type CardProblem } from "./domain/character-card.js";
import { ChatImportError, type ChatImportProblem } from "./domain/chat-export.js";
import type { HandshakeProblem } from "./domain/chat-handshake.js";
import type { WireRefusal } from "./domain/openai-wire.js";

const { MoleculerClientError } = Errors;

export const ErrorCode = {
	Unauthorized: "UNAUTHORIZED",
	InvalidCredentials: "INVALID_CREDENTIALS",
	Forbidden: "FORBIDDEN",
	UserExists: "USER_EXISTS",
	UserDisabled: "USER_DISABLED",
	TokenRevoked: "TOKEN_REVOKED",
	WrongPassword: "WRONG_PASSWORD",
	UserNotFound: "USER_NOT_FOUND",
	CharacterNotFound: "CHARACTER_NOT_FOUND",
	SlugTaken: "SLUG_TAKEN",
	SessionNotFound: "SESSION_NOT_FOUND",
	MessageNotFound: "MESSAGE_NOT_FOUND",
	LorebookNotFound: "LOREBOOK_NOT_FOUND",
	PersonaNotFound: "PERSONA_NOT_FOUND",
	LastPersona: "LAST_PERSONA",
	PromptNotFound: "PROMPT_NOT_FOUND",
	NotRoomOwner: "NOT_ROOM_OWNER",
	NotARoom: "NOT_A_ROOM",
	RoomFull: "ROOM_FULL",
	OwnerCannotLeave: "OWNER_CANNOT_LEAVE",
	MemberNotFound: "MEMBER_NOT_FOUND",
	InviteNotFound: "INVITE_NOT_FOUND",
	InviteExpired: "INVITE_EXPIRED",
	ReplyInProgress: "REPLY_IN_PROGRESS",
	CannotSelect: "CANNOT_SELECT",
	SearchTooBroad: "SEARCH_TOO_BROAD",
	ModelNotAllowed: "MODEL_NOT_ALLOWED",
	ModelNotFound: "MODEL_NOT_FOUND",
	TokenQuotaExceeded: "TOKEN_QUOTA_EXCEEDED",
	ProviderUnavailable: "PROVIDER_UNAVAILABLE",
	NotFound: "NOT_FOUND",
	BadRequest: "BAD_REQUEST",
	ValidationFailed: "VALIDATION_ERROR",
	RateLimited: "RATE_LIMITED",
	TooManySockets: "TOO_MANY_SOCKETS",
	Busy: "BUSY",
	ShuttingDown: "SHUTTING_DOWN",
	InvalidPng: "INVALID_PNG",
	InvalidImage: "INVALID_IMAGE",
	InvalidCard: "INVALID_CARD",
	InvalidForm: "INVALID_FORM",
	CardTooLarge: "CARD_TOO_LARGE",
	TooManyPngChunks: "TOO_MANY_PNG_CHUNKS",
	ImageTooLarge: "IMAGE_TOO_LARGE",
	QuotaExceeded: "STORAGE_QUOTA_EXCEEDED",
	UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
	InvalidChat: "INVALID_CHAT",
	EmptyChat: "EMPTY_CHAT",
	ChatTooLarge: "CHAT_TOO_LARGE",
	RegistrationClosed: "REGISTRATION_CLOSED",
	InviteRequired: "INVITE_REQUIRED",
	InviteInvalid: "INVITE_INVALID",
	InviteUsedUp: "INVITE_USED_UP",
	LastAdmin: "LAST_ADMIN",
	ResetCodeInvalid: "RESET_CODE_INVALID",
	ApiKeyNotFound: "API_KEY_NOT_FOUND",
	TooManyApiKeys: "TOO_MANY_API_KEYS",
	LoginRequired: "LOGIN_REQUIRED",
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

/** A token of a disabled account: 401 like any token no longer accepted, with a code that lets clients say why. */
export const DisabledUserToken = () =>
	new MoleculerClientError("This account is disabled", 401, ErrorCode.UserDisabled);

/** A token logged out, or older than the last password change: 401, with a code that lets clients say why. */
export const RevokedToken = () =>
	new MoleculerClientError("This login has ended (logged out, or the password changed)", 401, ErrorCode.TokenRevoked);

/** PATCH /me or DELETE /me with a wrong password: 403, not 401, since the caller's token is still good. */
export const WrongPassword = () => new MoleculerClientError("The password is not right", 403, ErrorCode.WrongPassword);

export const UserNotFound = (username: string) =>
	new MoleculerClientError("User not found", 404, ErrorCode.UserNotFound, { username });

export const CharacterNotFound = (id: string) =>
	new MoleculerClientError("Character not found", 404, ErrorCode.CharacterNotFound, { id });

export const SlugTaken = (slug: string) =>
	new MoleculerClientError("A character with this slug already exists", 409, ErrorCode.SlugTaken, { slug });

/** /v1: no character the caller may see goes by this model id (another user's private one neither). */
export const ModelNotFound = (model: string) =>
	new MoleculerClientError(
		`The model '${model}' does not exist or you do not have access to it`,
		404,
		ErrorCode.ModelNotFound,
		{ param: "model" },
	);

/** /v1: a request the route refused (src/domain/openai-wire.ts), its OpenAI code as the type, the field named. */
export const CompletionRefused = (refusal: WireRefusal) =>
	new MoleculerClientError(refusal.message, refusal.status, refusal.code.toUpperCase(), { param: refusal.param });

/** /v1: the user's daily token quota is used up (the WebSocket's `quota_exceeded`). */
export const TokenQuotaExceeded = (retryAfterSeconds: number, detail: string) =>
	new MoleculerClientError(detail, 429, ErrorCode.TokenQuotaExceeded, { retryAfter: retryAfterSeconds });

/** /v1: the model's provider could not answer (its retries spent). */
export const ProviderUnavailable = (detail: string) =>
	new MoleculerClientError(detail, 503, ErrorCode.ProviderUnavailable);

/** The user's characters would take more storage than CHARACTERS_MAX_MB_PER_USER allows. */
export const QuotaExceeded = (usedBytes: number, addedBytes: number, maxBytes: number) =>
	new MoleculerClientError(
		`Your characters would take ${usedBytes + addedBytes} bytes; at most ${maxBytes} are allowed per user. Delete some, or import smaller cards.`,
		413,
		ErrorCode.QuotaExceeded,
		{ usedBytes, addedBytes, maxBytes },
	);

export const RateLimited = (retryAfterSeconds: number, detail = "Too many requests, slow down") =>
	new MoleculerClientError(detail, 429, ErrorCode.RateLimited, { retryAfter: retryAfterSeconds });

/** The user holds CHAT_MAX_SOCKETS_PER_USER sockets on this chat node already. */
export const TooManySockets = (max: number) =>
	new MoleculerClientError(
		`You have ${max} chats open on this server; close one first`,
		429,
		ErrorCode.TooManySockets,
		{
			retryAfter: 5,
		},
	);

/** Too much work queued already (password hashing): try again shortly. Not retryable by the broker. */
export const Busy = (retryAfterSeconds: number) =>
	new Errors.MoleculerError("The server is busy, try again shortly", 503, ErrorCode.Busy, {
		retryAfter: retryAfterSeconds,
	});

/** A chat node that is stopping refuses new handshakes; the client retries (another node, or this one restarted). */
export const ShuttingDown = () =>
	new Errors.MoleculerError("Server is restarting; retry", 503, ErrorCode.ShuttingDown, { retryAfter: 1 });

/** Same shape as the validator's own errors, for rules a params schema can't express. */
export const ValidationFailed = (detail: string, data: Array<Record<string, unknown>> = []) =>
	new Errors.ValidationError(detail, ErrorCode.ValidationFailed, data);

/** A character or chat preset names a model the operator does not allow (LLM_ALLOWED_MODELS); `field` names it. */
export const ModelNotAllowed = (field: string, model: string, allowed: readonly string[]) =>
	new MoleculerClientError(
		`The model "${model}" is not allowed on this server; allowed: ${allowed.join(", ")}`,
		422,
		ErrorCode.ModelNotAllowed,
		{ field, model, allowed },
	);

/** Unknown, or someone else's: both answer 404 (REST and chat handshake) so session ids cannot be probed. */
export const SessionNotFound = (id: string) =>
	new MoleculerClientError("Chat session not found", 404, ErrorCode.SessionNotFound, { id });

/** Unknown, or not a message of the session named with it (another session's, another user's): 404 alike. */
export const MessageNotFound = (id: string) =>
	new MoleculerClientError("Message not found in this chat session", 404, ErrorCode.MessageNotFound, { id });

/** Unknown, or someone else's persona: 404 alike (REST and chat handshake). */
export const PersonaNotFound = (id: string) =>
	new MoleculerClientError("Persona not found", 404, ErrorCode.PersonaNotFound, { id });

/** A user always has a persona: the only one cannot be deleted. */
export const LastPersona = (id: string) =>
	new MoleculerClientError("This is your only persona; create another before deleting it", 409, ErrorCode.LastPersona, {
		id,
	});

/** No prompt kept for this reply: not a reply of the session, or older than the last CHAT_PROMPT_INSPECTOR_REPLIES. */
export const PromptNotFound = (id: string) =>
	new MoleculerClientError("No prompt is kept for this reply", 404, ErrorCode.PromptNotFound, { id });

/** The reply is still being written (a first reply, a regeneration, a continuation): it can be edited once done. */
export const ReplyInProgress = (id: string) =>
	new MoleculerClientError(
		"This reply is still being written; try again once it is done",
		409,
		ErrorCode.ReplyInProgress,
		{ id },
	);

/** Only a reply to a user message has variants to choose from (not a user message, not the greeting). */
export const CannotSelect = (id: string) =>
	new MoleculerClientError(
		"Only a reply to one of your messages has variants to choose from",
		422,
		ErrorCode.CannotSelect,
		{ id },
	);

/** Unknown, or another user's private book: both answer 404, as for sessions. */
export const LorebookNotFound = (id: string) =>
	new MoleculerClientError("Lorebook not found", 404, ErrorCode.LorebookNotFound, { id });

/** A member of a room asked for what only its owner may do (its title, cast, reply mode, members, invites). */
export const NotRoomOwner = (id: string) =>
	new MoleculerClientError("Only the room's owner may do this", 403, ErrorCode.NotRoomOwner, { id });

/** Members and invites belong to rooms: a one-character chat becomes one when its owner sets a reply_mode. */
export const NotARoom = (id: string) =>
	new MoleculerClientError(
		"This chat is not a room; set its reply_mode first to let others in",
		409,
		ErrorCode.NotARoom,
		{ id },
	);

/** The room holds ROOM_MAX_MEMBERS people already (its owner included). */
export const RoomFull = (id: string, max: number) =>
	new MoleculerClientError(`This room is full (${max} people at most)`, 409, ErrorCode.RoomFull, { id, max });

/** An owner does not leave their room: they delete it. */
export const OwnerCannotLeave = (id: string) =>
	new MoleculerClientError("The owner cannot leave their room; delete it instead", 409, ErrorCode.OwnerCannotLeave, {
		id,
	});

/** Not a member of the room (never was, or left). */
export const MemberNotFound = (username: string) =>
	new MoleculerClientError("No such member in this room", 404, ErrorCode.MemberNotFound, { username });

/** Unknown or revoked, or its room refuses the caller (removed from it): 404 alike, so codes cannot be probed. */
export const InviteNotFound = () => new MoleculerClientError("Invite not found", 404, ErrorCode.InviteNotFound);

/** A search stopped by its statement timeout: a query that matches too much for the indexes to narrow it. */
export const SearchTooBroad = () =>
	new MoleculerClientError(
		"The search took too long; use longer or more specific words",
		422,
		ErrorCode.SearchTooBroad,
	);

/** The invite has expired or has been used as many times as it allows. */
export const InviteExpired = () =>
	new MoleculerClientError("This invite has expired or been used up", 410, ErrorCode.InviteExpired);

export const BadRequest = (detail: string) => new MoleculerClientError(detail, 400, ErrorCode.BadRequest);

export const NotFound = (detail = "Not found") => new MoleculerClientError(detail, 404, ErrorCode.NotFound);

/** A WebSocket upgrade can only be answered with a status, so its malformed parameters are a 400, not a 422. */
const HANDSHAKE_PROBLEMS: Record<HandshakeProblem, [number, ErrorCode]> = {
	malformed_url: [400, ErrorCode.BadRequest],
	not_a_chat_path: [404, ErrorCode.NotFound],
	unknown_character: [404, ErrorCode.CharacterNotFound],
	unknown_session: [404, ErrorCode.SessionNotFound],
	missing_token: [401, ErrorCode.Unauthorized],
	invalid_param: [400, ErrorCode.ValidationFailed],
};

/** A chat handshake refused by its URL (src/domain/chat-handshake.ts). */
export const HandshakeRejected = (problem: HandshakeProblem, detail: string) =>
	new MoleculerClientError(detail, HANDSHAKE_PROBLEMS[problem][0], HANDSHAKE_PROBLEMS[problem][1]);

const CARD_PROBLEMS: Record<CardProblem, [number, ErrorCode]> = {
	invalid_png: [400, ErrorCode.InvalidPng],
	invalid_image: [422, ErrorCode.InvalidImage],
	invalid_card: [422, ErrorCode.InvalidCard],
	invalid_form: [422, ErrorCode.InvalidForm],
	too_large: [413, ErrorCode.CardTooLarge],
	too_many_chunks: [422, ErrorCode.TooManyPngChunks],
	image_too_large: [422, ErrorCode.ImageTooLarge],
};

/** A character card or card PNG refused by the card domain (src/domain/character-card.ts, card-png.ts). */
export const CardRejected = (problem: CardProblem, detail: string, field?: string) =>
	new MoleculerClientError(detail, CARD_PROBLEMS[problem][0], CARD_PROBLEMS[problem][1], field ? { field } : undefined);

export const UnsupportedMediaType = (detail: string) =>
	new MoleculerClientError(detail, 415, ErrorCode.UnsupportedMediaType);

/** Runs card domain code, turning its refusals (CardError, thrown or rejected) into client errors. */
export function withCardErrors<T>(fn: () => T): T {
	const rethrow = (err: unknown): never => {
		if (err instanceof CardError) throw CardRejected(err.problem, err.message, err.field);
		throw err;
	};
	try {
		const result = fn();
		return (result instanceof Promise ? result.catch(rethrow) : result) as T;
	} catch (err) {
		return rethrow(err);
	}
}

const CHAT_IMPORT_PROBLEMS: Record<ChatImportProblem, [number, ErrorCode]> = {
	malformed: [422, ErrorCode.InvalidChat],
	empty: [422, ErrorCode.EmptyChat],
	too_large: [413, ErrorCode.ChatTooLarge],
};

/**
 * Runs chat-file code (src/domain/chat-export.ts), turning its refusals (ChatImportError, thrown or rejected) into client
 * errors; `line` (1-based) names the line at fault when there is one.
 */
export function withChatImportErrors<T>(fn: () => T): T {
	const rethrow = (err: unknown): never => {
		if (!(err instanceof ChatImportError)) throw err;
		const [status, code] = CHAT_IMPORT_PROBLEMS[err.problem];
		throw new MoleculerClientError(err.message, status, code, err.line ? { line: err.line } : undefined);
	};
	try {
		const result = fn();
		return (result instanceof Promise ? result.catch(rethrow) : result) as T;
	} catch (err) {
		return rethrow(err);
	}
}

/** REGISTRATION=closed: only a fresh install's first account may sign up. */
export const RegistrationClosed = () =>
	new MoleculerClientError("Registration is closed on this server", 403, ErrorCode.RegistrationClosed);

/** REGISTRATION=invite: a sign-up without, or with a code that does not work; `code` says which. */
export const SignupInviteRefused = (problem: "required" | "invalid" | "used_up" | "expired") => {
	const [detail, code] = {
		required: ["An invite code is needed to register on this server", ErrorCode.InviteRequired],
		invalid: ["This invite code is not valid", ErrorCode.InviteInvalid],
		used_up: ["This invite code has been used up", ErrorCode.InviteUsedUp],
		expired: ["This invite code has expired", ErrorCode.InviteExpired],
	}[problem];
	return new MoleculerClientError(detail, 403, code);
};

/** The change would leave the server without an admin (demoting or disabling the last one). */
export const LastAdmin = () =>
	new MoleculerClientError("The last admin cannot be demoted or disabled", 409, ErrorCode.LastAdmin);

/** Unknown user, wrong, used or expired code: one answer, so it tells a guesser nothing. */
export const ResetCodeInvalid = () =>
	new MoleculerClientError("This password-reset code is not valid", 403, ErrorCode.ResetCodeInvalid);

/** Unknown, or another user's key: 404 alike, so key ids cannot be probed. */
export const ApiKeyNotFound = (id: string) =>
	new MoleculerClientError("API key not found", 404, ErrorCode.ApiKeyNotFound, { id });

export const TooManyApiKeys = (max: number) =>
	new MoleculerClientError(
		`You have ${max} API keys, the most allowed; revoke one you no longer use first`,
		409,
		ErrorCode.TooManyApiKeys,
		{ max },
	);

/** Keys, password, deleting the account: an API key may not do these, only a login may (README, "API keys"). */
export const LoginRequired = () =>
	new MoleculerClientError(
		"An API key cannot do this; log in with your password (the account page) to do it",
		403,
		ErrorCode.LoginRequired,
	);

/** Refuses a request that came with an API key (`api_key_id` in `ctx.meta.user`, set by auth.validate). */
export function requireLogin(user: { api_key_id?: string } | undefined): void {
	if (user?.api_key_id !== undefined) throw LoginRequired();
}
