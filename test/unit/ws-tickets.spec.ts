import { describe, expect, it } from "vitest";
import { parseChatHandshake } from "../../src/domain/chat-handshake.js";
import { memoryTicketStore, TICKET_LENGTH } from "../../src/adapters/ws-tickets.js";

const CHARACTER = "0b0c6a5e-4f7e-4a51-9d43-5a2f1f0d9c11";

describe("the chat handshake's credentials", () => {
	it("should take a ticket instead of a token, and the token as before", () => {
		expect(parseChatHandshake(`/ws/${CHARACTER}?ticket=abc`)).toMatchObject({
			ok: true,
			value: { ticket: "abc", token: undefined },
		});
		expect(parseChatHandshake(`/ws/${CHARACTER}?token=jwt`)).toMatchObject({
			ok: true,
			value: { token: "jwt", ticket: undefined },
		});
		expect(parseChatHandshake(`/ws/${CHARACTER}`, "Bearer jwt")).toMatchObject({ ok: true, value: { token: "jwt" } });
		// A ticket wins over a header: the page's socket carries no header anyway.
		expect(parseChatHandshake(`/ws/${CHARACTER}?ticket=abc`, "Bearer jwt")).toMatchObject({
			ok: true,
			value: { ticket: "abc", token: undefined },
		});
	});

	it("should refuse both in the URL, and neither", () => {
		expect(parseChatHandshake(`/ws/${CHARACTER}?ticket=abc&token=jwt`)).toMatchObject({
			ok: false,
			problem: "invalid_param",
		});
		expect(parseChatHandshake(`/ws/${CHARACTER}?ticket=`)).toMatchObject({ ok: false, problem: "missing_token" });
	});
});

describe("the in-memory ticket store (embedded mode)", () => {
	it("should give a ticket's token once", async () => {
		const store = memoryTicketStore(30_000);
		const ticket = await store.issue("the-token");
		expect(ticket).toHaveLength(TICKET_LENGTH);
		expect(await store.issue("the-token")).not.toBe(ticket);
		expect(await store.redeem(ticket)).toBe("the-token");
		expect(await store.redeem(ticket)).toBeUndefined();
		expect(await store.redeem("unknown")).toBeUndefined();
	});

	it("should forget a ticket once its time is up", async () => {
		let now = 1_000_000;
		const store = memoryTicketStore(30_000, () => now);
		const late = await store.issue("late");
		const onTime = await store.issue("on time");
		now += 29_999;
		expect(await store.redeem(onTime)).toBe("on time");
		now += 1;
		expect(await store.redeem(late)).toBeUndefined();
	});
});
