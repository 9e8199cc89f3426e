/**
 * Rooms (issue 15): a session with several characters and several people.
 * - `chat_sessions.reply_mode` is set for a room (null: a one-character chat, as before); `character_ids` is its cast
 *   in speaking order (`character_id` stays the first, so every query that reads it still works).
 * - `session_members`: who is in a room besides its owner (`chat_sessions.username`), with the persona each plays.
 *   A member the owner removed keeps a row with `removed_at`: they cannot rejoin by a link (only the owner adds them).
 * - `session_invites`: links that let someone join, single or multi use, with an expiry.
 * - `messages.speaker`: in a room, the persona name a user message was sent under (what the others and the prompt see).
 * - `room_turns`: the room's queue of replies to make, one generating at a time, in order; it is the room's outbox
 *   (a reply whose turn stays `running` past the reply timeout is asked for again), as `reply_status` is a chat's.
 *   A reply's id is derived from its turn's id and variant, so a redelivered turn repeats it. A member's message whose
 *   turns were never queued (its chat-ws node died in between) is found through `ix_messages_room_recent`. `origin`
 *   says what asked for a turn (a message, a trigger, a regeneration): a message's turns are queued once.
 */
import type { MigrationFn } from "umzug";
import type { QueryInterface } from "sequelize";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		ALTER TABLE chat_sessions ADD COLUMN IF NOT EXISTS reply_mode text, ADD COLUMN IF NOT EXISTS character_ids uuid[];
		ALTER TABLE messages ADD COLUMN IF NOT EXISTS speaker text;
		CREATE INDEX IF NOT EXISTS ix_messages_room_recent ON messages (created_at) WHERE speaker IS NOT NULL AND role = 'user';

		CREATE TABLE IF NOT EXISTS session_members (
			session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
			username varchar(32) NOT NULL REFERENCES users (username) ON UPDATE CASCADE ON DELETE CASCADE,
			persona_id uuid REFERENCES personas (id) ON DELETE SET NULL,
			joined_at timestamptz NOT NULL DEFAULT now(),
			removed_at timestamptz,
			PRIMARY KEY (session_id, username)
		);
		CREATE INDEX IF NOT EXISTS ix_session_members_user ON session_members (username);

		CREATE TABLE IF NOT EXISTS session_invites (
			code text PRIMARY KEY,
			session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
			created_by varchar(32) NOT NULL REFERENCES users (username) ON UPDATE CASCADE ON DELETE CASCADE,
			max_uses integer,
			uses integer NOT NULL DEFAULT 0,
			expires_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_session_invites_session ON session_invites (session_id);

		CREATE TABLE IF NOT EXISTS room_turns (
			id uuid PRIMARY KEY,
			seq bigserial NOT NULL,
			session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
			variant integer NOT NULL DEFAULT 0,
			character_id uuid NOT NULL REFERENCES ai_characters (id) ON DELETE CASCADE,
			reply_to uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
			requested_by varchar(32) NOT NULL REFERENCES users (username) ON UPDATE CASCADE ON DELETE CASCADE,
			origin text NOT NULL DEFAULT 'message',
			status text NOT NULL DEFAULT 'pending',
			attempts integer NOT NULL DEFAULT 0,
			started_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX IF NOT EXISTS ix_room_turns_queue ON room_turns (session_id, seq) WHERE status IN ('pending', 'running');
		CREATE INDEX IF NOT EXISTS ix_room_turns_stale ON room_turns (started_at) WHERE status = 'running';
		CREATE INDEX IF NOT EXISTS ix_room_turns_reply_to ON room_turns (reply_to);
	`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
	await qi.sequelize.query(`
		DROP TABLE IF EXISTS room_turns;
		DROP TABLE IF EXISTS session_invites;
		DROP TABLE IF EXISTS session_members;
		ALTER TABLE messages DROP COLUMN IF EXISTS speaker;
		ALTER TABLE chat_sessions DROP COLUMN IF EXISTS character_ids, DROP COLUMN IF EXISTS reply_mode;
	`);
};
