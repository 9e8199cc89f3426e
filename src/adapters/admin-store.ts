/**
 * The admins' rows (migration 0016): who may sign up (the first account, invites), users with their usage and
 * limits, password-reset codes. Usage is read from the stored messages (migration 0005's token columns), the same
 * figures the operators' `stats` sums.
 */
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { Registration } from "../config.js";
import {
	codeHash,
	newCode,
	RESET_CODE_TTL_SECONDS,
	effectiveLimits,
	endsAdminship,
	type AdminUserChanges,
	type AdminUserView,
	type InviteView,
	type LimitOverrides,
	type Limits,
	type ListUsersQuery,
} from "../domain/admin.js";
import { containsPattern } from "../domain/characters.js";

/** Arbitrary constant naming "cameo first account" in pg_advisory_lock's key space. */
const FIRST_ACCOUNT_LOCK_KEY = 0x6361_6d31;

/** What a sign-up may be refused for. */
export type SignupRefusal = "closed" | "required" | "invalid" | "used_up" | "expired";
export type SignupVerdict = { admitted: true; first: boolean } | { admitted: false; refusal: SignupRefusal };

interface UserRow extends LimitOverrides {
	id: string;
	username: string;
	name: string;
	role: string;
	is_disabled: boolean;
	created_at: Date;
	last_seen: Date | null;
	tokens_today: number;
	tokens_month: number;
	messages_today: number;
	own_key_tokens_month: number;
	own_provider: boolean;
}
interface InviteRow {
	code: string;
	max_uses: number;
	uses: number;
	expires_at: Date | null;
	created_by: string | null;
	created_at: Date;
}

export class AdminStore {
	constructor(private readonly sequelize: Sequelize) {}

	/**
	 * Within the sign-up's transaction, before the user row is inserted: whether this is the install's first account
	 * (then it is admitted whatever the mode), else whether the mode and `invite` let it in, taking one of the invite's
	 * uses (given back if the transaction fails). Two first sign-ups at once take turns on an advisory lock held to the
	 * end of the transaction, so exactly one of them sees no user.
	 */
	async admit(transaction: Transaction, registration: Registration, invite?: string): Promise<SignupVerdict> {
		if (await this.noUsers(transaction)) {
			await this.select(`SELECT pg_advisory_xact_lock($1)`, [FIRST_ACCOUNT_LOCK_KEY], transaction);
			if (await this.noUsers(transaction)) return { admitted: true, first: true };
		}
		if (registration === "open") return { admitted: true, first: false };
		if (registration === "closed") return { admitted: false, refusal: "closed" };
		if (!invite) return { admitted: false, refusal: "required" };
		const taken = await this.select<{ code: string }>(
			`UPDATE signup_invites SET uses = uses + 1
			WHERE code = $1 AND uses < max_uses AND (expires_at IS NULL OR expires_at > now()) RETURNING code`,
			[invite],
			transaction,
		);
		if (taken.length > 0) return { admitted: true, first: false };
		const [row] = await this.select<{ used_up: boolean }>(
			`SELECT uses >= max_uses AS used_up FROM signup_invites WHERE code = $1`,
			[invite],
			transaction,
		);
		return { admitted: false, refusal: !row ? "invalid" : row.used_up ? "used_up" : "expired" };
	}

	/** Whether no account exists yet: a fresh install, whose first sign-up gets in whatever REGISTRATION says. */
	async noUsers(transaction?: Transaction): Promise<boolean> {
		const [row] = await this.select<{ none: boolean }>(
			`SELECT NOT EXISTS (SELECT 1 FROM users) AS none`,
			[],
			transaction,
		);
		return row.none;
	}

	/** Users named in ADMIN_USERNAMES become admins (at start); returns those changed. */
	async promote(usernames: readonly string[]): Promise<string[]> {
		if (usernames.length === 0) return [];
		const rows = await this.select<{ username: string }>(
			`UPDATE users SET role = 'admin', updated_at = now()
			WHERE lower(username) = ANY($1::text[]) AND role <> 'admin' RETURNING username`,
			[usernames.map((n) => n.toLowerCase())],
		);
		return rows.map((r) => r.username);
	}

	async recordLogin(userId: string): Promise<void> {
		await this.sequelize.query(`UPDATE users SET last_login_at = now() WHERE id = $1`, { bind: [userId] });
	}

