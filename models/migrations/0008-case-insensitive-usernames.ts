/**
 * Usernames are unique regardless of case (issue 11): `Alice` could register beside `alice`, a lookalike account.
 * Login still matches the username exactly as it was registered.
 * Accounts that already differ from an older one only in case keep their data under a new name, the first 25
 * characters of the old one plus `-` and the start of their id (e.g. `Alice-3f2a9c`): operators find them with the
 * REPL's `user` command and tell their owners. Their tokens stop working (a token names its username).
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	// Sessions and messages follow the rename (their username foreign keys are ON UPDATE CASCADE).
	await qi.sequelize.query(`
		UPDATE users u SET username = left(u.username, 25) || '-' || left(u.id::text, 6)
		WHERE EXISTS (
			SELECT 1 FROM users older
			WHERE lower(older.username) = lower(u.username) AND (older.created_at, older.id) < (u.created_at, u.id)
		);
		CREATE UNIQUE INDEX IF NOT EXISTS ux_users_username_lower ON users (lower(username));
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`DROP INDEX IF EXISTS ux_users_username_lower;`);
};
