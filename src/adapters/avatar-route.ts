/**
 * The gateway's route for character images (services/api.service.ts), served by the avatars service: GET the
 * small derived image, PUT an upload (PNG, JPEG or WebP bytes as the body), DELETE it. Its own route because an
 * upload body is raw bytes, which the JSON routes do not read; the alias middleware turn each request into params
 * after authentication (anonymous callers get 401 before anything about their body).
 */
import type { ServerResponse } from "node:http";
import { RateLimited, UnsupportedMediaType } from "../errors.js";
import { AVATAR_UPLOAD_TYPES, MAX_AVATAR_UPLOAD_BYTES, avatarUploadType } from "../domain/avatars.js";
import type { JsonSchema } from "../domain/openapi.js";
import type { GatewayRequest } from "./gateway-http.js";
import type { RateLimiter } from "./rate-limiter.js";

/** What moleculer-web puts in `$params` on a route that does not merge them. */
interface UnmergedParams {
	params?: Record<string, unknown>;
	query?: Record<string, unknown>;
}

/** Meta a read carries to the avatars service: the client's validator, for a 304. */
export interface AvatarReadMeta {
	ifNoneMatch?: string;
}

/** GET and DELETE: the id, `?size=`, and If-None-Match (as meta: it is a header, not something to document as a field). */
export function avatarReadParams(req: GatewayRequest, _res: ServerResponse, next: (err?: unknown) => void): void {
	const { params = {}, query = {} } = req.$params as UnmergedParams;
	const meta = req.$ctx?.meta as AvatarReadMeta | undefined;
	const ifNoneMatch = req.headers["if-none-match"];
	if (meta && ifNoneMatch) meta.ifNoneMatch = ifNoneMatch.slice(0, 1024);
	req.$params = req.method === "GET" ? { id: params.id, size: query.size } : { id: params.id };
	next();
}

/** PUT: the image bytes (base64 for the transporter), counted against the caller's upload budget like imports. */
export function avatarUploadParams(
	this: { importLimiter: RateLimiter },
	req: GatewayRequest,
	_res: ServerResponse,
	next: (err?: unknown) => void,
): void {
	if (!avatarUploadType(req.headers["content-type"])) {
		throw UnsupportedMediaType(`Send the image as the body, typed ${AVATAR_UPLOAD_TYPES.join(", ")}`);
	}
	const { params = {} } = req.$params as UnmergedParams;
	const user = (req.$ctx?.meta as { user: { id: string } }).user;
	const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
	this.importLimiter.hit(user.id).then(({ allowed, retryAfterSeconds }) => {
		if (!allowed) return next(RateLimited(retryAfterSeconds));
		req.$params = { id: params.id, image: bytes.toString("base64") };
		next();
	}, next);
}

/** The upload body for /openapi.json (the params avatarUploadParams makes of it are not the body). */
export const AVATAR_UPLOAD_BODY: Readonly<Record<string, JsonSchema>> = Object.fromEntries(
	AVATAR_UPLOAD_TYPES.map((type) => [type, { type: "string", format: "binary", description: "The image" }]),
);

export const AVATAR_ROUTE = {
	name: "character-avatar",
	path: "/",
	mappingPolicy: "restrict",
	authentication: true,
	// The body is a Buffer: merging would copy it into the params byte by byte.
	mergeParams: false,
	// Any type is read (within the limit) so that a wrong one gets a clear 415 from avatarUploadParams.
	bodyParsers: { json: false, urlencoded: false, raw: { type: () => true, limit: MAX_AVATAR_UPLOAD_BYTES } },
	aliases: {
		"GET /characters/id/:id/avatar": [avatarReadParams, "avatars.get"],
		"PUT /characters/id/:id/avatar": [avatarUploadParams, "avatars.put"],
		"DELETE /characters/id/:id/avatar": [avatarReadParams, "avatars.remove"],
	},
};
