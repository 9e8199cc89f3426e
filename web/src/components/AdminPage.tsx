/**
 * The admins' console (issue 17, `#/admin`): users with their usage and limits, sign-up invites, the reports queue and
 * live figures, one tab at a time (a tab's requests and timers stop when another is shown). Anyone else is told it
 * is for admins only, and the server refuses them anyway (403).
 */
import { useState } from "preact/hooks";
import type { User } from "../api";
import { AdminInvites } from "./AdminInvites";
import { AdminReports } from "./AdminReports";
import { AdminStats } from "./AdminStats";
import { AdminUsers } from "./AdminUsers";

const TABS = [
	{ id: "users", label: "Users" },
	{ id: "invites", label: "Invites" },
	{ id: "reports", label: "Reports" },
	{ id: "stats", label: "Live figures" },
] as const;
type Tab = (typeof TABS)[number]["id"];

export function AdminPage({ user }: { user: User | null }) {
	const [tab, setTab] = useState<Tab>("users");

	if (!user) return <main class="page" aria-busy="true" />;
	if (user.role !== "admin") {
		return (
			<main class="page">
				<section class="empty">
					<h1>Admins only</h1>
					<p>
						This page is for the admins of this site. <a href="#/">Back to characters</a>
					</p>
				</section>
			</main>
		);
	}

	return (
		<main class="page admin-page">
			<h1>Admin</h1>
			<div class="tabs admin-tabs" role="tablist" aria-label="Admin sections">
				{TABS.map(({ id, label }) => (
					<button
						key={id}
						type="button"
						role="tab"
						id={`admin-tab-${id}`}
						aria-selected={tab === id}
						aria-controls="admin-panel"
						class={tab === id ? "tab active" : "tab"}
						onClick={() => setTab(id)}
					>
						{label}
					</button>
				))}
			</div>
			<section id="admin-panel" role="tabpanel" aria-labelledby={`admin-tab-${tab}`} class="admin-panel">
				{tab === "users" && <AdminUsers />}
				{tab === "invites" && <AdminInvites />}
				{tab === "reports" && <AdminReports user={user} />}
				{tab === "stats" && <AdminStats />}
			</section>
		</main>
	);
}
