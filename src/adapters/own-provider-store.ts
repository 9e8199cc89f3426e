/**
 * PostgreSQL access for users' own providers (migration 0019): one row per user, the key already encrypted by the
 * caller; and the tokens their replies spent through it (messages marked `own_key`).
 */
import { QueryTypes, type Sequelize } from "sequelize";
import type { OwnProviderName, OwnProviderView, StoredOwnProvider } from "../domain/own-provider.js";

export interface OwnProviderRow {
	provider: OwnProviderName;
	model: string | null;
	base_url: string | null;
	key_ciphertext: string;
	key_last4: string;
}

export class OwnProviderStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** Sets (or replaces) the user's provider; false when the user is gone. */
	async put(userId: string, row: OwnProviderRow): Promise<boolean> {
		const saved = await this.select(
			`INSERT INTO user_providers (user_id, provider, model, base_url, key_ciphertext, key_last4)
			SELECT id, $2, $3, $4, $5, $6 FROM users WHERE id = $1
			ON CONFLICT (user_id) DO UPDATE SET provider = EXCLUDED.provider, model = EXCLUDED.model,
				base_url = EXCLUDED.base_url, key_ciphertext = EXCLUDED.key_ciphertext, key_last4 = EXCLUDED.key_last4,
				updated_at = now()
			RETURNING user_id`,
			[userId, row.provider, row.model, row.base_url, row.key_ciphertext, row.key_last4],
		);
		return saved.length > 0;
	}

	/** What GET /me/provider shows, with the tokens spent through it (the month's replies, by the username index). */
	async view(userId: string): Promise<OwnProviderView | undefined> {
		const [row] = await this.select<Omit<OwnProviderView, "updated_at"> & { updated_at: Date }>(
			`SELECT p.provider, p.model, p.base_url, p.key_last4, p.updated_at,
				coalesce(t.today, 0)::float8 AS tokens_today, coalesce(t.month, 0)::float8 AS tokens_month
			FROM user_providers p JOIN users u ON u.id = p.user_id
			LEFT JOIN LATERAL (
				SELECT sum(coalesce(m.input_tokens, 0) + coalesce(m.output_tokens, 0))
						FILTER (WHERE m.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS today,
					sum(coalesce(m.input_tokens, 0) + coalesce(m.output_tokens, 0)) AS month
				FROM messages m
				WHERE m.username = u.username AND m.own_key
					AND m.created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
			) t ON true
			WHERE p.user_id = $1`,
			[userId],
		);
		return row && { ...row, updated_at: row.updated_at.toISOString() };
	}

	async remove(userId: string): Promise<boolean> {
		const rows = await this.select(`DELETE FROM user_providers WHERE user_id = $1 RETURNING user_id`, [userId]);
		return rows.length > 0;
	}

	/** The ai-consumer's read: the sealed key of `username`'s provider, if they set one. */
	async sealed(username: string): Promise<StoredOwnProvider | undefined> {
		const [row] = await this.select<StoredOwnProvider>(
			`SELECT p.user_id, p.provider, p.model, p.base_url, p.key_ciphertext
			FROM user_providers p JOIN users u ON u.id = p.user_id WHERE u.username = $1`,
			[username],
		);
		return row;
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}
}
