/**
 * PostgreSQL access for character reports (migration 0017): filing one (at most one open per reporter and character),
 * the admins' queue, and resolving one.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import type { ListedReportRecord, ReportRecord, ReportStatus } from "../domain/moderation.js";

const REPORT_COLUMNS = "id, character_id, reason, created_at, resolved_at";

/**
 * The queue: `$1` the status, `$2` one character's id or null, `$3`/`$4` limit and offset. Open reports first, the
 * oldest first (the order they came in), then resolved ones, the latest resolved first.
 */
const LIST_REPORTS = `SELECT r.id, r.character_id, r.reason, r.created_at, r.resolved_at, r.resolution,
		c.name AS character_name, o.username AS owner, c.hidden, c.nsfw, rp.username AS reporter,
		rv.username AS resolved_by,
		(SELECT count(*) FROM character_reports x WHERE x.character_id = r.character_id AND x.resolved_at IS NULL)::int
			AS open_reports
	FROM character_reports r
	JOIN ai_characters c ON c.id = r.character_id
	JOIN users rp ON rp.id = r.reporter_id
	LEFT JOIN users o ON o.id = c.created_by
	LEFT JOIN users rv ON rv.id = r.resolved_by
	WHERE ($1::text = 'all' OR ($1::text = 'open') = (r.resolved_at IS NULL))
	  AND ($2::uuid IS NULL OR r.character_id = $2::uuid)
	ORDER BY r.resolved_at IS NOT NULL, CASE WHEN r.resolved_at IS NULL THEN r.created_at END, r.resolved_at DESC, r.id
	LIMIT $3 OFFSET $4`;

export class ReportStore {
	constructor(private readonly sequelize: Sequelize) {}

	/** Files a report, or answers the reporter's open one on that character (`created: false`), left as it was. */
	async file(
		characterId: string,
		reporterId: string,
		reason: string,
	): Promise<{ report: ReportRecord; created: boolean }> {
		const [created] = await this.select<ReportRecord>(
			`INSERT INTO character_reports (character_id, reporter_id, reason) VALUES ($1, $2, $3)
			 ON CONFLICT (character_id, reporter_id) WHERE resolved_at IS NULL DO NOTHING
			 RETURNING ${REPORT_COLUMNS}`,
			[characterId, reporterId, reason],
		);
		if (created) return { report: created, created: true };
		const [open] = await this.select<ReportRecord>(
			`SELECT ${REPORT_COLUMNS} FROM character_reports
			 WHERE character_id = $1 AND reporter_id = $2 AND resolved_at IS NULL`,
			[characterId, reporterId],
		);
		// Resolved in between: file it again.
		return open ? { report: open, created: false } : this.file(characterId, reporterId, reason);
	}

	async list(
		status: ReportStatus,
		characterId: string | undefined,
		page: { limit: number; offset: number },
	): Promise<ListedReportRecord[]> {
		return this.select<ListedReportRecord>(LIST_REPORTS, [status, characterId ?? null, page.limit, page.offset]);
	}

	/**
	 * Resolves a report by `adminId`, with their note; resolving it again changes the note and who resolved it, not
	 * when. False when there is no such report.
	 */
	async resolve(reportId: string, adminId: string, resolution: string | undefined): Promise<boolean> {
		const rows = await this.select<{ id: string }>(
			`UPDATE character_reports SET resolved_at = COALESCE(resolved_at, now()), resolved_by = $2, resolution = $3
			 WHERE id = $1 RETURNING id`,
			[reportId, adminId, resolution ?? null],
		);
		return rows.length > 0;
	}

	/** One report as the queue shows it, or null. */
	async get(reportId: string): Promise<ListedReportRecord | null> {
		const [row] = await this.select<ListedReportRecord>(
			LIST_REPORTS.replace("WHERE (", "WHERE r.id = $5::uuid AND ("),
			["all", null, 1, 0, reportId],
		);
		return row ?? null;
	}

	private select<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
		return this.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
	}
}
