import { describe, expect, it, vi } from "vitest";
import { Errors } from "moleculer";
import { parseChatHandshake } from "../../src/domain/chat-handshake.js";
import {
	HandshakeRejected,
	RateLimited,
	SessionNotFound,
	ShuttingDown,
	TooManySockets,
	Unauthorized,
} from "../../src/errors.js";
import { toRefusal } from "../../src/adapters/ws-upgrade.js";

const logger = { error: vi.fn() };
const CHARACTER = "0b0c6a5e-4f7e-4a51-9d43-5a2f1f0d9c11";

function refusalFor(url: string) {
	const parsed = parseChatHandshake(url);
	if (parsed.ok) throw new Error(`${url} was accepted`);
	return toRefusal(HandshakeRejected(parsed.problem, parsed.detail), logger);
}

describe("handshake refusals", () => {
	it("should answer a bad handshake URL with the status and code of the error factories", () => {
		expect(refusalFor("/ws/nope?token=t")).toMatchObject({ status: 404, code: "CHARACTER_NOT_FOUND" });
		expect(refusalFor(`/ws/${CHARACTER}`)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
		expect(refusalFor(`/ws/${CHARACTER}?token=t&session_id=x`)).toMatchObject({
			status: 400,
			code: "VALIDATION_ERROR",
		});
		expect(refusalFor(`/ws/${CHARACTER}/extra?token=t`)).toMatchObject({ status: 404, code: "NOT_FOUND" });
		expect(refusalFor("/ws/%zz?token=t")).toMatchObject({ status: 400, code: "BAD_REQUEST" });
	});

	it("should keep a client error's status, code and Retry-After, as REST does", () => {
		const notFound = { status: 404, code: "SESSION_NOT_FOUND", detail: "Chat session not found" };
		expect(toRefusal(SessionNotFound(CHARACTER), logger)).toEqual(notFound);
		const expired = { status: 401, code: "UNAUTHORIZED", detail: "Token expired" };
		expect(toRefusal(Unauthorized("Token expired"), logger)).toMatchObject(expired);
		const limited = { status: 429, code: "RATE_LIMITED", retryAfter: 7 };
		expect(toRefusal(RateLimited(7, "Too many connection attempts"), logger)).toMatchObject(limited);
		expect(toRefusal(TooManySockets(3), logger)).toMatchObject({
			status: 429,
			code: "TOO_MANY_SOCKETS",
			retryAfter: 5,
		});
		expect(toRefusal(ShuttingDown(), logger)).toMatchObject({ status: 503, code: "SHUTTING_DOWN", retryAfter: 1 });
		expect(logger.error).not.toHaveBeenCalled();
	});

	it("should answer an outage with a 503 the client may retry, never its message", () => {
		const outages = [
			new Error("connect ECONNREFUSED"),
			new Errors.ServiceNotFoundError({ action: "characters.get" }),
			new Errors.RequestTimeoutError({ action: "auth.validate" }),
		];
		const detail = "Chat is temporarily unavailable; retry shortly";
		const unavailable = { status: 503, code: "SERVICE_UNAVAILABLE", detail };
		for (const err of outages) expect(toRefusal(err, logger)).toEqual(unavailable);
		expect(logger.error).toHaveBeenCalledTimes(outages.length);
	});
});
