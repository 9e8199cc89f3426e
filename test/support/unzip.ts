/**
 * Reads a zip in tests, from its central directory (no dependency): every entry's name and bytes, stored or
 * deflated. Enough for the archives yazl writes (no zip64, no encryption); anything else throws.
 */
import { inflateRawSync } from "node:zlib";

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export function unzip(zip: Buffer): Map<string, Buffer> {
	let eocd = zip.length - 22;
	while (eocd >= 0 && zip.readUInt32LE(eocd) !== EOCD) eocd -= 1;
	if (eocd < 0) throw new Error("not a zip: no end of central directory");
	const count = zip.readUInt16LE(eocd + 10);
	let at = zip.readUInt32LE(eocd + 16);
	const files = new Map<string, Buffer>();
	for (let i = 0; i < count; i += 1) {
		if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`bad central directory entry ${i}`);
		const method = zip.readUInt16LE(at + 10);
		const compressedSize = zip.readUInt32LE(at + 20);
		const nameLength = zip.readUInt16LE(at + 28);
		const extraLength = zip.readUInt16LE(at + 30);
		const commentLength = zip.readUInt16LE(at + 32);
		const localOffset = zip.readUInt32LE(at + 42);
		const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
		if (zip.readUInt32LE(localOffset) !== LOCAL) throw new Error(`bad local header of ${name}`);
		const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
		const data = zip.subarray(dataStart, dataStart + compressedSize);
		if (method !== 0 && method !== 8) throw new Error(`${name}: compression method ${method}`);
		files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
		at += 46 + nameLength + extraLength + commentLength;
	}
	return files;
}
