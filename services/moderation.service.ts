/**
 * Moderation (issue 17): users report characters they can see (POST /characters/id/{id}/report), and admins work the
 * queue (GET /admin/reports, PATCH /admin/reports/{id}), hide a character or mark it NSFW (PATCH
 * /admin/characters/{id}) and delete any character (DELETE /admin/characters/{id}). Who may then see a character is
 * canView's rule (src/domain/characters.ts); a change clears every node's cached character reads and makes chat-ws
 * look again at the sockets chatting with it, as the owner's own edits do.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ReportStore } from "../src/adapters/report-store.js";
import { clearCharacterCaches } from "../src/adapters/character-storage.js";
import { createRateLimiter, type RateLimiter } from "../src/adapters/rate-limiter.js";
import { acquireRedis, redisKey, releaseRedis } from "../src/adapters/redis.js";
import { toCharacterView, type Caller, type CharacterView } from "../src/domain/characters.js";
import {
	REPORT_REASON_MAX,
	REPORTS_PER_HOUR,
	RESOLUTION_MAX,
	toOwnReportView,
	toReportView,
	type ModerationChanges,
	type OwnReportView,
	type ReportStatus,
	type ReportView,
} from "../src/domain/moderation.js";
import { CharacterNotFound, NotFound, RateLimited, Unauthorized, ValidationFailed } from "../src/errors.js";

interface ModerationMeta {
	user?: Caller;
	$statusCode?: number;
}
export interface ReportParams {
	id: string;
	reason: string;
}
export interface ListReportsParams {
	status: ReportStatus;
	character_id?: string;
	limit: number;
	offset: number;
}
export interface ResolveReportParams {
	id: string;
	resolved: true;
	resolution?: string;
}
export type ModerateParams = { id: string } & ModerationChanges;

type ModerationThis = Service & DbThis & { reports: ReportStore; limiter: RateLimiter; redis?: Redis };

const NO_RETRIES = { enabled: false };

function requireUser(meta: ModerationMeta): Caller {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

/** The validator's `optional` lets null through: it is no change either, so say so (422) rather than ignore it. */
function refuseNulls(params: object, fields: readonly string[]): void {
	for (const field of fields) {
		if ((params as Record<string, unknown>)[field] !== null) continue;
		const message = `${field} may be left out, not null`;
		throw ValidationFailed(message, [{ field, message, type: "required" }]);
	}
}

