/**
 * The `api_keys` rows (migration 0020): a user's keys, kept as digests (src/domain/api-keys.ts), and the lookup
 * auth.validate makes for a key on every request it comes with.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import { toAuthUser, type AccountRecord, type AuthUser } from "../domain/accounts.js";
import {
	hashApiKey,
	isWellFormedApiKey,
	lastUseStale,
	LAST_USED_RESOLUTION_MS,
	type ApiKeyRecord,
} from "../domain/api-keys.js";
import { DisabledUserToken, Unauthorized } from "../errors.js";

const COLUMNS = "id, name, hint, created_at, last_used_at";

/** A key's owner as auth.validate needs them, with the key's id and its last recorded use. */
export interface KeyHolder extends AccountRecord {
	key_id: string;
	last_used_at: Date | null;
}

export type KeyCreation = { created: ApiKeyRecord } | { refused: "no_user" | "too_many" };

export class ApiKeyStore {
	constructor(private readonly sequelize: Sequelize) {}

	/**
	 * Stores a key of `userId`'s unless they hold `max` already. The user's row is locked while counting, so keys
	 * created at the same time cannot pass the cap together.
	 */
	async create(userId: string, key: { name: string; hash: string; hint: string }, max: number): Promise<KeyCreation> {
		return this.sequelize.transaction(async (transaction) => {
			const select = <T extends object>(sql: string, bind: unknown[]) =>
				this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });
			const [user] = await select(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
			if (!user) return { refused: "no_user" };
			// Counted in a statement of its own, after the lock: one statement's snapshot predates its wait for the lock.
			const [{ keys }] = await select<{ keys: string }>(`SELECT count(*) AS keys FROM api_keys WHERE user_id = $1`, [
				userId,
			]);
			if (Number(keys) >= max) return { refused: "too_many" };
			const [created] = await select<ApiKeyRecord>(
				`INSERT INTO api_keys (user_id, name, key_hash, hint) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
				[userId, key.name, key.hash, key.hint],
			);
			return { created };
		});
	}

	/** The user's keys, newest first. */
	list(userId: string): Promise<ApiKeyRecord[]> {
		return this.sequelize.query<ApiKeyRecord>(
			`SELECT ${COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id`,
			{ bind: [userId], type: QueryTypes.SELECT },
		);
	}

	/** Deletes one of the user's keys; their username (whose sockets to tell), or null when they have no such key. */
	async remove(userId: string, id: string): Promise<string | null> {
		const [gone] = await this.sequelize.query<{ username: string }>(
			`DELETE FROM api_keys k USING users u WHERE k.id = $1 AND k.user_id = $2 AND u.id = k.user_id RETURNING u.username`,
			{ bind: [id, userId], type: QueryTypes.SELECT },
		);
		return gone?.username ?? null;
	}

	/** The key with this digest and its owner: one lookup by the unique index, then the user by primary key. */
	async holder(hash: string): Promise<KeyHolder | null> {
		const [row] = await this.sequelize.query<KeyHolder>(
			`SELECT k.id AS key_id, k.last_used_at, u.id, u.username, u.name, u.role, u.show_nsfw, u.is_disabled, u.created_at
			FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1`,
			{ bind: [hash], type: QueryTypes.SELECT },
		);
		return row ?? null;
	}

	/** Records a use, unless another request (on any node) did within the last minute. */
	async touch(id: string): Promise<void> {
		await this.sequelize.query(
			`UPDATE api_keys SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
			{ bind: [id, LAST_USED_RESOLUTION_MS / 1000] },
		);
	}
}

/**
 * auth.validate for a token with the key prefix: the key's owner, its id as the token's (a revoked key's sockets close
 * as a logged-out token's do), or 401: malformed, unknown or revoked alike; a disabled owner as for a login token.
 * Recording the use may fail without failing the request (`onTouchFailed`).
 */
export async function apiKeyUser(
	store: ApiKeyStore,
	token: string,
	onTouchFailed: (err: unknown) => void,
): Promise<AuthUser> {
	if (!isWellFormedApiKey(token)) throw Unauthorized("Invalid API key");
	const holder = await store.holder(hashApiKey(token));
	if (!holder) throw Unauthorized("Invalid API key");
	if (holder.is_disabled) throw DisabledUserToken();
	if (lastUseStale(holder.last_used_at)) await store.touch(holder.key_id).catch(onTouchFailed);
	return { ...toAuthUser(holder), token_id: holder.key_id, api_key_id: holder.key_id };
}
