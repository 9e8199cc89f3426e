/** Images for the avatar tests: card art of noise (megabytes, as rich art is) and card PNGs wrapped around an image. */
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import sharp from "sharp";

/** A portrait of noise, so it does not compress: a PNG of it takes about 3 bytes a pixel. */
export function noisePortrait(width: number, height: number, format: "png" | "jpeg" | "webp" = "png"): Promise<Buffer> {
	return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
		.toFormat(format)
		.toBuffer();
}

/** A V2 card PNG whose image is `image` (a PNG), as card editors write them: a `chara` text chunk before IEND. */
export function cardPng(image: Buffer, data: Record<string, unknown>): Buffer {
	const card = { spec: "chara_card_v2", spec_version: "2.0", data: { description: "", first_mes: "", ...data } };
	const base64 = Buffer.from(JSON.stringify(card)).toString("base64");
	const text = Buffer.concat([Buffer.from("chara\0", "latin1"), Buffer.from(base64, "latin1")]);
	const head = Buffer.alloc(8);
	head.writeUInt32BE(text.length, 0);
	head.write("tEXt", 4, "latin1");
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from("tEXt", "latin1"), text])) >>> 0, 0);
	const iend = image.length - 12;
	return Buffer.concat([image.subarray(0, iend), head, text, crc, image.subarray(iend)]);
}
