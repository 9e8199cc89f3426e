/**
 * Per-user limits as a chat node sees them: an admin's overrides (migration 0016) read from PostgreSQL at a user's
 * first message and kept for LIMITS_TTL_MS. An admin's change is broadcast (`user.limits.changed`) and drops the
 * user's entry on every node at once; the TTL bounds how stale an entry can get should that event be missed.
 */
import type { Sequelize } from "sequelize";
import { AdminStore } from "./admin-store.js";
import { effectiveLimits, type LimitOverrides, type Limits } from "../domain/admin.js";

const LIMITS_TTL_MS = 30_000;
/** Entries kept at most; the oldest go first (a map keeps insertion order). */
const MAX_ENTRIES = 10_000;

export class UserLimits {
	private readonly store: AdminStore;
	private readonly cached = new Map<string, { overrides: LimitOverrides | undefined; until: number }>();

	constructor(
		sequelize: Sequelize,
		private readonly defaults: Limits,
	) {
		this.store = new AdminStore(sequelize);
	}

	async of(username: string): Promise<Limits> {
		const now = Date.now();
		let entry = this.cached.get(username);
		if (!entry || entry.until <= now) {
			entry = { overrides: await this.store.limitOverrides(username), until: now + LIMITS_TTL_MS };
			this.cached.delete(username);
			if (this.cached.size >= MAX_ENTRIES) this.cached.delete(this.cached.keys().next().value as string);
			this.cached.set(username, entry);
		}
		return effectiveLimits(entry.overrides, this.defaults);
	}

	/** An admin changed this user's limits: the next message reads them again. */
	drop(username: string): void {
		this.cached.delete(username);
	}
}
