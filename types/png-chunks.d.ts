// Minimal declarations for the PNG chunk packages (CommonJS, no bundled types), as src/domain/card-png.ts uses them.

declare module "png-chunks-extract" {
	interface PngChunk {
		name: string;
		data: Uint8Array;
	}
	/** Every chunk up to IEND; throws on a bad signature, a missing IHDR or IEND, or a CRC mismatch. */
	function extractChunks(data: Uint8Array): PngChunk[];
	export = extractChunks;
}

declare module "png-chunks-encode" {
	/** Signature plus the chunks, with lengths and CRCs computed. */
	function encodeChunks(chunks: ReadonlyArray<{ name: string; data: Uint8Array }>): Uint8Array;
	export = encodeChunks;
}

declare module "png-chunk-text" {
	/** A tEXt chunk; both strings must be Latin-1 without NUL, the keyword under 80 characters. */
	export function encode(keyword: string, content: string): { name: "tEXt"; data: Uint8Array };
	/** Throws on a NUL in the text. */
	export function decode(data: Uint8Array): { keyword: string; text: string };
}
