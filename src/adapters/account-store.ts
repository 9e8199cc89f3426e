/**
 * An account's own rows (issue 16): tokens taken back (migration 0014), a password change, and the deletion of the
 * account with everything that is its.
 * Deletion: the user's private characters are deleted (with every chat with them), public ones are handed to no one
 * (`created_by` NULL, as the seeds are: only admins may change them), so other people's chats with them go on; the
 * card's `creator` credit is blanked when it is the username. Deleting the user row then removes, by foreign keys,
 * their sessions and rooms with all messages, their messages in other people's rooms, personas, lorebooks, room
 * memberships, invites, room turns and logged-out tokens.
 */
import { QueryTypes, type ProjectionAlias, type Sequelize } from "sequelize";

/** validate's extra column: whether this token (by id) was logged out. The id is a checked UUID, escaped anyway. */
export function tokenRevoked(sequelize: Sequelize, tokenId: string): ProjectionAlias {
	return [
		sequelize.literal(`EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ${sequelize.escape(tokenId)})`),
		"token_revoked",
	];
}

/** What a deleted account leaves others to be told about. */
export interface DeletedAccount {
	/** Rooms the user owned, gone now, with the people who were in them besides the owner. */
	ownedRooms: { session_id: string; members: string[] }[];
	/** Other people's rooms the user was in: their member lists changed. */
	memberOf: string[];
}

export class AccountStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** Sets the new hash and moves the token generation on; returns the new generation (null: no such user). */
	async changePassword(userId: string, hashedPassword: string): Promise<number | null> {
		const [row] = await this.select<{ token_generation: number }>(
			`UPDATE users SET hashed_password = $2, token_generation = token_generation + 1, updated_at = now()
			WHERE id = $1 RETURNING token_generation`,
			[userId, hashedPassword],
		);
		return row ? row.token_generation : null;
	}

	/** Logs one token out until it would have expired (`dropExpiredRevocations` removes the entry after that). */
	async revokeToken(userId: string, tokenId: string, expiresAt: Date): Promise<void> {
		await this.sequelize.query(
			`INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING`,
			{ bind: [tokenId, userId, expiresAt] },
		);
	}

	/** Drops the entries of logged-out tokens expired by now: such a token is refused for its expiry anyway. */
	async dropExpiredRevocations(): Promise<void> {
		await this.sequelize.query(`DELETE FROM revoked_tokens WHERE expires_at < now()`);
	}

	/** Deletes the account and all that is its, in one transaction (see the file's comment). */
	async deleteAccount(user: { id: string; username: string }): Promise<DeletedAccount> {
		return this.sequelize.transaction(async (transaction) => {
			const select = <T extends object>(sql: string, bind: string[]) =>
				this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
			const owned = await select<{ session_id: string; members: string[] }>(
				`SELECT s.id AS session_id,
					coalesce(array_agg(m.username) FILTER (WHERE m.username IS NOT NULL), '{}') AS members
				FROM chat_sessions s
				LEFT JOIN session_members m ON m.session_id = s.id AND m.removed_at IS NULL AND m.username <> $1
				WHERE s.username = $1 AND s.reply_mode IS NOT NULL
				GROUP BY s.id`,
				[user.username],
			);
			const memberOf = await select<{ session_id: string }>(
				`SELECT m.session_id FROM session_members m JOIN chat_sessions s ON s.id = m.session_id
				WHERE m.username = $1 AND s.username <> $1 AND m.removed_at IS NULL`,
				[user.username],
			);
			await select(`DELETE FROM ai_characters WHERE created_by = $1 AND NOT is_public RETURNING id`, [user.id]);
			await select(
				`UPDATE ai_characters SET creator = '' WHERE created_by = $1 AND lower(creator) = lower($2) RETURNING id`,
				[user.id, user.username],
			);
			await select(`DELETE FROM users WHERE id = $1 RETURNING id`, [user.id]);
			return { ownedRooms: owned, memberOf: memberOf.map((r) => r.session_id) };
		});
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}
}
