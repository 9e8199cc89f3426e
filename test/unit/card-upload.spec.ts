import { describe, expect, it } from "vitest";
import { CardError } from "../../src/domain/character-card.js";
import { MAX_FORM_PARTS, cardUpload, uploadType } from "../../src/domain/card-upload.js";

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const BOUNDARY = "----cameo";
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A multipart body of [name, content, filename?] parts, as a browser writes it. */
function form(...parts: [string, Buffer | string, string?][]): Buffer {
	return Buffer.concat([
		...parts.flatMap(([name, content, filename]) => [
			Buffer.from(
				`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n\r\n`,
			),
			Buffer.from(content),
			Buffer.from("\r\n"),
		]),
		Buffer.from(`--${BOUNDARY}--\r\n`),
	]);
}

async function refusal(promise: Promise<unknown>): Promise<CardError> {
	const err = await promise.then(
		() => new Error("accepted"),
		(e: unknown) => e,
	);
	if (err instanceof CardError) return err;
	throw err;
}

describe("uploadType", () => {
	it("should read the type of a Content-Type header, whatever its parameters and case", () => {
		expect(uploadType("application/json")).toBe("application/json");
		expect(uploadType("Application/JSON; charset=utf-8")).toBe("application/json");
		expect(uploadType(" image/png ")).toBe("image/png");
		expect(uploadType("multipart/form-data; boundary=x")).toBe("multipart/form-data");
	});

	it("should take no other type, nor a missing header", () => {
		for (const header of [undefined, "", "text/plain", "image/jpeg", "application/json-seq", "multipart/mixed"]) {
			expect(uploadType(header), String(header)).toBeUndefined();
		}
	});
});

describe("cardUpload", () => {
	it("should pass a JSON body as the card and a PNG body as base64", async () => {
		expect(await cardUpload("application/json", "application/json", { spec: "x" })).toEqual({ card: { spec: "x" } });
		expect(await cardUpload("image/png", "image/png", PNG)).toEqual({ png: PNG.toString("base64") });
	});

	it("should take the file part of a form, PNG by its signature and JSON otherwise, whatever its name says", async () => {
		expect(
			await cardUpload("multipart/form-data", TYPE, form(["file", PNG, "card.json"], ["file_type", "png"])),
		).toEqual({ png: PNG.toString("base64") });
		expect(await cardUpload("multipart/form-data", TYPE, form(["file", '{"name":"A"}', "card.png"]))).toEqual({
			card: { name: "A" },
		});
		expect(await cardUpload("multipart/form-data", TYPE, form(["file", '{"name":"B"}']))).toEqual({
			card: { name: "B" },
		});
		expect(
			await cardUpload("multipart/form-data", `multipart/form-data; boundary="${BOUNDARY}"`, form(["file", "{}"])),
		).toEqual({ card: {} });
	});

	it.each([
		["no boundary", "multipart/form-data", form(["file", PNG, "a.png"]), "invalid_form", /no boundary/],
		["no file part", TYPE, form(["avatar", PNG, "a.png"]), "invalid_form", /no "file" part/],
		[
			"two file parts",
			TYPE,
			form(["file", PNG, "a.png"], ["file", PNG, "b.png"]),
			"invalid_form",
			/one card per request/,
		],
		[
			"a second file under another name",
			TYPE,
			form(["file", PNG, "a.png"], ["x", PNG, "b.png"]),
			"invalid_form",
			/one card per request/,
		],
		[
			"too many parts",
			TYPE,
			form(...Array.from({ length: MAX_FORM_PARTS + 1 }, (_, i): [string, string] => [`f${i}`, "x"])),
			"invalid_form",
			/more than 8 parts/,
		],
		["a body cut short", TYPE, form(["file", PNG, "a.png"]).subarray(0, 60), "invalid_form", /malformed/],
		[
			"a file that is neither",
			TYPE,
			form(["file", "GIF89a", "a.gif"]),
			"invalid_card",
			/neither a PNG image nor a JSON card/,
		],
		[
			"a JSON file over 2 MB",
			TYPE,
			form(["file", `"${"x".repeat(2 * 1024 * 1024)}"`, "a.json"]),
			"too_large",
			/at most 2097152/,
		],
		[
			"a JSON file nested 10,000 deep",
			TYPE,
			form(["file", `${"[".repeat(10_000)}${"]".repeat(10_000)}`, "a.json"]),
			"invalid_card",
			/nested/,
		],
	])("should refuse %s", async (_what, type, body, problem, reason) => {
		const err = await refusal(cardUpload("multipart/form-data", type, body));
		expect(err.problem).toBe(problem);
		expect(err.message).toMatch(reason);
	});

	it("should count a flood of parts before parsing any", async () => {
		const flood = form(...Array.from({ length: 100_000 }, (_, i): [string, string] => [`f${i}`, "x"]));
		// CPU time, not wall time: other work on the machine must not fail it. Parsing them all took ~0.25 s here.
		const started = process.cpuUsage();
		expect((await refusal(cardUpload("multipart/form-data", TYPE, flood))).problem).toBe("invalid_form");
		const used = process.cpuUsage(started);
		expect((used.user + used.system) / 1000).toBeLessThan(120);
	});
});
