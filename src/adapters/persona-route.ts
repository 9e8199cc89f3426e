/**
 * The gateway's route for persona writes and images (services/api.service.ts lists it before the plain JSON route, so
 * its aliases win): POST and PATCH take a body large enough for an avatar as a `data:` URL (the JSON route takes
 * 64 kB), and GET /personas/{id}/avatar answers with image bytes, as the character image route does.
 */
import type { ServerResponse } from "node:http";
import type { Context } from "moleculer";
import { PERSONA_AVATAR_MAX_URL_CHARS } from "../domain/personas.js";
import type { AvatarReadMeta } from "./avatar-route.js";
import { refuseHostileParams, type GatewayRequest } from "./gateway-http.js";

/** A persona's fields with its avatar, as JSON. */
const PERSONA_BODY_LIMIT = PERSONA_AVATAR_MAX_URL_CHARS + 16 * 1024;

/** GET avatar: If-None-Match goes along as meta (a header, not a field to document), for a 304. */
function personaAvatarParams(req: GatewayRequest, _res: ServerResponse, next: (err?: unknown) => void): void {
	const meta = req.$ctx?.meta as AvatarReadMeta | undefined;
	const ifNoneMatch = req.headers["if-none-match"];
	if (meta && ifNoneMatch) meta.ifNoneMatch = ifNoneMatch.slice(0, 1024);
	next();
}

export const PERSONA_ROUTE = {
	name: "persona-bodies",
	path: "/",
	mappingPolicy: "restrict",
	authentication: true,
	bodyParsers: { json: { limit: PERSONA_BODY_LIMIT, strict: true }, urlencoded: false },
	onBeforeCall(_ctx: Context, _route: unknown, req: GatewayRequest) {
		refuseHostileParams(req.$params);
	},
	aliases: {
		"POST /personas": "personas.create",
		"PATCH /personas/:id": "personas.update",
		"GET /personas/:id/avatar": [personaAvatarParams, "personas.avatar"],
	},
};