	/** Users by username, or those whose username or name contains `q`, with this month's usage. */
	async listUsers(query: ListUsersQuery, defaults: Limits): Promise<AdminUserView[]> {
		const rows = await this.select<UserRow>(
			`WITH page AS (
				SELECT id, username, name, role, is_disabled, created_at, last_login_at, tokens_per_day, messages_per_minute
				FROM users WHERE ($1::text IS NULL OR username ILIKE $1 OR name ILIKE $1) AND ($4::text IS NULL OR username = $4)
				ORDER BY username LIMIT $2 OFFSET $3)
			SELECT p.id, p.username, p.name, p.role, p.is_disabled, p.created_at, p.tokens_per_day, p.messages_per_minute,
				greatest(p.last_login_at, u.last_message_at) AS last_seen,
				coalesce(u.tokens_today, 0)::float8 AS tokens_today, coalesce(u.tokens_month, 0)::float8 AS tokens_month,
				coalesce(u.messages_today, 0)::int AS messages_today,
				coalesce(u.own_key_tokens_month, 0)::float8 AS own_key_tokens_month, (op.user_id IS NOT NULL) AS own_provider
			FROM page p LEFT JOIN user_providers op ON op.user_id = p.id LEFT JOIN LATERAL (
				SELECT sum(coalesce(m.input_tokens, 0) + coalesce(m.output_tokens, 0)) FILTER (WHERE NOT m.own_key
						AND m.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS tokens_today,
					sum(coalesce(m.input_tokens, 0) + coalesce(m.output_tokens, 0)) FILTER (WHERE NOT m.own_key) AS tokens_month,
					sum(coalesce(m.input_tokens, 0) + coalesce(m.output_tokens, 0)) FILTER (WHERE m.own_key) AS own_key_tokens_month,
					count(*) FILTER (WHERE m.role = 'user'
						AND m.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS messages_today,
					max(m.created_at) FILTER (WHERE m.role = 'user') AS last_message_at
				FROM messages m
				WHERE m.username = p.username
					AND m.created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
			) u ON true
			ORDER BY p.username`,
			[query.q ? containsPattern(query.q) : null, query.limit, query.offset, query.username ?? null],
		);
		return rows.map((row) => toAdminUserView(row, defaults));
	}

	/**
	 * Applies an admin's changes to `username`; null when there is no such user, "last_admin" when they would leave the
	 * server without an admin who can act. The admins' rows are locked first, so two admins demoting each other at
	 * once take turns and the second is refused.
	 */
	async updateUser(
		username: string,
		changes: AdminUserChanges,
	): Promise<{ id: string; username: string; is_disabled: boolean } | null | "last_admin"> {
		return this.sequelize.transaction(async (transaction) => {
			const admins = await this.select<{ username: string }>(
				`SELECT username FROM users WHERE role = 'admin' AND NOT is_disabled ORDER BY id FOR UPDATE`,
				[],
				transaction,
			);
			const [user] = await this.select<{ id: string; role: string; is_disabled: boolean }>(
				`SELECT id, role, is_disabled FROM users WHERE username = $1 FOR UPDATE`,
				[username],
				transaction,
			);
			if (!user) return null;
			const leaving = endsAdminship({ role: user.role, disabled: user.is_disabled }, changes);
			if (leaving && admins.length <= 1) return "last_admin";
			const set: string[] = [];
			const bind: unknown[] = [user.id];
			const column = (name: string, value: unknown) => {
				bind.push(value);
				set.push(`${name} = $${bind.length}`);
			};
			if (changes.disabled !== undefined) column("is_disabled", changes.disabled);
			if (changes.role !== undefined) column("role", changes.role);
			if (changes.tokens_per_day !== undefined) column("tokens_per_day", changes.tokens_per_day);
			if (changes.messages_per_minute !== undefined) column("messages_per_minute", changes.messages_per_minute);
			const [row] = await this.select<{ id: string; username: string; is_disabled: boolean }>(
				`UPDATE users SET ${[...set, "updated_at = now()"].join(", ")} WHERE id = $1
				RETURNING id, username, is_disabled`,
				bind,
				transaction,
			);
			return row;
		});
	}

