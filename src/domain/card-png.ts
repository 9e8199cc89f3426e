/**
 * Character cards inside PNG images, as SillyTavern reads and writes them: the card JSON, UTF-8 then base64, in a
 * tEXt chunk keyed `chara` (V2) and, since V3, another keyed `ccv3` (V3), both before IEND. Readers prefer `ccv3`.
 */
import { createHash } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import { decode as decodeText, encode as encodeText } from "png-chunk-text";
import {
	CardError,
	MAX_CARD_BYTES,
	characterFromCard,
	type CardCharacter,
	type CardV2,
	type CardV3,
} from "./character-card.js";

interface Chunk {
	name: string;
	data: Uint8Array;
}

/** Where a chunk is in its file: `start` at its length field, `end` after its CRC. */
interface ChunkSpan {
	name: string;
	start: number;
	end: number;
}

/** Largest PNG accepted, the same as the gateway's upload limit. */
export const MAX_PNG_BYTES = 8 * 1024 * 1024;
/** Largest image kept as a character's avatar (the database enforces it too); this bounds its IDAT data too. */
export const MAX_AVATAR_BYTES = 4 * 1024 * 1024;
/**
 * Most chunks a PNG may have. Encoders split the image data into IDAT chunks of 8 kB (libpng) or more, so the largest
 * avatar needs about 512; every chunk costs work at import, and 250,000 tiny ones blocked the event loop for seconds.
 */
export const MAX_PNG_CHUNKS = 1024;
/** Widest and tallest avatar: card images are about 400-1,500 pixels a side; a 100,000-pixel claim is a decompression bomb. */
export const MAX_IMAGE_SIDE = 4096;
/** A tEXt chunk holding the largest card we accept: keyword, NUL, base64. */
const MAX_CARD_CHUNK_BYTES = 80 + Math.ceil(MAX_CARD_BYTES / 3) * 4;
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const TEXT_CHUNKS = new Set(["tEXt", "zTXt", "iTXt"]);
const CARD_KEYWORDS = new Set(["chara", "ccv3"]);
const PLACEHOLDER_SIZE = 256;
// Base64 as card writers emit it (standard or URL-safe alphabet, optional padding); Buffer.from would skip junk.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface PngCard {
	/** The parsed card JSON, not yet validated as a card. */
	card: unknown;
	/** The character's avatar: the same PNG without any text chunk (see storedAvatar). */
	image: Buffer;
}

const invalidPng = (message: string) => new CardError("invalid_png", message);

/** The card in a PNG (`ccv3` if present, else `chara`) and the image without it. Throws CardError with the reason. */
export function readCardFromPng(png: Buffer): PngCard {
	const { image, texts } = splitPng(png);
	const found = new Map<string, Chunk>();
	for (const chunk of texts) {
		const keyword = cardKeyword(chunk);
		if (keyword && !found.has(keyword)) found.set(keyword, chunk);
	}
	const chunk = found.get("ccv3") ?? found.get("chara");
	if (!chunk) throw new CardError("invalid_card", "The PNG carries no character card (no chara or ccv3 text chunk)");
	if (chunk.data.length > MAX_CARD_CHUNK_BYTES) {
		throw new CardError("too_large", `The card in the PNG is larger than ${MAX_CARD_BYTES} bytes`);
	}
	let payload: string;
	try {
		payload = decodeText(chunk.data).text;
	} catch {
		throw invalidPng("The PNG's card chunk is not valid tEXt (it contains a NUL byte)");
	}
	const card = decodeCardText(payload);
	if (image.length > MAX_AVATAR_BYTES) {
		throw new CardError("too_large", `The card's image is ${image.length} bytes; at most ${MAX_AVATAR_BYTES} are kept`);
	}
	return { card, image };
}

/**
 * An avatar as cameo keeps it, or null when the image breaks the import rules: at most MAX_PNG_CHUNKS chunks,
 * IHDR within MAX_IMAGE_SIDE, CRCs right, no text chunks (so export only adds its own), within MAX_AVATAR_BYTES.
 * For avatars stored before these rules (migration 0007).
 */
