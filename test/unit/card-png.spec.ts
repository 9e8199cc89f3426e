import { describe, expect, it } from "vitest";
import { crc32, inflateSync } from "node:zlib";
import extractChunks from "png-chunks-extract";
import encodeChunks from "png-chunks-encode";
import { decode as decodeText, encode as encodeText } from "png-chunk-text";
import { CardError, characterFromCard, toCardV2, toCardV3, type CardV2 } from "../../src/domain/character-card.js";
import {
	MAX_PNG_BYTES,
	characterFromUpload,
	pngFromBase64,
	readCardFromPng,
	storedAvatar,
	writeCardPng,
} from "../../src/domain/card-png.js";

const v2Card: CardV2 = {
	spec: "chara_card_v2",
	spec_version: "2.0",
	data: {
		name: "Ünïcode Bard 🎻",
		description: "A bard.",
		personality: "cheerful",
		scenario: "A tavern.",
		first_mes: "Well met!",
		mes_example: "<START>\n{{user}}: Hi\n{{char}}: Hello!",
		creator_notes: "",
		system_prompt: "",
		post_history_instructions: "",
		alternate_greetings: ["Ho there!"],
		tags: ["music"],
		creator: "tester",
		character_version: "1",
		extensions: { world: "Tavern" },
	},
};
const character = characterFromCard(v2Card);
const cards = { v2: toCardV2(character), v3: toCardV3(character) };

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64");
const textChunks = (png: Buffer) =>
	extractChunks(png)
		.filter((c) => c.name === "tEXt")
		.map((c) => decodeText(c.data));

/** A PNG with the given chunks inserted before IEND, on the placeholder image. */
function pngWith(...extra: { name: string; data: Uint8Array }[]): Buffer {
	const chunks = extractChunks(writeCardPng(cards)).filter((c) => c.name !== "tEXt");
	return Buffer.from(encodeChunks([...chunks.slice(0, -1), ...extra, chunks[chunks.length - 1]]));
}

/** A chunk's bytes as they are in a file, CRC included. */
function rawChunk(name: string, data: Buffer = Buffer.alloc(0)): Buffer {
	const head = Buffer.alloc(8);
	head.writeUInt32BE(data.length, 0);
	head.write(name, 4, "latin1");
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(data, crc32(Buffer.from(name, "latin1"))), 0);
	return Buffer.concat([head, data, crc]);
}

/** The placeholder image with `count` empty private chunks after IHDR (and, optionally, IHDR's size changed). */
function manyChunks(count: number, size?: [number, number]): Buffer {
	const good = writeCardPng(cards);
	const ihdrEnd = 8 + 25;
	const header = Buffer.from(good.subarray(8, ihdrEnd));
	if (size) {
		header.writeUInt32BE(size[0], 8);
		header.writeUInt32BE(size[1], 12);
		header.writeUInt32BE(crc32(header.subarray(4, 21)), 21);
	}
	return Buffer.concat([
		good.subarray(0, 8),
		header,
		Buffer.concat(Array<Buffer>(count).fill(rawChunk("pRiV"))),
		good.subarray(ihdrEnd),
	]);
}

function refusal(fn: () => unknown): CardError {
	try {
		fn();
	} catch (err) {
		if (err instanceof CardError) return err;
		throw err;
	}
	throw new Error("accepted");
}

