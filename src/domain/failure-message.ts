/**
 * Whatever a promise was rejected with, as one readable line: libraries reject with `undefined`, strings or plain
 * objects as well as Errors, and a start-up failure must still say something better than a TypeError.
 */
export function failureMessage(reason: unknown): string {
	if (reason instanceof Error) return reason.message || reason.name;
	if (typeof reason === "string") return reason || "(empty error message)";
	if (reason === undefined || reason === null) return `failed without a reason (${String(reason)})`;
	if (typeof reason === "object") {
		const message = (reason as { message?: unknown }).message;
		if (typeof message === "string" && message) return message;
		try {
			return JSON.stringify(reason);
		} catch {
			return Object.prototype.toString.call(reason);
		}
	}
	return String(reason);
}
