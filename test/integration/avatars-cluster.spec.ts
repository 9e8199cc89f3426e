/**
 * Character images in a cluster, as Kubernetes runs them: the gateway on one node, the avatars service in the
 * accounts role on another, over the real Redis transporter (Redis also caches characters' reads). The derived image,
 * its 304, an upload's body and the visibility rule all cross the transporter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import sharp from "sharp";
import { uniqueName } from "../support/config.js";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";

const namespace = clusterNamespace("av");
let gateway: ServiceBroker;
let accounts: ServiceBroker;
let base = "";

beforeAll(async () => {
	gateway = clusterNode(namespace, "api");
	accounts = clusterNode(namespace, "auth,characters,sessions,avatars");
	await Promise.all([gateway.start(), accounts.start()]);
	base = gatewayOrigin(gateway);
	// Nodes announce their services up to a second after starting.
	const known = () => gateway.registry.getServiceList({ onlyAvailable: true }).some((s) => s.name === "avatars");
	await eventually(known, 10_000, "the gateway knows the avatars service");
}, 60_000);

afterAll(async () => {
	await Promise.all([gateway, accounts].map((b) => b?.stop().catch(() => undefined)));
	await removeNamespace(namespace);
}, 60_000);

async function call(method: string, path: string, token?: string, body?: Buffer | object, headers = {}) {
	const type = Buffer.isBuffer(body) ? "image/png" : "application/json";
	const res = await fetch(base + path, {
		method,
		headers: {
			...(token ? { Authorization: `Bearer ${token}` } : {}),
			...(body ? { "Content-Type": type } : {}),
			...headers,
		},
		body: Buffer.isBuffer(body) ? body : body ? JSON.stringify(body) : undefined,
	});
	const bytes = Buffer.from(await res.arrayBuffer());
	const json = res.headers.get("content-type")?.startsWith("application/json") && bytes.length > 0;
	return { status: res.status, headers: res.headers, bytes, body: json ? JSON.parse(bytes.toString()) : null };
}

async function login(): Promise<string> {
	const username = uniqueName("av");
	await call("POST", "/register", undefined, { username, name: "Cluster Painter", password: "password123" });
	return (await call("POST", "/login", undefined, { username, password: "password123" })).body.access_token;
}

describe("character images, cluster", () => {
	it("should upload, derive, revalidate and hide a private image across nodes", async () => {
		const [owner, stranger] = await Promise.all([login(), login()]);
		const created = await call("POST", "/characters", owner, {
			name: "Nodewise",
			system_prompt: "x",
			is_public: false,
		});
		expect(created.status).toBe(201);
		const path = `/characters/id/${created.body.id}/avatar`;
		const upload = await sharp(randomBytes(700 * 1000 * 3), { raw: { width: 700, height: 1000, channels: 3 } })
			.png()
			.toBuffer();
		expect(upload.length).toBeGreaterThan(1_500_000);

		const put = await call("PUT", path, owner, upload);
		expect([put.status, put.body.has_avatar]).toEqual([200, true]);
		// The gateway's cached read of the character (Redis) was cleared by the write on the other node.
		expect((await call("GET", `/characters/id/${created.body.id}`, owner)).body.has_avatar).toBe(true);

		const first = await call("GET", `${path}?size=64`, owner);
		expect([first.status, first.headers.get("content-type")]).toEqual([200, "image/webp"]);
		expect(await sharp(first.bytes).metadata()).toMatchObject({ width: 64, height: 64 });
		const etag = first.headers.get("etag")!;
		const again = await call("GET", `${path}?size=64`, owner, undefined, { "If-None-Match": etag });
		expect([again.status, again.bytes.length]).toEqual([304, 0]);

		expect((await call("GET", path, stranger)).status).toBe(404);
		expect((await call("PUT", path, stranger, upload)).status).toBe(404);
		expect((await call("DELETE", path, owner)).status).toBe(204);
		expect((await call("GET", path, owner)).status).toBe(404);
	});
});