describe("writeCardPng and readCardFromPng", () => {
	it("should write chara (V2) and ccv3 (V3) before IEND and read the V3 card back", () => {
		const png = writeCardPng(cards);
		const names = extractChunks(png).map((c) => c.name);
		expect(names).toEqual(["IHDR", "IDAT", "tEXt", "tEXt", "IEND"]);
		const texts = textChunks(png);
		expect(texts.map((t) => t.keyword)).toEqual(["chara", "ccv3"]);
		// SillyTavern's reader: base64 of UTF-8 JSON.
		expect(JSON.parse(Buffer.from(texts[0].text, "base64").toString("utf8"))).toEqual(cards.v2);
		expect(JSON.parse(Buffer.from(texts[1].text, "base64").toString("utf8"))).toEqual(cards.v3);
		expect(readCardFromPng(png).card).toEqual(cards.v3);
	});

	it("should draw a 256x256 RGB placeholder, the same colour for the same name", () => {
		const [ihdr, idat] = extractChunks(writeCardPng(cards));
		expect([...ihdr.data]).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0]);
		const pixels = inflateSync(idat.data);
		expect(pixels.length).toBe(256 * (1 + 256 * 3));
		expect(Buffer.compare(writeCardPng(cards), writeCardPng(cards))).toBe(0);
	});

	it("should keep the avatar without any text chunk, and export it by adding the two card chunks before IEND", () => {
		const png = pngWith(
			{ name: "tIME", data: new Uint8Array(7) },
			encodeText("Chara", base64Json(v2Card)),
			encodeText("Comment", "dropped"),
			{ name: "zTXt", data: Buffer.from("parameters\0\0x") },
		);
		const { image } = readCardFromPng(png);
		expect(extractChunks(image).map((c) => c.name)).toEqual(["IHDR", "IDAT", "tIME", "IEND"]);
		const exported = writeCardPng(cards, image);
		expect(extractChunks(exported).map((c) => c.name)).toEqual(["IHDR", "IDAT", "tIME", "tEXt", "tEXt", "IEND"]);
		expect(textChunks(exported).map((t) => t.keyword)).toEqual(["chara", "ccv3"]);
	});

	it("should prefer ccv3 over chara, whatever their order and case", () => {
		const png = pngWith(
			encodeText("CCV3", base64Json({ which: "v3" })),
			encodeText("chara", base64Json({ which: "v2" })),
		);
		expect(readCardFromPng(png).card).toEqual({ which: "v3" });
	});

	it("should import a SillyTavern-style V2 PNG that has only a chara chunk, keeping the image as the avatar", () => {
		const png = pngWith({ name: "tIME", data: new Uint8Array(7) }, encodeText("chara", base64Json(v2Card)));
		const { card, image } = readCardFromPng(png);
		expect(card).toEqual(v2Card);
		expect(extractChunks(image).map((c) => c.name)).toEqual(["IHDR", "IDAT", "tIME", "IEND"]);

		const upload = characterFromUpload({ png: png.toString("base64") });
		expect(upload.character).toEqual(character);
		expect(upload.avatar).toEqual(image);
		expect(readCardFromPng(writeCardPng(cards, upload.avatar)).card).toEqual(cards.v3);
	});

	it("should read base64 with line breaks, as some writers wrap it", () => {
		const wrapped = base64Json(v2Card).replace(/(.{76})/g, "$1\n");
		expect(readCardFromPng(pngWith(encodeText("chara", wrapped))).card).toEqual(v2Card);
	});
});