	/**
	 * One user's limit overrides (chat nodes cache them); undefined for no such user. A user with their own provider
	 * key has no token quota: `tokens_per_day` 0 (unlimited).
	 */
	async limitOverrides(username: string): Promise<LimitOverrides | undefined> {
		const [row] = await this.select<LimitOverrides>(
			`SELECT CASE WHEN p.user_id IS NULL THEN u.tokens_per_day ELSE 0 END AS tokens_per_day, u.messages_per_minute
			FROM users u LEFT JOIN user_providers p ON p.user_id = u.id WHERE u.username = $1`,
			[username],
		);
		return row;
	}

	async createInvite(createdBy: string, uses: number, expiresIn?: number): Promise<InviteView> {
		const [row] = await this.select<InviteRow>(
			`INSERT INTO signup_invites (code, created_by, max_uses, expires_at)
			VALUES ($1, $2, $3, CASE WHEN $4::int IS NULL THEN NULL ELSE now() + make_interval(secs => $4::int) END)
			RETURNING *`,
			[newCode(), createdBy, uses, expiresIn ?? null],
		);
		return toInviteView(row);
	}

	/** Every invite, newest first (used-up and expired ones too, until an admin deletes them). */
	async invites(): Promise<InviteView[]> {
		const rows = await this.select<InviteRow>(`SELECT * FROM signup_invites ORDER BY created_at DESC, code`, []);
		return rows.map(toInviteView);
	}

	async deleteInvite(code: string): Promise<boolean> {
		const rows = await this.select(`DELETE FROM signup_invites WHERE code = $1 RETURNING code`, [code]);
		return rows.length > 0;
	}

	/** A new reset code for the user (earlier unused ones stop working); null for no such user. */
	async createResetCode(username: string): Promise<{ code: string; expires_at: string } | null> {
		const code = newCode();
		return this.sequelize.transaction(async (transaction) => {
			const [user] = await this.select<{ id: string }>(
				`SELECT id FROM users WHERE username = $1`,
				[username],
				transaction,
			);
			if (!user) return null;
			await this.select(`DELETE FROM password_resets WHERE user_id = $1 RETURNING user_id`, [user.id], transaction);
			const [row] = await this.select<{ expires_at: Date }>(
				`INSERT INTO password_resets (code_hash, user_id, expires_at)
				VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at`,
				[codeHash(code), user.id, RESET_CODE_TTL_SECONDS],
				transaction,
			);
			return { code, expires_at: row.expires_at.toISOString() };
		});
	}

	/** Spends `username`'s reset code: the user's id, or null when the code is unknown, theirs no more, used or expired. */
	async redeemResetCode(username: string, code: string): Promise<{ id: string; username: string } | null> {
		const [row] = await this.select<{ id: string; username: string }>(
			`UPDATE password_resets r SET used_at = now() FROM users u
			WHERE r.code_hash = $1 AND r.user_id = u.id AND lower(u.username) = lower($2)
				AND r.used_at IS NULL AND r.expires_at > now()
			RETURNING u.id, u.username`,
			[codeHash(code), username],
		);
		return row ?? null;
	}

	private select<T extends object>(sql: string, bind: unknown[], transaction?: Transaction): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
	}
}

function toAdminUserView(row: UserRow, defaults: Limits): AdminUserView {
	const overrides = { tokens_per_day: row.tokens_per_day, messages_per_minute: row.messages_per_minute };
	return {
		id: row.id,
		username: row.username,
		name: row.name,
		role: row.role,
		disabled: row.is_disabled,
		created_at: row.created_at.toISOString(),
		last_seen: row.last_seen ? new Date(row.last_seen).toISOString() : null,
		tokens_today: row.tokens_today,
		tokens_month: row.tokens_month,
		messages_today: row.messages_today,
		own_provider: row.own_provider,
		own_key_tokens_month: row.own_key_tokens_month,
		limits: effectiveLimits(overrides, defaults),
		limit_overrides: overrides,
	};
}

function toInviteView(row: InviteRow): InviteView {
	return {
		code: row.code,
		uses: row.max_uses,
		used: row.uses,
		expires_at: row.expires_at ? row.expires_at.toISOString() : null,
		created_by: row.created_by,
		created_at: row.created_at.toISOString(),
	};
}
