/**
 * Moderation in a cluster (issue 17): an admin's hide, sent to a node of its own, holds at once on every node — the
 * characters' reads are cached in Redis and served by two nodes, and a reader's open socket on a chat-ws node of its
 * own closes (4004) — and a user's hourly report budget is counted once whichever of two nodes takes the report.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { createTestCharacter, signUp } from "../support/config.js";
import { awaitService, clusterNamespace, clusterNode, removeNamespace } from "../support/cluster.js";
import { ChatSocket } from "../support/ws-client.js";
import { REPORTS_PER_HOUR } from "../../src/domain/moderation.js";

const namespace = clusterNamespace("mod");
let core: ServiceBroker;
let characters2: ServiceBroker;
let moderation1: ServiceBroker;
let moderation2: ServiceBroker;
let ws: ServiceBroker;

beforeAll(async () => {
	core = clusterNode(namespace, "auth,characters,sessions");
	characters2 = clusterNode(namespace, "characters");
	moderation1 = clusterNode(namespace, "moderation");
	moderation2 = clusterNode(namespace, "moderation");
	ws = clusterNode(namespace, "chat-ws");
	const all = [core, characters2, moderation1, moderation2, ws];
	await Promise.all(all.map((b) => b.start()));
	await awaitService(all, "characters", 2);
	await awaitService(all, "moderation", 2);
}, 60_000);

afterAll(async () => {
	await Promise.all([core, characters2, moderation1, moderation2, ws].map((b) => b?.stop()));
	await removeNamespace(namespace);
});

const adminMeta = { user: { id: "00000000-0000-4000-8000-00000000a11d", username: "root", role: "admin" } };

describe("moderation across nodes", () => {
	it("should hide a character on every node at once, cached reads and open sockets included", async () => {
		const characterId = await createTestCharacter(core);
		const reader = await signUp(core, "mod");
		// Cached on both characters nodes' shared cacher, asked from every node.
		for (const node of [core, characters2, ws, ws, moderation1])
			expect(await node.call("characters.get", { id: characterId }, { meta: reader.meta })).toMatchObject({
				id: characterId,
				hidden: false,
			});
		const port = ws.getLocalService("chat-ws").settings.port as number;
		const socket = await ChatSocket.open(`ws://127.0.0.1:${port}/ws/${characterId}?token=${reader.token}`);
		await socket.next((f) => f.type === "connection");

		await moderation1.call("moderation.moderateCharacter", { id: characterId, hidden: true }, { meta: adminMeta });

		for (const node of [core, characters2, ws, ws, moderation2])
			await expect(node.call("characters.get", { id: characterId }, { meta: reader.meta })).rejects.toMatchObject({
				code: 404,
			});
		const listed = await characters2.call<{ id: string }[], object>("characters.list", {}, { meta: reader.meta });
		expect(listed.map((c) => c.id)).not.toContain(characterId);
		expect(await socket.closed).toBe(4004);
	});

	it("should count a user's reports once, whichever node takes them", async () => {
		const reporter = await signUp(core, "mod");
		const owner = await signUp(core, "mod");
		const ids: string[] = [];
		for (let i = 0; i <= REPORTS_PER_HOUR; i += 1) {
			const made = await core.call<{ id: string }, object>(
				"characters.create",
				{ name: `Reported ${i}`, system_prompt: "p" },
				{ meta: owner.meta },
			);
			ids.push(made.id);
		}
		const answers: string[] = [];
		for (const [i, id] of ids.entries()) {
			const node = i % 2 === 0 ? moderation1 : moderation2;
			answers.push(
				await node
					.call("moderation.report", { id, reason: "spam" }, { meta: reporter.meta })
					.then(() => "filed")
					.catch((err: { code: number }) => String(err.code)),
			);
		}
		expect(answers).toEqual([...Array<string>(REPORTS_PER_HOUR).fill("filed"), "429"]);
	});
});
