/**
 * Running cameo for others (issue 17): what the admin routes take and answer, the per-user limits and how they
 * combine with the server's defaults, and the one-time codes (sign-up invites, password resets).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Registration } from "../config.js";

/** A user's own limits; null: the server's default applies. */
export interface LimitOverrides {
	tokens_per_day: number | null;
	messages_per_minute: number | null;
}
export interface Limits {
	/** 0 = unlimited. */
	tokens_per_day: number;
	messages_per_minute: number;
}

/** The limits that hold for a user: their own where an admin set one, else the server's. */
export function effectiveLimits(overrides: LimitOverrides | undefined, defaults: Limits): Limits {
	return {
		tokens_per_day: overrides?.tokens_per_day ?? defaults.tokens_per_day,
		messages_per_minute: overrides?.messages_per_minute ?? defaults.messages_per_minute,
	};
}

/**
 * Who may sign up now, as GET /config tells the sign-up form: REGISTRATION, except on a fresh install, whose first
 * account gets in whatever it says (and becomes the admin).
 */
export function signupMode(registration: Registration, fresh: boolean): Registration {
	return fresh ? "open" : registration;
}

/** Whether `username` is named in ADMIN_USERNAMES (usernames are unique regardless of case). */
export function namedAdmin(adminUsernames: readonly string[], username: string): boolean {
	const lower = username.toLowerCase();
	return adminUsernames.some((name) => name.toLowerCase() === lower);
}

/** A user as GET /admin/users shows it: account, usage and limits. */
export interface AdminUserView {
	id: string;
	username: string;
	name: string;
	role: string;
	disabled: boolean;
	created_at: string;
	/** The latest of their last login and their last message this month; null: neither. */
	last_seen: string | null;
	/** Prompt and reply tokens of their chats' replies since 00:00 UTC, and since the 1st of the month (UTC). */
	tokens_today: number;
	tokens_month: number;
	/** Messages they sent since 00:00 UTC. */
	messages_today: number;
	/** They set their own provider key (PUT /me/provider): their replies cost the server nothing, no token quota. */
	own_provider: boolean;
	/** Tokens of replies made with their own key this month (left out of `tokens_today` and `tokens_month`). */
	own_key_tokens_month: number;
	limits: Limits;
	/** What an admin set for this user (null: the default). */
	limit_overrides: LimitOverrides;
}

export interface ListUsersQuery {
	q?: string;
	/** Exact match, for one user. */
	username?: string;
	limit: number;
	offset: number;
}

/** PATCH /admin/users/{username}: each field optional; a limit of null clears the override. */
export interface AdminUserChanges {
	disabled?: boolean;
	role?: "user" | "admin";
	tokens_per_day?: number | null;
	messages_per_minute?: number | null;
}
export type AdminUserUpdate = AdminUserChanges & { username: string };

/** Whether a change takes `user` out of the admins who can act (demoted or disabled). */
export function endsAdminship(user: { role: string; disabled: boolean }, changes: AdminUserChanges): boolean {
	if (user.role !== "admin" || user.disabled) return false;
	return changes.role === "user" || changes.disabled === true;
}

/** Whether a change touches the user's limits (then every chat node must drop what it cached). */
export function changesLimits(changes: AdminUserChanges): boolean {
	return changes.tokens_per_day !== undefined || changes.messages_per_minute !== undefined;
}

export interface InviteView {
	code: string;
	uses: number;
	used: number;
	expires_at: string | null;
	created_by: string | null;
	created_at: string;
}
export interface CreateInviteParams {
	/** How many accounts it may make (default 1). */
	uses?: number;
	/** Seconds until it stops working (default: never). */
	expires_in?: number;
}

/** How long an admin's password-reset code works. */
export const RESET_CODE_TTL_SECONDS = 24 * 3600;

export interface PasswordResetParams {
	username: string;
	code: string;
	password: string;
}

/** 128 random bits, URL-safe: sign-up invites and password-reset codes. */
export function newCode(): string {
	return randomBytes(16).toString("base64url");
}

/** What is stored of a reset code: a fast hash suffices for 128 random bits (nothing to brute-force). */
export function codeHash(code: string): string {
	return createHash("sha256").update(code).digest("hex");
}

/** Broadcast when an admin changes a user's limits: chat nodes drop the limits they cached for that user. */
export const AdminEvent = { LimitsChanged: "user.limits.changed" } as const;
export interface LimitsChangedPayload {
	username: string;
}
