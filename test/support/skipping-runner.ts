/**
 * Vitest's runner, except that a suite whose Redis, RabbitMQ or programs are missing (services.ts) is not imported:
 * it stands in the report as one test named after what is missing, skipped on a contributor's machine and failed
 * under CI, which must run every suite.
 */
import path from "node:path";
import { test } from "vitest";
import { VitestTestRunner } from "vitest/runners";
import { missingFor, underCi } from "./services.js";

export default class SkippingRunner extends VitestTestRunner {
	override async importFile(filepath: string, source: Parameters<VitestTestRunner["importFile"]>[1]): Promise<unknown> {
		const missing = source === "collect" ? await missingFor(path.relative(this.config.root, filepath)) : [];
		if (missing.length === 0) return super.importFile(filepath, source);
		const why = `needs ${missing.join(", ")}`;
		if (!underCi()) {
			console.warn(`skipped: ${why}`);
			test.skip(why, () => {});
		} else {
			test(why, () => {
				throw new Error(`CI runs every suite: this one ${why}`);
			});
		}
		return undefined;
	}
}
