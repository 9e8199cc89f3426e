/**
 * What every writer of characters (the characters and avatars services) does around a write: refuse one that would
 * take the owner over their storage quota, and afterwards clear every node's cached character reads.
 */
import type { ServiceBroker, LoggerInstance } from "moleculer";
import { QuotaExceeded } from "../errors.js";
import { CharacterEvent } from "../domain/characters.js";
import type { Character } from "../../models/index.js";

/** Refuses (413) a write that would take the user's characters over `maxBytes`. */
export async function checkStorageQuota(
	characters: typeof Character,
	userId: string,
	addedBytes: number,
	maxBytes: number,
): Promise<void> {
	if (addedBytes <= 0) return;
	const used = await characters.bytesOwnedBy(userId);
	if (used + addedBytes > maxBytes) throw QuotaExceeded(used, addedBytes, maxBytes);
}

/** Every cached characters.* read, on every node (the cacher is shared in a cluster, the others listen). */
export async function clearCharacterCaches(broker: ServiceBroker, logger: LoggerInstance): Promise<void> {
	broker.broadcast(CharacterEvent.Changed);
	try {
		await broker.cacher?.clean("characters.**");
	} catch (err) {
		// The write is committed; failing it now would invite a retry. The TTL bounds the staleness.
		logger.warn(`Could not clear the characters cache: ${(err as Error).message}`);
	}
}
