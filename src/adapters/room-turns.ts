/**
 * A room's replies, one at a time and in order (migration 0012's `room_turns`). A member's message queues the turns
 * its room's reply mode asks for, a `trigger` queues one, a regeneration one; the first starts (is published to
 * `chat.user.msg`) when no other is running, and each stored or failed reply starts the next. The table is the rooms'
 * outbox: a turn still running after the reply timeout is published again (its reply id follows from the turn, so a
 * duplicate costs a model call, never a second reply), and after the last attempt fails. Every change to a room's
 * queue holds its session row's lock, so two members writing at once still queue in one order.
 */
import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { Chan, type Publish, type UserMsgPayload } from "../domain/chat-wire.js";
import { speakersFor, type CastMember, type ReplyMode } from "../domain/rooms.js";

/** A reply a room is to make, and what asked for it. */
interface TurnRequest {
	origin: "message" | "trigger" | "regenerate";
	character_id: string;
	reply_to: string;
	requested_by: string;
	variant: number;
}

/** A room as its queue sees it, read under its lock. */
interface RoomQueueState {
	reply_mode: ReplyMode | null;
	cast: CastMember[];
	/** The character who spoke last, or is queued last. */
	last_speaker: string | null;
	last_message: { id: string; role: "user" | "ai"; reply_to: string | null; character_id: string } | null;
	/** Turns queued or running. */
	busy: boolean;
}

/** A turn that ran out of attempts: the room is told its reply could not be made. */
export interface FailedTurn {
	id: string;
	session_id: string;
	reply_to: string;
}

export type RegenerateRefusal = "not_last_reply" | "in_progress";

const STARTED_TURN = `
	WITH started AS (
		UPDATE room_turns SET status = 'running', started_at = now(), attempts = attempts + 1
		WHERE id = (SELECT id FROM room_turns WHERE session_id = $1 AND status = 'pending' ORDER BY seq LIMIT 1)
		  AND NOT EXISTS (SELECT 1 FROM room_turns WHERE session_id = $1 AND status = 'running')
		RETURNING *)
	${turnPayloads("started")}`;

/** Stale running turns, claimed for another attempt (or, past the last, to be reported failed). */
const STALE_TURNS = `
	WITH stale AS (
		UPDATE room_turns SET started_at = now(), attempts = attempts + 1,
			status = CASE WHEN attempts >= $2 THEN 'failed' ELSE status END
		WHERE id IN (SELECT id FROM room_turns WHERE status = 'running' AND started_at < now() - make_interval(secs => $1)
			ORDER BY started_at LIMIT 100 FOR UPDATE SKIP LOCKED)
		RETURNING *)
	${turnPayloads("stale")}`;

/**
 * Members' messages of the last hour, older than the reply timeout, that no turn answers in a room that answers
 * messages: chat-ws stored them but did not live to queue their replies.
 */
const UNQUEUED_MESSAGES = `
	SELECT m.id, m.session_id, m.username, m.content FROM messages m JOIN chat_sessions s ON s.id = m.session_id
	WHERE m.speaker IS NOT NULL AND m.role = 'user'
	  AND m.created_at > now() - interval '1 hour' AND m.created_at < now() - make_interval(secs => $1)
	  AND s.reply_mode IS DISTINCT FROM 'manual'
	  AND NOT EXISTS (SELECT 1 FROM room_turns t WHERE t.reply_to = m.id AND t.origin = 'message')
	LIMIT 100`;

/** Each turn as its `chat.user.msg` payload needs it: the text it answers and whom the asking member plays. */
function turnPayloads(from: string): string {
	return `SELECT t.id, t.session_id, t.character_id, t.reply_to, t.requested_by, t.variant, t.status, m.content,
			s.username AS owner,
			CASE WHEN s.username = t.requested_by THEN s.persona_id ELSE sm.persona_id END AS persona_id
		FROM ${from} t
		JOIN messages m ON m.id = t.reply_to
		JOIN chat_sessions s ON s.id = t.session_id
		LEFT JOIN session_members sm ON sm.session_id = t.session_id AND sm.username = t.requested_by`;
}

interface TurnPayloadRow {
	id: string;
	session_id: string;
	character_id: string;
	reply_to: string;
	requested_by: string;
	variant: number;
	status: string;
	content: string;
	owner: string;
	persona_id: string | null;
}

export class RoomTurns {
	constructor(
		private readonly sequelize: Sequelize,
		private readonly publish: Publish,
		private readonly logger: { warn(...a: unknown[]): void },
		private readonly limits: { replyTimeoutSeconds: number; replyMaxAttempts: number },
	) {}

