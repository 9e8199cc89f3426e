/** What the chat socket's close codes mean to the client (README, Chat over WebSocket: Closing). */

/**
 * Why the connection stopped: the token expired (4001), the account was disabled (4003), the owner removed you from
 * the room (4003 with that reason), the character is no longer available (4004), the client went over its limits
 * (1008), or handshakes were refused MAX_REFUSALS times in a row.
 */
export type StopReason = "expired" | "disabled" | "removed" | "unavailable" | "over_limits" | "refused";

/** The reason a removed member's sockets of a room are closed with (code 4003, as a disabled account's). */
export const REMOVED_REASON = "Removed from the room";

const STOP_CODES: Record<number, StopReason> = {
	1008: "over_limits",
	4001: "expired",
	4003: "disabled",
	4004: "unavailable",
};

/** Why a close stops the reconnecting, if it does: a 4003 is a removal from the room when its reason says so. */
export function stopReason(event: { code: number; reason: string }): StopReason | undefined {
	if (event.code === 4003 && event.reason === REMOVED_REASON) return "removed";
	return STOP_CODES[event.code];
}
