/**
 * Moderation without transport or storage: users' reports of characters and the views admins get of them.
 * Who may see a hidden or NSFW character is canView's (src/domain/characters.ts).
 */

/** Longest report reason, in characters. */
export const REPORT_REASON_MAX = 1000;
/** Longest note an admin leaves when resolving a report. */
export const RESOLUTION_MAX = 1000;
/** Reports one user may file per hour, over all characters (a spam guard, not a quota). */
export const REPORTS_PER_HOUR = 10;

export type ReportStatus = "open" | "resolved" | "all";

/** A report as its reporter gets it back from POST /characters/id/{id}/report. */
export interface OwnReportView {
	id: string;
	character_id: string;
	reason: string;
	created_at: string;
	resolved: boolean;
}

/** A report as GET /admin/reports lists it: the character it is about and who filed it. */
export interface ReportView extends OwnReportView {
	character: {
		id: string;
		name: string;
		/** The owner's username; null for seed characters and those whose owner deleted their account. */
		owner: string | null;
		hidden: boolean;
		nsfw: boolean;
		/** How many open reports the character has: the queue's sense of urgency. */
		open_reports: number;
	};
	reporter: string;
	resolved_at: string | null;
	/** The admin who resolved it (null once their account is gone). */
	resolved_by: string | null;
	resolution: string | null;
}

/** A report row as the store reads it. */
export interface ReportRecord {
	id: string;
	character_id: string;
	reason: string;
	created_at: Date | string;
	resolved_at: Date | string | null;
}

/** A report row joined with its character, reporter and resolver. */
export interface ListedReportRecord extends ReportRecord {
	character_name: string;
	owner: string | null;
	hidden: boolean;
	nsfw: boolean;
	open_reports: number;
	reporter: string;
	resolved_by: string | null;
	resolution: string | null;
}

const iso = (at: Date | string) => new Date(at).toISOString();

export function toOwnReportView(row: ReportRecord): OwnReportView {
	return {
		id: row.id,
		character_id: row.character_id,
		reason: row.reason,
		created_at: iso(row.created_at),
		resolved: row.resolved_at !== null,
	};
}

export function toReportView(row: ListedReportRecord): ReportView {
	return {
		...toOwnReportView(row),
		character: {
			id: row.character_id,
			name: row.character_name,
			owner: row.owner,
			hidden: row.hidden,
			nsfw: row.nsfw,
			open_reports: Number(row.open_reports),
		},
		reporter: row.reporter,
		resolved_at: row.resolved_at === null ? null : iso(row.resolved_at),
		resolved_by: row.resolved_by,
		resolution: row.resolution,
	};
}

/** What PATCH /admin/characters/{id} may change. */
export interface ModerationChanges {
	hidden?: boolean;
	nsfw?: boolean;
}