	/** After a member's message: the replies the room's mode asks for, queued. */
	async afterMessage(message: { id: string; session_id: string; username: string; content: string }): Promise<void> {
		await this.queue(message.session_id, async (room, transaction) => {
			// Once: chat-ws and the outbox sweep may both come for a message whose delivery was slow.
			const [queued] = await this.sequelize.query(
				`SELECT 1 FROM room_turns WHERE reply_to = $1 AND origin = 'message' LIMIT 1`,
				{ bind: [message.id], type: QueryTypes.SELECT, transaction },
			);
			if (queued) return [];
			const speakers = speakersFor(room.reply_mode ?? "addressed", room.cast, message.content, room.last_speaker);
			return speakers.map((c) => ({
				origin: "message" as const,
				character_id: c.id,
				reply_to: message.id,
				requested_by: message.username,
				variant: 0,
			}));
		});
	}

	/** `characterId` speaks next after what is queued, following the room's latest message; false: not in its cast. */
	async trigger(sessionId: string, characterId: string, username: string): Promise<boolean> {
		let inCast = false;
		await this.queue(sessionId, (room) => {
			inCast = room.cast.some((c) => c.id === characterId) && room.last_message !== null;
			if (!inCast) return [];
			const turn = { character_id: characterId, reply_to: room.last_message!.id, requested_by: username, variant: 0 };
			return [{ origin: "trigger" as const, ...turn }];
		});
		return inCast;
	}

	/**
	 * Another variant of the room's last reply (`replyId`, if given, must be it; `replyTo` is what it answers), by the
	 * character who wrote it. Refused while replies are queued or running.
	 */
	async regenerate(
		sessionId: string,
		replyTo: string,
		replyId: string | undefined,
		username: string,
	): Promise<RegenerateRefusal | null> {
		let refusal: RegenerateRefusal | null = null;
		await this.queue(sessionId, async (room, transaction) => {
			const last = room.last_message;
			if (!last || last.role !== "ai" || last.reply_to !== replyTo || (replyId && last.id !== replyId)) {
				refusal = "not_last_reply";
			} else if (room.busy) refusal = "in_progress";
			if (refusal || !last) return [];
			const variant = await this.nextVariant(replyTo, transaction);
			const turn = { character_id: last.character_id, reply_to: replyTo, requested_by: username, variant };
			return [{ origin: "regenerate" as const, ...turn }];
		});
		return refusal;
	}

	/**
	 * A turn's reply was stored (or given up, or its message rewound): the room's next turn starts. False when the turn
	 * had ended already (a redelivery) or is gone.
	 */
	async finish(turnId: string, sessionId: string, status: "done" | "failed" = "done"): Promise<boolean> {
		const [, changed] = await this.sequelize.query(
			`UPDATE room_turns SET status = $2 WHERE id = $1 AND status IN ('pending', 'running')`,
			{ bind: [turnId, status], type: QueryTypes.UPDATE },
		);
		await this.advance(sessionId);
		return changed > 0;
	}

	/** Starts the room's next turn if none is running. */
	async advance(sessionId: string): Promise<void> {
		const started = await this.sequelize.transaction(async (transaction) => {
			await this.lock(sessionId, transaction);
			return this.startNext(sessionId, transaction);
		});
		for (const turn of started) await this.send(turn);
	}

	/**
	 * The outbox: turns running past the reply timeout are published again; those out of attempts are returned (the
	 * caller tells their room) and their rooms move on; rooms with turns queued and none running are started; recent
	 * messages whose turns were never queued are queued now.
	 */
	async sweep(): Promise<FailedTurn[]> {
		const unqueued = await this.sequelize.query<{ id: string; session_id: string; username: string; content: string }>(
			UNQUEUED_MESSAGES,
			{ bind: [this.limits.replyTimeoutSeconds], type: QueryTypes.SELECT },
		);
		for (const message of unqueued) await this.afterMessage(message);
		const stale = await this.sequelize.query<TurnPayloadRow>(STALE_TURNS, {
			bind: [this.limits.replyTimeoutSeconds, this.limits.replyMaxAttempts],
			type: QueryTypes.SELECT,
		});
		const failed = stale.filter((t) => t.status === "failed");
		for (const turn of stale) if (turn.status !== "failed") await this.send(turn);
		const idle = await this.sequelize.query<{ session_id: string }>(
			`SELECT DISTINCT session_id FROM room_turns p WHERE status = 'pending' AND created_at < now() - interval '5 seconds'
			   AND NOT EXISTS (SELECT 1 FROM room_turns r WHERE r.session_id = p.session_id AND r.status = 'running')
			 LIMIT 100`,
			{ type: QueryTypes.SELECT },
		);
		const rooms = new Set([...failed.map((t) => t.session_id), ...idle.map((r) => r.session_id)]);
		for (const sessionId of rooms) await this.advance(sessionId);
		return failed.map(({ id, session_id, reply_to }) => ({ id, session_id, reply_to }));
	}

