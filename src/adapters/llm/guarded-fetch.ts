/**
 * The `fetch` a user's own OpenAI-compatible server is called with: every connection it opens is checked against
 * the address policy (src/domain/provider-address.ts) at the moment it is made. Names are resolved by the connection
 * itself and every address they resolve to is judged, so a name that resolved to a public address when the user saved
 * it and to 169.254.169.254 now (DNS rebinding) is refused; redirects open connections through the same check.
 * A connection, once checked, stays pinned to the address it was made to.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import { Agent, buildConnector, fetch as undiciFetch } from "undici";
import { judgeAddress } from "../../domain/provider-address.js";

/** Resolves a host name to all its addresses (dns.lookup by default; tests give their own). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export class ProviderAddressRefused extends Error {
	readonly code = "PROVIDER_ADDRESS_REFUSED";
}

const systemResolve: Resolve = (hostname) =>
	new Promise((resolve, reject) =>
		dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
	);

/** Resolves `hostname` and refuses it unless every address it resolves to is allowed. */
export async function checkedAddresses(hostname: string, allowPrivate: boolean, resolve = systemResolve) {
	const host = hostname.replace(/^\[(.*)\]$/, "$1");
	const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
	if (addresses.length === 0) throw new ProviderAddressRefused(`${host} does not resolve`);
	for (const { address } of addresses) {
		const verdict = judgeAddress(address, allowPrivate);
		if (!verdict.allowed) throw new ProviderAddressRefused(`${host} is refused: ${verdict.reason}`);
	}
	return addresses;
}

export function guardedFetch(allowPrivate: boolean, resolve: Resolve = systemResolve): typeof fetch {
	// net/tls call this instead of dns.lookup: with `all` (Node's happy eyeballs) or for one address.
	const lookup = (
		hostname: string,
		options: LookupOptions,
		callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
	) => {
		checkedAddresses(hostname, allowPrivate, resolve).then(
			(addresses) =>
				options.all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family),
			(err: Error) => callback(err, ""),
		);
	};
	const connect = buildConnector({ lookup } as buildConnector.BuildOptions);
	// An IP literal (the URL's or a redirect's) never reaches `lookup`: it is judged here.
	const agent = new Agent({
		connect(options, callback) {
			const host = options.hostname.replace(/^\[(.*)\]$/, "$1");
			if (isIP(host)) {
				const verdict = judgeAddress(host, allowPrivate);
				if (!verdict.allowed)
					return callback(new ProviderAddressRefused(`${host} is refused: ${verdict.reason}`), null);
			}
			return connect(options, callback);
		},
	});
	return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
		undiciFetch(input as Parameters<typeof undiciFetch>[0], {
			...(init as Parameters<typeof undiciFetch>[1]),
			dispatcher: agent,
		})) as unknown as typeof fetch;
}
