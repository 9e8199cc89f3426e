/**
 * The gateway's `POST /characters/import` alias middleware (services/api.service.ts): the request body as
 * `characters.importCard` params (src/domain/card-upload.ts), `?public=true` as is_public, counted against the
 * caller's import budget. A middleware rather than onBeforeCall because it runs after authentication: anonymous
 * callers get 401, not 415.
 */
import type { ServerResponse } from "node:http";
import { RateLimited, UnsupportedMediaType, withCardErrors } from "../errors.js";
import { cardUpload, uploadType } from "../domain/card-upload.js";
import type { GatewayRequest } from "./gateway-http.js";
import type { RateLimiter } from "./rate-limiter.js";

/** Runs as the gateway service (`this`), which holds the import limiter (CHARACTER_IMPORTS_PER_MINUTE). */
export function cardUploadParams(
	this: { importLimiter: RateLimiter },
	req: GatewayRequest,
	_res: ServerResponse,
	next: (err?: unknown) => void,
): void {
	const type = uploadType(req.headers["content-type"]);
	if (!type) {
		throw UnsupportedMediaType(
			"Send a character card as application/json, a card PNG as image/png, " +
				"or either as the `file` part of multipart/form-data",
		);
	}
	const user = (req.$ctx?.meta as { user: { id: string } }).user;
	const query = (req.$params.query ?? {}) as Record<string, unknown>;
	this.importLimiter
		.hit(user.id)
		.then(({ allowed, retryAfterSeconds }) => {
			if (!allowed) throw RateLimited(retryAfterSeconds);
			return withCardErrors(() => cardUpload(type, req.headers["content-type"] ?? "", req.body));
		})
		.then((upload) => {
			req.$params = { ...upload, is_public: query.public === "true" };
			next();
		}, next);
}