	/** Reads the room under its lock, queues what `plan` asks for and starts the first turn if none is running. */
	private async queue(
		sessionId: string,
		plan: (room: RoomQueueState, transaction: Transaction) => TurnRequest[] | Promise<TurnRequest[]>,
	): Promise<void> {
		const started = await this.sequelize.transaction(async (transaction) => {
			await this.lock(sessionId, transaction);
			const turns = await plan(await this.state(sessionId, transaction), transaction);
			if (turns.length === 0) return [];
			await this.sequelize.query(
				`INSERT INTO room_turns (id, session_id, character_id, reply_to, requested_by, variant, origin)
				 SELECT id, $1, character_id, reply_to, requested_by, variant, origin
				 FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::text[]) WITH ORDINALITY
					AS t(id, character_id, reply_to, requested_by, variant, origin, n)
				 ORDER BY n`,
				{
					bind: [
						sessionId,
						turns.map(() => randomUUID()),
						turns.map((t) => t.character_id),
						turns.map((t) => t.reply_to),
						turns.map((t) => t.requested_by),
						turns.map((t) => t.variant),
						turns.map((t) => t.origin),
					],
					transaction,
				},
			);
			return this.startNext(sessionId, transaction);
		});
		for (const turn of started) await this.send(turn);
	}

	private async lock(sessionId: string, transaction: Transaction): Promise<void> {
		await this.sequelize.query(`SELECT 1 FROM chat_sessions WHERE id = $1 FOR UPDATE`, {
			bind: [sessionId],
			transaction,
		});
	}

	private async state(sessionId: string, transaction: Transaction): Promise<RoomQueueState> {
		const [row] = await this.sequelize.query<{
			reply_mode: ReplyMode | null;
			cast: CastMember[];
			last_turn: string | null;
			last_message: RoomQueueState["last_message"];
			busy: boolean;
		}>(
			`SELECT s.reply_mode,
				COALESCE((SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY k.n)
					FROM unnest(COALESCE(s.character_ids, ARRAY[s.character_id])) WITH ORDINALITY AS k(id, n)
					JOIN ai_characters c ON c.id = k.id), '[]') AS cast,
				(SELECT character_id FROM room_turns t WHERE t.session_id = s.id ORDER BY seq DESC LIMIT 1) AS last_turn,
				(SELECT json_build_object('id', m.id, 'role', m.role, 'reply_to', m.reply_to, 'character_id', m.character_id)
					FROM messages m WHERE m.session_id = s.id AND (m.role = 'user' OR m.active) ORDER BY seq DESC LIMIT 1)
					AS last_message,
				EXISTS (SELECT 1 FROM room_turns t WHERE t.session_id = s.id AND t.status IN ('pending', 'running')) AS busy
			 FROM chat_sessions s WHERE s.id = $1`,
			{ bind: [sessionId], type: QueryTypes.SELECT, transaction },
		);
		const lastReply = row?.last_message?.role === "ai" ? row.last_message.character_id : null;
		return {
			reply_mode: row?.reply_mode ?? null,
			cast: row?.cast ?? [],
			last_speaker: row?.last_turn ?? lastReply,
			last_message: row?.last_message ?? null,
			busy: row?.busy ?? false,
		};
	}

	private async nextVariant(replyTo: string, transaction: Transaction): Promise<number> {
		const [row] = await this.sequelize.query<{ next: number }>(
			`SELECT COALESCE(max(variant), -1) + 1 AS next FROM messages WHERE reply_to = $1`,
			{ bind: [replyTo], type: QueryTypes.SELECT, transaction },
		);
		return Math.max(1, row?.next ?? 1);
	}

	private startNext(sessionId: string, transaction: Transaction): Promise<TurnPayloadRow[]> {
		return this.sequelize.query<TurnPayloadRow>(STARTED_TURN, {
			bind: [sessionId],
			type: QueryTypes.SELECT,
			transaction,
		});
	}

	/** Publishes a started turn; if the publish is lost, the sweep publishes it again. */
	private async send(turn: TurnPayloadRow): Promise<void> {
		const payload: UserMsgPayload = {
			message_id: turn.reply_to,
			session_id: turn.session_id,
			username: turn.requested_by,
			character_id: turn.character_id,
			content: turn.content,
			variant: turn.variant,
			room: { turn_id: turn.id, owner: turn.owner, persona_id: turn.persona_id },
		};
		await this.publish(Chan.UserMsg, payload).catch((err: Error) =>
			this.logger.warn(
				{ session_id: turn.session_id, turn_id: turn.id },
				`Publish of a room turn failed, the sweep retries: ${err.message}`,
			),
		);
	}
}
