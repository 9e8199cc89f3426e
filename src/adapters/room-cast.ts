/**
 * A room's cast as its owner may choose it: each character through `characters.get` with the caller's meta, so a
 * character they may not see is a 404 CHARACTER_NOT_FOUND exactly as everywhere else (and cached as there).
 */
import type { Context } from "moleculer";
import type { GreetingSource } from "../domain/chat-handshake.js";

export interface CastCharacter extends GreetingSource {
	id: string;
}

/** The characters `ids` in that order; rejects with the first one the caller may not see. */
export function castOf(ctx: Context, ids: readonly string[]): Promise<CastCharacter[]> {
	return Promise.all(ids.map((id) => ctx.call<CastCharacter, { id: string }>("characters.get", { id })));
}
