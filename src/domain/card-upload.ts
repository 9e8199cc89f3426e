/**
 * A card upload as `POST /characters/import` receives it, turned into the import action's params: a JSON card, a
 * card PNG, or either of them as the `file` part of a multipart/form-data body (what browsers, `curl -F
 * file=@card.png` and SillyTavern's importer send). A file part is recognised by its bytes (PNG by its signature, JSON
 * otherwise), not by the type or name its sender gave it.
 */
import { CardError, MAX_CARD_BYTES, checkCardSize } from "./character-card.js";
import type { JsonSchema } from "./openapi.js";

/** The import action's params, without `is_public`: a parsed card JSON, or a card PNG in base64. */
export type CardUpload = { card: unknown } | { png: string };

export const UPLOAD_TYPES = ["application/json", "image/png", "multipart/form-data"] as const;
export type UploadType = (typeof UPLOAD_TYPES)[number];

/** What an upload's body is, for /openapi.json (the params `cardUpload` makes of it are not the body). */
export const CARD_UPLOAD_BODY: Readonly<Record<UploadType, JsonSchema>> = {
	"application/json": { type: "object", description: "A Character Card V1, V2 or V3" },
	"image/png": { type: "string", format: "binary", description: "A card PNG; its image becomes the avatar" },
	"multipart/form-data": {
		type: "object",
		required: ["file"],
		properties: {
			file: { type: "string", format: "binary", description: "A card PNG or JSON, recognised by its bytes" },
		},
	},
};

/** The upload type a Content-Type header names (parameters and case aside), if it is one an import takes. */
export function uploadType(contentType: string | undefined): UploadType | undefined {
	const type = contentType?.split(";")[0].trim().toLowerCase();
	return UPLOAD_TYPES.find((upload) => upload === type);
}

/** The form part that holds the card. */
export const FILE_PART = "file";
/** Parts a card form may have (the file plus a few fields, e.g. SillyTavern's `file_type`); counted before parsing. */
export const MAX_FORM_PARTS = 8;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const invalidForm = (message: string) => new CardError("invalid_form", message);

/**
 * The params for a body the gateway has already read within its size limit: a parsed JSON value, or the raw bytes
 * of a PNG or a form. `contentType` is the whole header (a form's boundary is in it).
 */
export async function cardUpload(type: UploadType, contentType: string, body: unknown): Promise<CardUpload> {
	if (type === "application/json") {
		// Bounds nesting before anything serializes the card (a transporter would overflow the stack on it).
		checkCardSize(body);
		return { card: body };
	}
	const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
	if (type === "image/png") return { png: bytes.toString("base64") };
	return fileUpload(await formFile(contentType, bytes));
}

/** A file's bytes as a PNG upload if they start like one, else as a JSON card. */
function fileUpload(file: Buffer): CardUpload {
	if (file.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) return { png: file.toString("base64") };
	if (file.length > MAX_CARD_BYTES)
		throw new CardError(
			"too_large",
			`The card file is ${file.length} bytes; a JSON card may have at most ${MAX_CARD_BYTES}`,
		);
	let card: unknown;
	try {
		card = JSON.parse(file.toString("utf8"));
	} catch {
		throw new CardError("invalid_card", "The file is neither a PNG image nor a JSON card");
	}
	checkCardSize(card);
	return { card };
}

/**
 * The one `file` part of a multipart/form-data body (a file, or a plain field holding the card's text); chat imports
 * read their file with it too (src/adapters/chat-upload-params.ts).
 */
export async function formFile(contentType: string, body: Buffer): Promise<Buffer> {
	const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
	if (!boundary) throw invalidForm("The multipart/form-data body has no boundary in its Content-Type");
	// Counted with a native search first: parsing a form of 100,000 tiny parts would block the event loop.
	const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`, "latin1");
	let parts = 0;
	for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + delimiter.length)) {
		if (++parts > MAX_FORM_PARTS + 1)
			throw invalidForm(`The form has more than ${MAX_FORM_PARTS} parts; send the card as its "${FILE_PART}" part`);
	}
	let form: FormData;
	try {
		form = await new Response(body, { headers: { "Content-Type": contentType } }).formData();
	} catch {
		throw invalidForm("The multipart/form-data body is malformed");
	}
	const files = [...form.values()].filter((value) => typeof value !== "string");
	const cards = form.getAll(FILE_PART);
	if (files.length > 1 || cards.length > 1) throw invalidForm(`Send one card per request, as the "${FILE_PART}" part`);
	const [card] = cards;
	if (card === undefined)
		throw invalidForm(`The form has no "${FILE_PART}" part: send the card PNG or JSON as "${FILE_PART}"`);
	return typeof card === "string" ? Buffer.from(card, "utf8") : Buffer.from(await card.arrayBuffer());
}
