/** Calls to the gateway as a client makes them (any body, any header), and a fresh account to make them with. */
import { uniqueName } from "./config.js";

export interface Reply {
	status: number;
	headers: Headers;
	bytes: Buffer;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes
	body: any;
}

export interface CallOptions {
	token?: string;
	/** Sent as JSON (Content-Type application/json unless `type` says otherwise). */
	json?: unknown;
	body?: string | Buffer;
	type?: string;
	headers?: Record<string, string>;
}

/** `origin()` is read at each call, so a client can be made before its gateway has started. */
export function restClient(origin: () => string) {
	async function call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
		const headers: Record<string, string> = { ...opts.headers };
		if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
		let body = opts.body;
		if (opts.json !== undefined) body = JSON.stringify(opts.json);
		if (opts.type ?? opts.json !== undefined) headers["Content-Type"] = opts.type ?? "application/json";
		const res = await fetch(origin() + path, { method, headers, body });
		const bytes = Buffer.from(await res.arrayBuffer());
		const isJson = res.headers.get("content-type")?.startsWith("application/json");
		return {
			status: res.status,
			headers: res.headers,
			bytes,
			body: isJson && bytes.length ? JSON.parse(bytes.toString("utf8")) : null,
		};
	}

	/** A new account (password "a long enough password"), logged in. */
	async function login(
		name = "Test User",
		username = uniqueName(),
	): Promise<{ id: string; username: string; token: string }> {
		const password = "a long enough password";
		const reg = await call("POST", "/register", { json: { username, name, password } });
		const res = await call("POST", "/login", { json: { username, password } });
		return { id: reg.body.id, username, token: res.body.access_token };
	}

	return { call, login };
}
