/**
 * The client's IP address behind `trustedHops` proxies that each append the address they received from to
 * X-Forwarded-For. Entries left of those are whatever the client wrote, so the client is the rightmost untrusted one:
 * the `trustedHops`-th entry from the right (the socket's peer is the last proxy itself). Without trusted proxies,
 * or without a usable entry, it is the socket's peer.
 */
import { isIP } from "node:net";

export function clientAddress(
	forwardedFor: string | string[] | undefined,
	peer: string | undefined,
	trustedHops: number,
): string {
	const fallback = peer || "unknown";
	if (trustedHops <= 0 || forwardedFor === undefined) return fallback;
	// Several X-Forwarded-For headers are one list, in order (RFC 7230 §3.2.2).
	const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
		.split(",")
		.map((entry) => entry.trim())
		.filter(Boolean);
	if (hops.length === 0) return fallback;
	// Fewer entries than trusted proxies: the request skipped some of them, and the leftmost is as far as we can see.
	const candidate = hops[Math.max(0, hops.length - trustedHops)];
	return isIP(candidate) ? candidate : fallback;
}
