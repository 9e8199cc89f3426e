/**
 * What the real process writes, at debug level in JSON: one parseable object per line with time, level, node and
 * service, request and session ids where a line concerns one, and never a secret: no password (plain or hashed), no
 * token, no JWT secret, no API key, whatever the requests did (good and bad logins, tokens in bodies, headers and
 * query strings, a chat whose model is unreachable, users' own provider keys saved, used and refused).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import { uniqueName } from "../support/config.js";
import { freePort, startCameo, waitForStatus, type RunningProcess } from "../support/process.js";
import { ChatSocket } from "../support/ws-client.js";
import { startFakeOpenAI, type FakeServer } from "../support/fake-openai.js";

const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;
const WRONG_PASSWORD = `wrong-${randomBytes(6).toString("hex")}`;
const SHORT_PASSWORD = `s${randomBytes(2).toString("hex")}`;
const JWT_SECRET = `jwt-secret-${randomBytes(24).toString("hex")}`;
const API_KEY = `AIzaFake${randomBytes(16).toString("hex")}`;
const CHAT_CONTENT = `chat-content-${randomBytes(6).toString("hex")}`;
const SECRETS_KEY = randomBytes(32).toString("hex");
const OWN_KEY = `sk-own-${randomBytes(12).toString("hex")}`;
const WRONG_OWN_KEY = `sk-wrong-${randomBytes(12).toString("hex")}`;

interface LogLine {
	ts: string;
	level: string;
	msg: string;
	nodeID: string;
	mod: string;
	requestID?: string;
	session_id?: string;
	message_id?: string;
}

let proc: RunningProcess;
let api = "";
let ws = "";
/** Every credential the run handed out or typed, to look for in the output. */
const secrets: string[] = [
	PASSWORD,
	WRONG_PASSWORD,
	SHORT_PASSWORD,
	JWT_SECRET,
	API_KEY,
	SECRETS_KEY,
	OWN_KEY,
	WRONG_OWN_KEY,
];
/** A user's own OpenAI-compatible server. */
let ownServer: FakeServer;
let output = "";
let loginRequestId = "";
let sessionId = "";
let messageId = "";

function post(path: string, body: string, headers: Record<string, string> = { "Content-Type": "application/json" }) {
	return fetch(`${api}${path}`, { method: "POST", headers, body });
}

/** Resolves to the exit code, or rejects when the process outlives `ms`. */
function exitWithin(ms: number): Promise<number | null> {
	return Promise.race([
		proc.exited,
		new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)),
	]);
}

