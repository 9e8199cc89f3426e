import { describe, expect, it } from "vitest";
import { clientAddress } from "../../src/domain/client-address.js";

describe("clientAddress", () => {
	it("should take the rightmost untrusted X-Forwarded-For entry, never what the client wrote to its left", () => {
		// One proxy (an ingress) appended the client's address after a forged one.
		expect(clientAddress("1.2.3.4, 198.51.100.7", "10.0.0.2", 1)).toBe("198.51.100.7");
		expect(clientAddress(["1.2.3.4", "198.51.100.7"], "10.0.0.2", 1)).toBe("198.51.100.7");
		// Two proxies: the entry before the inner proxy's address.
		expect(clientAddress("1.2.3.4, 198.51.100.7, 10.0.0.9", "10.0.0.2", 2)).toBe("198.51.100.7");
		expect(clientAddress("198.51.100.7", "10.0.0.2", 2)).toBe("198.51.100.7");
		expect(clientAddress("2001:db8::1", "10.0.0.2", 1)).toBe("2001:db8::1");
	});

	it("should use the socket's peer without trusted proxies, or when the entry is not an address", () => {
		expect(clientAddress("1.2.3.4", "10.0.0.2", 0)).toBe("10.0.0.2");
		expect(clientAddress(undefined, "10.0.0.2", 1)).toBe("10.0.0.2");
		expect(clientAddress(" , ", "10.0.0.2", 1)).toBe("10.0.0.2");
		expect(clientAddress("1.2.3.4, not-an-ip\nforged log line", "10.0.0.2", 1)).toBe("10.0.0.2");
		expect(clientAddress(undefined, undefined, 1)).toBe("unknown");
	});
});
