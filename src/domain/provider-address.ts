/**
 * Which network addresses a user's own provider (`PUT /me/provider`, `base_url`) may be reached at. A user chooses
 * that URL and the server fetches it, so without a check any user could make the server call its own cloud's
 * metadata service (credentials), the database, or anything else only the server can reach (SSRF).
 *
 * - Always refused: link-local (169.254.0.0/16, where most clouds' metadata services live, and fe80::/10), the other
 *   metadata addresses (AWS's fd00:ec2::254, Azure's 168.63.129.16, Alibaba's 100.100.100.200, Oracle's
 *   192.0.0.192), unspecified, broadcast, multicast and reserved ranges.
 * - Loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) and carrier-grade NAT (100.64/10) ranges: only when the
 *   operator allows them (ALLOW_PRIVATE_PROVIDER_URLS=true: Ollama on the same host or network).
 * - IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address; Teredo is refused.
 */
import ipaddr from "ipaddr.js";

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
	"169.254.169.254",
	"fd00:ec2::254",
	"168.63.129.16",
	"100.100.100.200",
	"192.0.0.192",
]);
const PRIVATE_RANGES: ReadonlySet<string> = new Set(["loopback", "private", "uniqueLocal", "carrierGradeNat"]);

export function judgeAddress(address: string, allowPrivate: boolean): AddressVerdict {
	if (!ipaddr.isValid(address)) return { allowed: false, reason: `"${address}" is not an IP address` };
	const parsed = ipaddr.process(address);
	const embedded = embeddedIpv4(parsed);
	if (embedded) return judgeAddress(embedded, allowPrivate);
	const normal = parsed.toNormalizedString();
	const canonical = parsed.kind() === "ipv6" ? (parsed as ipaddr.IPv6).toString() : normal;
	if (METADATA_ADDRESSES.has(canonical)) return refused(canonical, "a cloud metadata address");
	const range = parsed.range();
	if (range === "unicast") return { allowed: true };
	if (PRIVATE_RANGES.has(range)) {
		return allowPrivate
			? { allowed: true }
			: refused(canonical, "a loopback or private address (the operator can allow those: ALLOW_PRIVATE_PROVIDER_URLS)");
	}
	return refused(canonical, range === "linkLocal" ? "a link-local address" : `a ${range} address`);
}

/** The IPv4 address inside NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses; `process` already unmaps ::ffff:. */
function embeddedIpv4(parsed: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
	if (parsed.kind() !== "ipv6") return undefined;
	const bytes = (parsed as ipaddr.IPv6).toByteArray();
	const range = parsed.range();
	if (range === "rfc6052") return bytes.slice(12, 16).join(".");
	if (range === "6to4") return bytes.slice(2, 6).join(".");
	return undefined;
}

function refused(address: string, what: string): AddressVerdict {
	return { allowed: false, reason: `${address} is ${what}` };
}
