/**
 * The gateway's /v1 route (issue 18): OpenAI's Chat Completions API, where cameo's characters are the models
 * (services/completions.service.ts). Bearer authentication as on every other route; the body is checked here
 * (src/domain/openai-wire.ts) so the service gets a normalized request; errors leave in OpenAI's form
 * `{error: {message, type, param, code}}` (this route only: the rest of the API keeps `{detail, code}`); a stream is
 * sent as server-sent events.
 *
 * A client that goes away before its answer is complete (a dropped stream, a closed connection) abandons the
 * completion: the generation is aborted wherever it runs, by a broadcast naming the completion's id.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Context, Service } from "moleculer";
import type { Config } from "../config.js";
import { hostileParams, SECURITY_HEADERS } from "../domain/http-hardening.js";
import {
	COMPLETION_BODY_LIMIT,
	CompletionEvent,
	openAiErrorOf,
	parseCompletionRequest,
	type CompletionMeta,
	type CompletionRequest,
} from "../domain/openai-wire.js";
import { CompletionRefused } from "../errors.js";
import { logResponseLine, type GatewayRequest } from "./gateway-http.js";

/** moleculer-web's params of a route that does not merge them. */
interface RouteParams {
	body?: unknown;
	params?: Record<string, string>;
}

type V1Request = GatewayRequest & { $answered?: boolean };

/** The body as the service takes it; else its first fault, thrown as a 400 (or 413) naming the field. */
function completionParams(body: unknown): CompletionRequest {
	// Only the depth check: a NUL character is harmless in a prompt that is never stored.
	const hostile = hostileParams(body);
	if (hostile?.errors[0]?.type === "object") {
		throw CompletionRefused({ status: 400, message: hostile.detail, param: null, code: "too_deep" });
	}
	const parsed = parseCompletionRequest(body);
	if (!parsed.ok) throw CompletionRefused(parsed.refusal);
	return parsed.request;
}

export function openaiRoute(config: Config) {
	return {
		name: "openai",
		path: "/v1",
		mappingPolicy: "restrict",
		authentication: true,
		// The body is the request, read whole by completionParams: nothing from the query is merged into it.
		mergeParams: false,
		// A long conversation, bounded; `strict: false` so a body that is JSON but no object gets the clearer refusal.
		bodyParsers: { json: { limit: COMPLETION_BODY_LIMIT, strict: false }, urlencoded: false },
		// A whole reply may take longer than the broker's default timeout; a stream only has to start within it.
		callOptions: { timeout: config.chat.replyTimeoutSeconds * 1000 },
		aliases: {
			"GET /models": "completions.models",
			"GET /models/:model": "completions.model",
			"POST /chat/completions": "completions.create",
		},

		onBeforeCall(
			this: Service,
			ctx: Context<unknown, CompletionMeta>,
			_route: unknown,
			req: V1Request,
			res: ServerResponse,
		) {
			const { body, params } = req.$params as RouteParams;
			const action = req.$alias?.action;
			if (action === "completions.model") return void (req.$params = { model: String(params?.model ?? "") });
			if (action !== "completions.create") return void (req.$params = {});
			req.$params = completionParams(body) as unknown as Record<string, unknown>;
			const id = randomUUID();
			ctx.meta.completion_id = id;
			res.once("close", () => {
				if (req.$answered && res.writableFinished) return;
				void this.broker.broadcast(CompletionEvent.Abandoned, { id });
			});
		},

		onAfterCall(ctx: Context<unknown, CompletionMeta>, _route: unknown, req: V1Request, _res: unknown, data: unknown) {
			req.$answered = true;
			if (data instanceof Readable) {
				ctx.meta.$responseType = "text/event-stream; charset=utf-8";
				// No caching, and no buffering by a proxy in front (nginx), so each event reaches the client as it is sent.
				ctx.meta.$responseHeaders = { "Cache-Control": "no-cache", "X-Accel-Buffering": "no" };
			}
			return data;
		},

		onError(this: Service, req: GatewayRequest, res: ServerResponse, err: unknown) {
			const { status, body, headers } = openAiErrorOf(err);
			if (status >= 500) this.logger.error({ requestID: req.$ctx?.requestID }, `${req.method} ${req.url} failed:`, err);
			if (!res.headersSent) {
				res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "Content-Type": "application/json; charset=utf-8" });
			}
			res.end(JSON.stringify(body));
			logResponseLine(this.logger, req, res);
		},
	};
}