export default function moderationService(config: Config): ServiceSchema<ServiceSettingSchema, ModerationThis> {
	return {
		name: "moderation",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		/** characters.get decides whether the reporter may see the character; characters.remove deletes one. */
		dependencies: ["characters"],

		actions: {
			/** POST /characters/id/{id}/report: 201 with the report, 200 with the reporter's open one on it. */
			report: {
				description:
					`Report a character you can see to the admins, with a reason (up to ${REPORT_REASON_MAX} characters); ` +
					`one open report per character and user (a second answers the open one, 200), ${REPORTS_PER_HOUR} ` +
					"reports per user per hour",
				retryPolicy: NO_RETRIES,
				params: {
					$$strict: "remove",
					id: "uuid",
					reason: { type: "string", trim: true, min: 1, max: REPORT_REASON_MAX },
				},
				async handler(this: ModerationThis, ctx: Context<ReportParams, ModerationMeta>): Promise<OwnReportView> {
					const user = requireUser(ctx.meta);
					// The same 404 as GET /characters/id/{id} for what the caller cannot see.
					await ctx.call("characters.get", { id: ctx.params.id }, { meta: { user } });
					const { allowed, retryAfterSeconds } = await this.limiter.hit(user.id);
					if (!allowed) throw RateLimited(retryAfterSeconds, `Too many reports; retry in ${retryAfterSeconds} s`);
					const { report, created } = await this.reports.file(ctx.params.id, user.id, ctx.params.reason);
					ctx.meta.$statusCode = created ? 201 : 200;
					return toOwnReportView(report);
				},
			},

			/** GET /admin/reports */
			reports: {
				description:
					"Admins: reports of characters, open ones first (oldest first), then resolved ones (latest first); each " +
					"with the character (name, owner, hidden, nsfw, its open reports), the reporter and the resolution. " +
					"`status`: open, resolved or all (default); `character_id`: one character's",
				admin: true,
				params: {
					status: { type: "enum", values: ["open", "resolved", "all"], default: "all" },
					character_id: { type: "uuid", optional: true },
					limit: { type: "number", integer: true, min: 1, max: 100, default: 50, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 10_000, default: 0, convert: true },
				},
				async handler(this: ModerationThis, ctx: Context<ListReportsParams, ModerationMeta>): Promise<ReportView[]> {
					const { status, character_id, limit, offset } = ctx.params;
					return (await this.reports.list(status, character_id, { limit, offset })).map(toReportView);
				},
			},

			/** PATCH /admin/reports/{id} */
			resolveReport: {
				description:
					"Admins: resolve a report (`resolved: true`), with an optional note of what was done " +
					`(\`resolution\`, up to ${RESOLUTION_MAX} characters)`,
				admin: true,
				params: {
					$$strict: "remove",
					id: "uuid",
					resolved: { type: "equal", value: true, strict: true },
					resolution: { type: "string", trim: true, max: RESOLUTION_MAX, optional: true },
				},
				async handler(this: ModerationThis, ctx: Context<ResolveReportParams, ModerationMeta>): Promise<ReportView> {
					refuseNulls(ctx.params, ["resolution"]);
					const admin = requireUser(ctx.meta);
					const found = await this.reports.resolve(ctx.params.id, admin.id, ctx.params.resolution);
					const row = found ? await this.reports.get(ctx.params.id) : null;
					if (!row) throw NotFound("Report not found");
					return toReportView(row);
				},
			},

			/** PATCH /admin/characters/{id} */
			moderateCharacter: {
				description:
					"Admins: hide a character (`hidden`: gone for everyone but its owner and admins, its other users' " +
					"chats with it closed) or mark it NSFW (`nsfw`: shown only to users who opted in with PATCH /me " +
					"`show_nsfw`, its owner and admins); answers the character",
				admin: true,
				params: {
					$$strict: "remove",
					id: "uuid",
					hidden: { type: "boolean", optional: true },
					nsfw: { type: "boolean", optional: true },
				},
				async handler(this: ModerationThis, ctx: Context<ModerateParams, ModerationMeta>): Promise<CharacterView> {
					refuseNulls(ctx.params, ["hidden", "nsfw"]);
					const { id, hidden, nsfw } = ctx.params;
					if (hidden === undefined && nsfw === undefined) {
						const message = "Give hidden, nsfw or both";
						throw ValidationFailed(message, [{ field: "hidden", message, type: "required" }]);
					}
					const row = await this.db.models.Character.findByPk(id);
					if (!row) throw CharacterNotFound(id);
					await row.update({ ...(hidden === undefined ? {} : { hidden }), ...(nsfw === undefined ? {} : { nsfw }) });
					// At once on every node: the cached reads, and the sockets of those who may no longer see it.
					await clearCharacterCaches(this.broker, this.logger);
					return toCharacterView(row);
				},
			},

			/** DELETE /admin/characters/{id}: characters.remove, which lets admins delete any character. */
			removeCharacter: {
				description: "Admins: delete any character, with its chats (204)",
				admin: true,
				retryPolicy: NO_RETRIES,
				params: { id: "uuid" },
				async handler(this: ModerationThis, ctx: Context<{ id: string }, ModerationMeta>): Promise<null> {
					await ctx.call("characters.remove", { id: ctx.params.id }, { meta: { user: requireUser(ctx.meta) } });
					ctx.meta.$statusCode = 204;
					return null;
				},
			},
		},

		async started(this: ModerationThis) {
			this.reports = new ReportStore(this.db.sequelize);
			// In a cluster the budget is counted in Redis, so it holds whichever node takes the report.
			if (config.mode === "cluster" && config.redisUrl) this.redis = acquireRedis(config.redisUrl);
			this.limiter = createRateLimiter({
				keyPrefix: redisKey(config.namespace, "limit", "reports"),
				points: REPORTS_PER_HOUR,
				durationSeconds: 60 * 60,
				redis: this.redis,
			});
		},

		async stopped(this: ModerationThis) {
			if (this.redis) await releaseRedis();
		},
	};
}
