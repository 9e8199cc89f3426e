/**
 * The lorebook `npm run bench -- --lorebook N` makes active in every chat of the chat phases: N entries, like a large
 * world-info file from a character hub. A few fire on the words of the bench's messages (bench/load.ts PAYLOADS), a
 * few always (constant), some only with a secondary key, some by regular expression, and most never: each message
 * is matched against all of them, which is what the option measures.
 */

/** Words of the bench's messages: the entries keyed on them fire on most messages. */
const FIRING_KEYS = ["lighthouse", "storm", "ship", "keeper", "logbook"];

const PARAGRAPH =
	"The coast below the hill is rocky and the fog comes in fast in autumn. Fishermen tell of lights seen far out at " +
	"sea on nights when no boat was out, and of a bell that rings under the water when a storm is near.";

/** Entries as POST /lorebooks takes them (cameo's normal form, fields left out take their defaults). */
export function benchLoreEntries(count: number): Record<string, unknown>[] {
	return Array.from({ length: count }, (_, i) => {
		const entry = { name: `Entry ${i}`, content: `${PARAGRAPH} (${i})`, insertion_order: i, priority: i % 10 };
		if (i < FIRING_KEYS.length) return { ...entry, keys: [FIRING_KEYS[i]] };
		if (i < FIRING_KEYS.length + 2) return { ...entry, keys: [], constant: true };
		if (i % 10 === 0) return { ...entry, keys: [`/\\bharbou?r[- ]${i}\\b/i`] };
		if (i % 10 === 1) return { ...entry, keys: ["lighthouse"], selective: true, secondary_keys: [`smuggler ${i}`] };
		return { ...entry, keys: [`Captain Ahab ${i}`, `the ${i}th cove`] };
	});
}