beforeAll(async () => {
	const [apiPort, wsPort, healthPort, unusedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
	api = `http://127.0.0.1:${apiPort}`;
	ws = `ws://127.0.0.1:${wsPort}`;
	ownServer = await startFakeOpenAI({ apiKey: OWN_KEY });
	proc = startCameo({
		DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
		JWT_SECRET,
		LOGLEVEL: "debug",
		LOG_FORMAT: "json",
		API_PORT: String(apiPort),
		WS_PORT: String(wsPort),
		HEALTH_PORT: String(healthPort),
		// A key that goes nowhere: the model fails fast, which logs the provider's error.
		GOOGLE_API_KEY: API_KEY,
		GEMINI_BASE_URL: `http://127.0.0.1:${unusedPort}`,
		LLM_MAX_RETRIES: "0",
		SECRETS_KEY,
		// The user's own server is on this machine.
		ALLOW_PRIVATE_PROVIDER_URLS: "true",
	});
	await waitForStatus(`http://127.0.0.1:${healthPort}/readyz`, 200, 30_000, proc);

	const username = uniqueName("logs");
	const register = JSON.stringify({ username, name: "Log Reader", password: PASSWORD });
	expect((await post("/register", register)).status).toBe(201);
	expect((await post("/register", register)).status).toBe(409);
	expect(
		(await post("/register", JSON.stringify({ username: uniqueName("logs"), name: "Short", password: SHORT_PASSWORD })))
			.status,
	).toBe(422);

	const form = await post(
		"/login",
		new URLSearchParams({ username, password: PASSWORD, grant_type: "password" }).toString(),
		{
			"Content-Type": "application/x-www-form-urlencoded",
		},
	);
	expect(form.status).toBe(200);
	loginRequestId = form.headers.get("x-request-id") ?? "";
	const token = ((await form.json()) as { access_token: string }).access_token;
	const json = await post("/login", JSON.stringify({ username, password: PASSWORD }));
	const token2 = ((await json.json()) as { access_token: string }).access_token;
	expect((await post("/login", JSON.stringify({ username, password: WRONG_PASSWORD }))).status).toBe(401);
	expect((await post("/login", "{not json", { "Content-Type": "application/json" })).status).toBe(400);
	const forged = jwt.sign({ sub: username }, "someone-elses-secret-that-is-long-enough", { algorithm: "HS256" });
	secrets.push(token, token2, forged);

	expect((await post("/validate", JSON.stringify({ token }))).status).toBe(200);
	expect((await post("/validate", "", { Authorization: `Bearer ${token2}` })).status).toBe(200);
	expect((await post("/validate", JSON.stringify({ token: forged }))).status).toBe(401);
	const bearer = { Authorization: `Bearer ${token}` };
	expect((await fetch(`${api}/me`, { headers: bearer })).status).toBe(200);
	expect((await fetch(`${api}/me`, { headers: { Authorization: `Bearer ${forged}` } })).status).toBe(401);
	expect((await fetch(`${api}/no-such-path?token=${token}`)).status).toBe(404);
	const characters = (await (await fetch(`${api}/characters`, { headers: bearer })).json()) as { id: string }[];

	const socket = await ChatSocket.open(`${ws}/ws/${characters[0].id}?token=${token}`);
	sessionId = (await socket.next((f) => f.type === "connection")).session_id as string;
	socket.send({ content: CHAT_CONTENT });
	messageId = (await socket.next((f) => f.type === "echo")).id as string;
	expect(await socket.next((f) => f.type === "error" && f.reply_to === messageId, 20_000)).toMatchObject({
		code: "ai_unavailable",
	});
	socket.send("{not json");
	await socket.next((f) => f.type === "error" && f.code === "invalid_json");
	await socket.close();

	// Own provider keys: saved, used for a reply, then a wrong one refused by the provider (which quotes it, masked).
	const ownProvider = (key: string) =>
		fetch(`${api}/me/provider`, {
			method: "PUT",
			headers: { ...bearer, "Content-Type": "application/json" },
			body: JSON.stringify({ provider: "openai", api_key: key, base_url: `${ownServer.url}/v1`, model: "own-llm" }),
		});
	for (const [key, answer] of [
		[OWN_KEY, "ai"],
		[WRONG_OWN_KEY, "error"],
	]) {
		expect((await ownProvider(key)).status).toBe(200);
		const own = await ChatSocket.open(`${ws}/ws/${characters[0].id}?token=${token}`);
		await own.next((f) => f.type === "connection");
		own.send({ content: CHAT_CONTENT });
		await own.next((f) => f.type === answer && f.reply_to !== null, 20_000);
		await own.close();
	}
	expect(ownServer.requests.map((r) => r.headers.authorization)).toEqual([
		`Bearer ${OWN_KEY}`,
		`Bearer ${WRONG_OWN_KEY}`,
	]);
	await expect(ChatSocket.open(`${ws}/ws/${characters[0].id}?token=${forged}`)).rejects.toMatchObject({ status: 401 });

	proc.child.kill("SIGTERM");
	expect(await exitWithin(20_000)).toBe(0);
	output = proc.output();
}, 90_000);

afterAll(async () => {
	if (proc?.child.exitCode === null) proc.child.kill("SIGKILL");
	await ownServer?.stop();
});

const lines = () => output.split("\n").filter((line) => line.trim() !== "");
const parsed = () => lines().map((line) => JSON.parse(line) as LogLine);

describe("logs of the cameo process", () => {
	it("should write only JSON lines with time, level, node, module and message", () => {
		expect(lines().length).toBeGreaterThan(50);
		const unparseable = lines().filter((line) => {
			try {
				JSON.parse(line);
				return false;
			} catch {
				return true;
			}
		});
		expect(unparseable).toEqual([]);
		for (const line of parsed()) {
			expect(line).toMatchObject({
				ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
				level: expect.any(String),
				msg: expect.any(String),
				nodeID: expect.any(String),
				mod: expect.any(String),
			});
			expect(["fatal", "error", "warn", "info", "debug", "trace"]).toContain(line.level);
		}
	});

	it("should contain no password, password hash, token, JWT secret or API key", () => {
		const leaks = lines().filter(
			(line) => line.includes("scrypt$") || line.includes("eyJ") || secrets.some((s) => line.includes(s)),
		);
		expect(leaks).toEqual([]);
		// The masks show the redaction ran where these would have been (the 404's query string).
		expect(output).toContain("token=[redacted]");
	});

	it("should not log what users write", () => {
		expect(output).not.toContain(CHAT_CONTENT);
	});

	it("should tag the gateway's request lines with the request id sent back as X-Request-ID", () => {
		expect(loginRequestId).not.toBe("");
		const login = parsed().filter((line) => line.requestID === loginRequestId);
		expect(login.map((line) => line.msg)).toEqual(["=> POST /login", "<= 200 POST /login"]);
	});

	it("should tag chat lines with their session and message ids", () => {
		const failed = parsed().find((line) => line.mod === "ai-consumer" && line.message_id === messageId);
		expect(failed).toMatchObject({ level: "warn", session_id: sessionId });
	});

	it("should log the stop, and stop cleanly", () => {
		const messages = parsed().map((line) => line.msg);
		expect(messages).toContain("SIGTERM: stopping");
		expect(messages).toContain("ServiceBroker is stopped. Good bye.");
	});
});
