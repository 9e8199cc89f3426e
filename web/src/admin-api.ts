/**
 * What the admin console (issue 17) reads of the admin routes' answers (services/admin.service.ts,
 * services/moderation.service.ts; src/domain/admin.ts and moderation.ts have the server's side, which the client may
 * not import), and who may sign up (GET /config).
 */
import { api } from "./api";

export type Registration = "open" | "invite" | "closed";

/** GET /config: who may sign up now (open on a fresh install, whatever REGISTRATION says). */
export async function registrationMode(): Promise<Registration> {
	return (await api<{ registration: Registration }>("/config", { anonymous: true })).registration;
}

interface Limits {
	/** 0: unlimited. */
	tokens_per_day: number;
	messages_per_minute: number;
}

/** A user as GET /admin/users lists them. */
export interface AdminUser {
	username: string;
	name: string;
	role: string;
	disabled: boolean;
	last_seen: string | null;
	tokens_today: number;
	tokens_month: number;
	messages_today: number;
	/** What holds for them. */
	limits: Limits;
	/** What an admin set for them; null: the server's default. */
	limit_overrides: { [K in keyof Limits]: number | null };
}

/** PATCH /admin/users/{username}: a limit of null clears the user's own. */
export type AdminUserChanges = Partial<Pick<AdminUser, "disabled" | "role">> & Partial<AdminUser["limit_overrides"]>;

export function updateUser(username: string, changes: AdminUserChanges): Promise<AdminUser> {
	return api<AdminUser>(`/admin/users/${encodeURIComponent(username)}`, { method: "PATCH", body: changes });
}

export interface SignupInvite {
	code: string;
	uses: number;
	used: number;
	expires_at: string | null;
	created_by: string | null;
	created_at: string;
}

/** GET /admin/stats: open sockets, queue depths (null: not available), the last minutes' traffic. */
export interface LiveFigures {
	sockets: { count: number; nodes: string[]; failures: unknown[] };
	queues: { queue: string; messages: number | null; consumers: number | null }[] | null;
	traffic: {
		minutes: number;
		user_messages_per_minute: number;
		replies_per_minute: number;
		latency_p50_ms: number | null;
		latency_p99_ms: number | null;
		failed_replies: number;
	};
}

/** A report as GET /admin/reports lists it. */
export interface ReportView {
	id: string;
	reason: string;
	created_at: string;
	character: { id: string; name: string; owner: string | null; hidden: boolean; nsfw: boolean; open_reports: number };
	reporter: string;
	resolved_at: string | null;
	resolved_by: string | null;
	resolution: string | null;
}
