/**
 * Character images in a cluster, as Kubernetes runs them: the gateway on one node, the avatars service in the
 * accounts role on another, over the real Redis transporter (Redis also caches characters' reads). The derived image,
 * its 304, an upload's body and the visibility rule all cross the transporter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import sharp from "sharp";
import { clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { gatewayOrigin } from "../support/gateway.js";
import { eventually } from "../support/process.js";
import { noisePortrait } from "../support/card-images.js";
import { restClient, type CallOptions } from "../support/rest-client.js";

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

const { call, login } = restClient(() => base);

describe("character images, cluster", () => {
	it("should upload, derive, revalidate and hide a private image across nodes", async () => {
		const [owner, stranger] = await Promise.all([login(), login()]);
		const as = (user: { token: string }, extra: CallOptions = {}) => ({ token: user.token, ...extra });
		const json = { name: "Nodewise", system_prompt: "x", is_public: false };
		const created = await call("POST", "/characters", as(owner, { json }));
		expect(created.status).toBe(201);
		const path = `/characters/id/${created.body.id}/avatar`;
		const upload = await noisePortrait(700, 1000);
		expect(upload.length).toBeGreaterThan(1_500_000);
		const image = { body: upload, type: "image/png" };

		const put = await call("PUT", path, as(owner, image));
		expect([put.status, put.body.has_avatar]).toEqual([200, true]);
		// The gateway's cached read of the character (Redis) was cleared by the write on the other node.
		expect((await call("GET", `/characters/id/${created.body.id}`, as(owner))).body.has_avatar).toBe(true);

		const first = await call("GET", `${path}?size=64`, as(owner));
		expect([first.status, first.headers.get("content-type")]).toEqual([200, "image/webp"]);
		expect(await sharp(first.bytes).metadata()).toMatchObject({ width: 64, height: 64 });
		const etag = first.headers.get("etag")!;
		const again = await call("GET", `${path}?size=64`, as(owner, { headers: { "If-None-Match": etag } }));
		expect([again.status, again.bytes.length]).toEqual([304, 0]);

		expect((await call("GET", path, as(stranger))).status).toBe(404);
		expect((await call("PUT", path, as(stranger, image))).status).toBe(404);
		expect((await call("DELETE", path, as(owner))).status).toBe(204);
		expect((await call("GET", path, as(owner))).status).toBe(404);
	});
});
