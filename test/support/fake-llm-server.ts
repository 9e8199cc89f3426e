/**
 * Plumbing shared by the fake LLM providers (fake-gemini.ts, fake-openai.ts): an HTTP server on 127.0.0.1 that
 * records every request and answers each with the next scripted step, in the provider's own wire format, so the
 * real client libraries run against it.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface FakeUsage {
	input: number;
	output: number;
	/** Thinking tokens (Gemini's `thoughtsTokenCount`), billed as output but reported apart. */
	thoughts?: number;
}

export type FakeStep =
	/**
	 * A reply in these chunks, `delayMs` before each; `usage` is reported with it when given. `dropAfter`: the
	 * connection breaks after that many chunks (a provider failing mid-reply).
	 */
	| { text: string[]; delayMs?: number; usage?: FakeUsage; dropAfter?: number }
	/** An HTTP error with the provider's error body. */
	| { status: number; message?: string }
	/** Take the request and never answer (timeouts). */
	| { hang: true };

export interface RecordedRequest {
	method: string;
	/** Path and query, e.g. `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`. */
	path: string;
	headers: IncomingHttpHeaders;
	/** The parsed JSON body. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into provider-specific JSON freely
	body: any;
	/** "client" when the client closed the connection before the answer was complete. */
	endedBy?: "server" | "client";
}

export interface FakeServer {
	/** Origin, e.g. http://127.0.0.1:43125 (no trailing slash). */
	url: string;
	requests: RecordedRequest[];
	/** Replaces the queue of answers; once it runs out, every request gets the default reply. */
	script(steps: FakeStep[]): void;
	/** Forgets the recorded requests and the queue. */
	reset(): void;
	stop(): Promise<void>;
}

/** An event of an SSE answer; `paced` events wait the step's `delayMs` first. */
export interface SseEvent {
	data: string;
	paced: boolean;
}

/** What makes a fake speak one provider's dialect. */
export interface Dialect {
	/** What ends an SSE event on the wire: Google sends CRLF pairs, OpenAI bare newlines. */
	eventEnd: "\r\n\r\n" | "\n\n";
	/** Which operation a request is; `undefined` answers 404. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request's own JSON
	route(method: string, url: URL, body: any): { stream: boolean; model?: string } | undefined;
	/** An error answer when the credentials are missing or wrong. */
	checkAuth(headers: IncomingHttpHeaders): { status: number; body: unknown } | undefined;
	/** Answers to metadata GETs (a model, the model list); `undefined` for the other requests. */
	describe?(method: string, url: URL): { status: number; body: unknown } | undefined;
	/** Why the provider would refuse this request body with a 400, if it would. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request's own JSON
	invalid?(body: any): string | undefined;
	errorBody(status: number, message: string | undefined): unknown;
	events(step: { text: string[]; usage?: FakeUsage }, ctx: ReplyContext): SseEvent[];
	json(step: { text: string[]; usage?: FakeUsage }, ctx: ReplyContext): unknown;
}

export interface ReplyContext {
	/** Model named in the path (Gemini) or body (OpenAI). */
	model: string;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request's own JSON
	body: any;
}

const DEFAULT_STEP: FakeStep = { text: ["ok"] };

export async function startFakeServer(dialect: Dialect): Promise<FakeServer> {
	const requests: RecordedRequest[] = [];
	let queue: FakeStep[] = [];

	const server = createServer((req, res) => {
		void handle(req, res).catch((err: Error) => {
			if (!res.headersSent) sendJson(res, 500, { error: { message: `fake server bug: ${err.message}` } });
			else res.destroy(err);
		});
	});

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const raw = await readBody(req);
		const record: RecordedRequest = {
			method: req.method ?? "",
			path: req.url ?? "",
			headers: req.headers,
			body: parseJson(raw),
		};
		requests.push(record);
		res.on("close", () => {
			record.endedBy ??= res.writableFinished ? "server" : "client";
		});

		const url = new URL(record.path, "http://fake");
		const described = dialect.describe?.(record.method, url);
		const route = dialect.route(record.method, url, record.body);
		if (!route && !described)
			return sendJson(res, 404, dialect.errorBody(404, `No route for ${record.method} ${record.path}`));
		const denied = dialect.checkAuth(req.headers);
		if (denied) return sendJson(res, denied.status, denied.body);
		if (described) return sendJson(res, described.status, described.body);
		if (!route) return;
		if (record.body === undefined) return sendJson(res, 400, dialect.errorBody(400, "Invalid JSON payload received."));
		const invalid = dialect.invalid?.(record.body);
		if (invalid) return sendJson(res, 400, dialect.errorBody(400, invalid));

		const step = queue.shift() ?? DEFAULT_STEP;
		if ("hang" in step) return;
		if ("status" in step) return sendJson(res, step.status, dialect.errorBody(step.status, step.message));
		const ctx: ReplyContext = { model: route.model ?? String(record.body?.model ?? ""), body: record.body };
		if (!route.stream) {
			if (step.delayMs) await sleep(step.delayMs * step.text.length);
			return sendJson(res, 200, dialect.json(step, ctx));
		}
		res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
		res.flushHeaders();
		let sent = 0;
		for (const event of dialect.events(step, ctx)) {
			if (event.paced && step.delayMs) await sleep(step.delayMs);
			if (res.destroyed) return;
			if (event.paced && sent === step.dropAfter) {
				record.endedBy = "server";
				res.destroy();
				return;
			}
			res.write(`data: ${event.data}${dialect.eventEnd}`);
			if (event.paced) sent += 1;
		}
		res.end();
	}

	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		script(steps) {
			queue = [...steps];
		},
		reset() {
			requests.length = 0;
			queue = [];
		},
		async stop() {
			// Hanging answers would otherwise keep close() waiting forever.
			server.closeAllConnections();
			await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
		},
	};
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on("data", (chunk: Buffer) => chunks.push(chunk));
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
	});
}

function parseJson(raw: string): unknown {
	try {
		return JSON.parse(raw);
	} catch {
		return undefined;
	}
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
	res.end(JSON.stringify(body));
}