export function storedAvatar(png: Buffer): Buffer | null {
	try {
		const { image } = splitPng(png);
		return image.length <= MAX_AVATAR_BYTES ? image : null;
	} catch (err) {
		if (err instanceof CardError) return null;
		throw err;
	}
}

/**
 * The image without its text chunks, and those chunks. Counts chunks from their headers alone before anything else
 * is done, then checks IHDR and the CRCs.
 */
function splitPng(png: Buffer): { image: Buffer; texts: Chunk[] } {
	if (png.length > MAX_PNG_BYTES)
		throw new CardError("too_large", `The PNG is ${png.length} bytes; at most ${MAX_PNG_BYTES} are accepted`);
	const spans = chunkSpans(png);
	checkHeader(png, spans[0]);
	const kept: Buffer[] = [SIGNATURE];
	const texts: Chunk[] = [];
	for (const span of spans) {
		const typeAndData = png.subarray(span.start + 4, span.end - 4);
		if (crc32(typeAndData) !== png.readUInt32BE(span.end - 4))
			throw invalidPng("The PNG is corrupted (a chunk's checksum does not match)");
		if (TEXT_CHUNKS.has(span.name)) texts.push({ name: span.name, data: typeAndData.subarray(4) });
		else kept.push(png.subarray(span.start, span.end));
	}
	return { image: Buffer.concat(kept), texts };
}

/** base64 -> UTF-8 -> JSON, each step with its own reason. */
function decodeCardText(payload: string): unknown {
	const base64 = payload.replace(/\s+/g, "");
	if (!BASE64.test(base64) || base64.length % 4 === 1)
		throw new CardError("invalid_card", "The card in the PNG is not valid base64");
	let json: string;
	try {
		json = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(base64, "base64"));
	} catch {
		throw new CardError("invalid_card", "The card in the PNG is not UTF-8 text");
	}
	try {
		return JSON.parse(json);
	} catch {
		throw new CardError("invalid_card", "The card in the PNG is not valid JSON");
	}
}

/**
 * A PNG carrying the card twice, `chara` = V2 and `ccv3` = V3, on `avatar` (as stored: no text chunks, IEND last, so
 * its chunks are only copied) or, for a character without an avatar, on a solid placeholder whose colour comes from the name.
 */
export function writeCardPng(cards: { v2: CardV2; v3: CardV3 }, avatar?: Buffer | null): Buffer {
	const cardChunks = [frame(cardChunk("chara", cards.v2)), frame(cardChunk("ccv3", cards.v3))];
	if (!avatar) {
		const [header, data, end] = placeholderChunks(cards.v3.data.name).map(frame);
		return Buffer.concat([SIGNATURE, header, data, ...cardChunks, end]);
	}
	const iendAt = avatar.length - 12;
	if (iendAt < SIGNATURE.length || avatar.toString("latin1", iendAt + 4, iendAt + 8) !== "IEND")
		throw new Error("A stored avatar does not end with IEND");
	return Buffer.concat([avatar.subarray(0, iendAt), ...cardChunks, avatar.subarray(iendAt)]);
}

function cardChunk(keyword: string, card: CardV2 | CardV3): Chunk {
	return encodeText(keyword, Buffer.from(JSON.stringify(card), "utf8").toString("base64"));
}

/**
 * A chunk as stored: length, type, data, CRC of type and data. Not png-chunks-encode: it copies the data through a
 * plain array and spends about 150 ms per MB, which a 2 MB card or 4 MB avatar would block the event loop for.
 */
function frame({ name, data }: Chunk): Buffer {
	const type = Buffer.from(name, "latin1");
	const bytes = Buffer.alloc(12 + data.length);
	bytes.writeUInt32BE(data.length, 0);
	type.copy(bytes, 4);
	bytes.set(data, 8);
	bytes.writeUInt32BE(crc32(data, crc32(type)), 8 + data.length);
	return bytes;
}

/** An upload as the import action takes it: a card JSON, or a card PNG in base64 whose image becomes the avatar. */
export function characterFromUpload(upload: { card?: unknown; png?: string }): {
	character: CardCharacter;
	avatar: Buffer | null;
} {
	if (upload.png === undefined) return { character: characterFromCard(upload.card), avatar: null };
	const { card, image } = readCardFromPng(pngFromBase64(upload.png));
	return { character: characterFromCard(card), avatar: image };
}

