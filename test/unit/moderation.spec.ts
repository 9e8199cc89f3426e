import { describe, expect, it } from "vitest";
import { toOwnReportView, toReportView, type ListedReportRecord } from "../../src/domain/moderation.js";

const row: ListedReportRecord & { reporter_id: string } = {
	id: "r-1",
	character_id: "c-1",
	reason: "Spam",
	created_at: new Date("2026-01-02T03:04:05Z"),
	resolved_at: null,
	character_name: "Smuggler",
	owner: null,
	hidden: false,
	nsfw: true,
	// PostgreSQL's count() may arrive as a string.
	open_reports: "3" as unknown as number,
	reporter: "alice",
	resolved_by: null,
	resolution: null,
	reporter_id: "not on the wire",
};

describe("report views", () => {
	it("should give the reporter their report, open, with an ISO timestamp and nothing else", () => {
		expect(toOwnReportView(row)).toEqual({
			id: "r-1",
			character_id: "c-1",
			reason: "Spam",
			created_at: "2026-01-02T03:04:05.000Z",
			resolved: false,
		});
	});

	it("should give admins the character, its open reports as a number, and the resolution", () => {
		const resolved = { ...row, resolved_at: "2026-01-03T00:00:00.000Z", resolved_by: "root", resolution: "Hidden" };
		expect(toReportView(resolved)).toEqual({
			id: "r-1",
			character_id: "c-1",
			reason: "Spam",
			created_at: "2026-01-02T03:04:05.000Z",
			resolved: true,
			character: { id: "c-1", name: "Smuggler", owner: null, hidden: false, nsfw: true, open_reports: 3 },
			reporter: "alice",
			resolved_at: "2026-01-03T00:00:00.000Z",
			resolved_by: "root",
			resolution: "Hidden",
		});
	});
});
