/**
 * The gateway's `POST /sessions/import` alias middleware (services/api.service.ts): the chat file, as the body or as
 * the `file` part of a form (read as card uploads read theirs: src/domain/card-upload.ts), and `?character_id=` as
 * `chat-transfer.importChat` params, counted against the caller's import budget (CHARACTER_IMPORTS_PER_MINUTE, cards
 * and chats together). A middleware, like the card upload's, so that anonymous callers get 401 before anything else.
 */
import type { ServerResponse } from "node:http";
import { RateLimited, UnsupportedMediaType, withCardErrors } from "../errors.js";
import { formFile } from "../domain/card-upload.js";
import type { JsonSchema } from "../domain/openapi.js";
import type { GatewayRequest } from "./gateway-http.js";
import type { RateLimiter } from "./rate-limiter.js";

/** The types a chat file may come as; the gateway's raw body parser reads each (and no other) as bytes. */
export const CHAT_UPLOAD_TYPES = [
	"application/jsonl",
	"application/x-ndjson",
	"text/plain",
	"application/json",
	"multipart/form-data",
] as const;

const FILE = { type: "string", description: "SillyTavern JSONL, or cameo's JSON export" } as const;

/** What an import's body is, for /openapi.json (the params made of it are not the body). */
export const CHAT_UPLOAD_BODY: Readonly<Record<(typeof CHAT_UPLOAD_TYPES)[number], JsonSchema>> = {
	"application/jsonl": FILE,
	"application/x-ndjson": FILE,
	"text/plain": FILE,
	"application/json": { type: "object", description: "cameo's JSON export of a chat" },
	"multipart/form-data": {
		type: "object",
		required: ["file"],
		properties: { file: { type: "string", format: "binary", description: "The chat file" } },
	},
};

/** Runs as the gateway service (`this`), which holds the import limiter. */
export function chatUploadParams(
	this: { importLimiter: RateLimiter },
	req: GatewayRequest,
	_res: ServerResponse,
	next: (err?: unknown) => void,
): void {
	const contentType = req.headers["content-type"] ?? "";
	const type = CHAT_UPLOAD_TYPES.find((t) => t === contentType.split(";")[0].trim().toLowerCase());
	if (!type) {
		throw UnsupportedMediaType(
			"Send the chat file as application/jsonl, application/x-ndjson, text/plain or application/json, " +
				"or as the `file` part of multipart/form-data",
		);
	}
	const user = (req.$ctx?.meta as { user: { id: string } }).user;
	const query = (req.$params.query ?? {}) as Record<string, unknown>;
	const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
	this.importLimiter
		.hit(user.id)
		.then(({ allowed, retryAfterSeconds }) => {
			if (!allowed) throw RateLimited(retryAfterSeconds);
			return type === "multipart/form-data" ? withCardErrors(() => formFile(contentType, body)) : body;
		})
		.then((file) => {
			req.$params = { character_id: query.character_id, text: file.toString("utf8") };
			next();
		}, next);
}