describe("hostile PNGs", () => {
	const good = writeCardPng(cards);
	const idatAt = good.indexOf("IDAT", 8, "latin1");

	it.each([
		["not a PNG", Buffer.from("GIF89a not a png at all"), "invalid_png", /Not a PNG image/],
		["an empty file", Buffer.alloc(0), "invalid_png", /Not a PNG image/],
		["a PNG cut short", good.subarray(0, good.length - 40), "invalid_png", /truncated/],
		["a PNG cut inside a chunk header", good.subarray(0, 8 + 25 + 6), "invalid_png", /truncated/],
		["a PNG without IEND", good.subarray(0, good.length - 12), "invalid_png", /truncated/],
		[
			"a chunk with a broken CRC",
			(() => {
				const b = Buffer.from(good);
				b[idatAt + 10] ^= 0xff;
				return b;
			})(),
			"invalid_png",
			/checksum/,
		],
		[
			"a chunk claiming 4 GB",
			(() => {
				const b = Buffer.from(good);
				b.writeUInt32BE(0xfffffff0, idatAt - 4);
				return b;
			})(),
			"invalid_png",
			/truncated/,
		],
		[
			"a PNG without IHDR first",
			Buffer.from(encodeChunks([{ name: "IEND", data: new Uint8Array(0) }])),
			"invalid_png",
			/IHDR/,
		],
		["a PNG with no card", pngWith(encodeText("Comment", "hello")), "invalid_card", /no character card/],
		["a card that is not base64", pngWith(encodeText("chara", "not base64!!")), "invalid_card", /not valid base64/],
		[
			"a card that is not UTF-8",
			pngWith(encodeText("chara", Buffer.from([0xff, 0xfe, 0x7b]).toString("base64"))),
			"invalid_card",
			/not UTF-8/,
		],
		[
			"a card that is not JSON",
			pngWith(encodeText("chara", Buffer.from("{name: nope").toString("base64"))),
			"invalid_card",
			/not valid JSON/,
		],
		[
			"a card chunk with a NUL in its text",
			pngWith({ name: "tEXt", data: Buffer.from("chara\0abc\0def", "latin1") }),
			"invalid_png",
			/NUL/,
		],
		["a card chunk over the cap", pngWith(encodeText("ccv3", "A".repeat(3 * 1024 * 1024))), "too_large", /larger than/],
		["a PNG over 8 MB", Buffer.concat([good, Buffer.alloc(MAX_PNG_BYTES)]), "too_large", /at most 8388608/],
		["a PNG of 1,100 chunks", manyChunks(1100), "too_many_chunks", /more than 1024 chunks/],
		[
			"an IHDR of 100000x100000 pixels",
			manyChunks(0, [100_000, 100_000]),
			"image_too_large",
			/100000x100000 pixels; at most 4096x4096/,
		],
		["an IHDR of 4097x1 pixels", manyChunks(0, [4097, 1]), "image_too_large", /4097x1/],
		["an IHDR of 0x10 pixels", manyChunks(0, [0, 10]), "invalid_png", /0x10/],
	])("should refuse %s with a reason", (_what, png, problem, reason) => {
		const err = refusal(() => readCardFromPng(png as Buffer));
		expect(err.problem).toBe(problem);
		expect(err.message).toMatch(reason);
	});

	it("should refuse 250,000 tiny chunks from their headers alone, in milliseconds", () => {
		const png = manyChunks(250_000);
		const started = performance.now();
		expect(refusal(() => readCardFromPng(png)).problem).toBe("too_many_chunks");
		// Generous for a busy machine: walking every chunk took 1.5 s here.
		expect(performance.now() - started).toBeLessThan(250);
	});

	it("should accept 4096x4096 and 1,000 chunks", () => {
		expect(storedAvatar(manyChunks(1000, [4096, 4096]))).not.toBeNull();
	});

	it("should make avatars stored before these rules storable: text chunks dropped, bombs and chunk floods dropped", () => {
		const legacy = pngWith({ name: "tIME", data: new Uint8Array(7) }, encodeText("Comment", "old"));
		expect(extractChunks(storedAvatar(legacy) as Buffer).map((c) => c.name)).toEqual(["IHDR", "IDAT", "tIME", "IEND"]);
		expect(storedAvatar(manyChunks(250_000))).toBeNull();
		expect(storedAvatar(manyChunks(0, [100_000, 100_000]))).toBeNull();
	});

	it("should export a stored avatar by concatenation alone", () => {
		const avatar = readCardFromPng(pngWith(encodeText("chara", base64Json(v2Card)))).image;
		const exported = writeCardPng(cards, avatar);
		expect(exported.subarray(0, avatar.length - 12).equals(avatar.subarray(0, -12))).toBe(true);
		expect(exported.subarray(-12).equals(avatar.subarray(-12))).toBe(true);
		expect(() => writeCardPng(cards, avatar.subarray(0, -12))).toThrow(/IEND/);
	});

	it("should refuse a png param that is not base64, or too long, before decoding it", () => {
		expect(refusal(() => pngFromBase64("iVBOR#$%"))).toMatchObject({
			problem: "invalid_png",
			message: "png is not valid base64",
		});
		expect(refusal(() => pngFromBase64("A".repeat(12 * 1024 * 1024))).problem).toBe("too_large");
	});

	it("should refuse an avatar over 4 MB even when the card is fine", () => {
		const big = pngWith(
			{ name: "zzZz", data: new Uint8Array(4 * 1024 * 1024) },
			encodeText("chara", base64Json(v2Card)),
		);
		const err = refusal(() => characterFromUpload({ png: big.toString("base64") }));
		expect(err).toMatchObject({
			problem: "too_large",
			message: expect.stringMatching(/image is \d+ bytes; at most 4194304/),
		});
	});

	it("should pass the card's own refusals through for a JSON upload", () => {
		expect(refusal(() => characterFromUpload({ card: { spec: "chara_card_v2", data: {} } })).message).toMatch(
			/no name/,
		);
	});
});
