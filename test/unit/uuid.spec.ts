import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Validators } from "moleculer";
import { v5 as uuidv5 } from "uuid";
import { isUuid } from "../../src/domain/uuid.js";

// The `uuid` rule every action's params use for ids.
const validatorAccepts = new Validators.Fastest().compile({ id: "uuid" }) as (value: unknown) => true | unknown[];

const ACCEPTED = [
	randomUUID(),
	randomUUID().toUpperCase(),
	uuidv5("reply:1", "0b7f4a1e-5d7c-4c65-9a53-2f8e3c1d9b40"),
	"00000000-0000-4000-8000-000000000000",
	"00000000-0000-0000-0000-000000000000",
	"017f22e2-79b0-7cc3-98c4-dc0c0c07398f",
];

const REFUSED = [
	"",
	"nope",
	"00000000000040008000000000000000",
	`{${randomUUID()}}`,
	`${randomUUID()}\n`,
	` ${randomUUID()}`,
	"12345678-1234-0234-8234-123456789012",
	"12345678-1234-9234-8234-123456789012",
	"12345678-1234-4234-c234-123456789012",
	"ffffffff-ffff-ffff-ffff-ffffffffffff",
	"g2345678-1234-4234-8234-123456789012",
];

describe("isUuid", () => {
	it("should accept the ids the server makes, in either case, and the nil UUID", () => {
		for (const id of ACCEPTED) expect(isUuid(id), id).toBe(true);
	});

	it("should refuse anything else, and non-strings", () => {
		for (const id of REFUSED) expect(isUuid(id), JSON.stringify(id)).toBe(false);
		for (const value of [undefined, null, 42, {}, [randomUUID()]]) expect(isUuid(value)).toBe(false);
	});

	it("should never pass an id the actions' uuid params rule refuses", () => {
		for (const id of [...ACCEPTED, ...REFUSED]) {
			if (isUuid(id)) expect(validatorAccepts({ id }), id).toBe(true);
		}
	});
});