/** Decoded base64 PNG, for callers that send it as a string; bounded before decoding. */
export function pngFromBase64(base64: string): Buffer {
	if (base64.length > Math.ceil(MAX_PNG_BYTES / 3) * 4) {
		throw new CardError("too_large", `The PNG is larger than ${MAX_PNG_BYTES} bytes`);
	}
	if (!BASE64.test(base64) || base64.length % 4 === 1) throw invalidPng("png is not valid base64");
	return Buffer.from(base64, "base64");
}

/**
 * Where each chunk up to IEND is, from the length and type fields alone (no copies, no CRC yet), refusing more than
 * MAX_PNG_CHUNKS as soon as it sees them and any length that runs past the end of the file.
 */
function chunkSpans(png: Buffer): ChunkSpan[] {
	if (png.length < SIGNATURE.length || !png.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
		throw invalidPng("Not a PNG image (wrong signature)");
	}
	const spans: ChunkSpan[] = [];
	for (let start = SIGNATURE.length, name = ""; name !== "IEND";) {
		if (spans.length === MAX_PNG_CHUNKS) {
			throw new CardError(
				"too_many_chunks",
				`The PNG has more than ${MAX_PNG_CHUNKS} chunks; re-save the image with an ordinary encoder`,
			);
		}
		// length (4), type (4), data, CRC (4)
		if (start + 12 > png.length) throw invalidPng("The PNG is truncated (it ends before its IEND chunk)");
		const length = png.readUInt32BE(start);
		const end = start + 12 + length;
		if (length > 0x7fff_ffff || end > png.length)
			throw invalidPng("The PNG is truncated (a chunk runs past the end of the file)");
		name = png.toString("latin1", start + 4, start + 8);
		spans.push({ name, start, end });
		start = end;
	}
	return spans;
}

/** IHDR first, as the PNG spec requires, with dimensions a viewer can decode without a bomb's worth of memory. */
function checkHeader(png: Buffer, first: ChunkSpan): void {
	if (first.name !== "IHDR" || first.end - first.start !== 12 + 13)
		throw invalidPng("The PNG does not start with a valid IHDR chunk");
	const width = png.readUInt32BE(first.start + 8);
	const height = png.readUInt32BE(first.start + 12);
	if (width === 0 || height === 0) throw invalidPng(`The PNG claims ${width}x${height} pixels`);
	if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
		throw new CardError(
			"image_too_large",
			`The image is ${width}x${height} pixels; at most ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE} are accepted`,
		);
	}
}

function cardKeyword(chunk: Chunk): string | undefined {
	if (chunk.name !== "tEXt") return undefined;
	// A keyword is at most 79 bytes and ends with a NUL.
	const nul = chunk.data.subarray(0, 80).indexOf(0);
	if (nul < 0) return undefined;
	// Matched case-insensitively, as SillyTavern does.
	const keyword = Buffer.from(chunk.data.subarray(0, nul)).toString("latin1").toLowerCase();
	return CARD_KEYWORDS.has(keyword) ? keyword : undefined;
}

/** A 256x256 RGB image of one colour, for characters without an avatar. */
function placeholderChunks(name: string): Chunk[] {
	// Light colours from the name's hash: stable per name, readable behind dark text in card galleries.
	const colour = [...createHash("sha256").update(name).digest().subarray(0, 3)].map((byte) => 128 + (byte >> 1));
	const row = Buffer.alloc(1 + PLACEHOLDER_SIZE * 3); // filter type 0 (None), then the pixels
	for (let x = 0; x < PLACEHOLDER_SIZE; x += 1) row.set(colour, 1 + x * 3);
	const header = Buffer.alloc(13);
	header.writeUInt32BE(PLACEHOLDER_SIZE, 0);
	header.writeUInt32BE(PLACEHOLDER_SIZE, 4);
	header[8] = 8; // bit depth
	header[9] = 2; // colour type: RGB; compression, filter and interlace stay 0
	return [
		{ name: "IHDR", data: header },
		{ name: "IDAT", data: deflateSync(Buffer.concat(Array<Buffer>(PLACEHOLDER_SIZE).fill(row))) },
		{ name: "IEND", data: new Uint8Array(0) },
	];
}
