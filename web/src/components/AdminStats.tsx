/**
 * The admin console's live figures (GET /admin/stats, the REPL's sockets, queues and stats): asked again every few
 * seconds while shown, and no more once another tab or page is (the timer stops with the component).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api";
import type { LiveFigures } from "../admin-api";

const REFRESH_MS = 5000;
/** The traffic window the figures are over. */
const MINUTES = 5;

const rate = (n: number) => n.toLocaleString("en", { maximumFractionDigits: 1 });
const ms = (n: number | null) => (n === null ? "—" : `${Math.round(n).toLocaleString("en")} ms`);

export function AdminStats() {
	const [figures, setFigures] = useState<LiveFigures>();
	const [error, setError] = useState("");
	const [at, setAt] = useState<Date>();

	useEffect(() => {
		let live = true;
		const read = () =>
			api<LiveFigures>(`/admin/stats?minutes=${MINUTES}`).then(
				(answer) => {
					if (!live) return;
					setFigures(answer);
					setError("");
					setAt(new Date());
				},
				(err) => live && setError(errorText(err)),
			);
		void read();
		const timer = window.setInterval(() => void read(), REFRESH_MS);
		return () => {
			live = false;
			window.clearInterval(timer);
		};
	}, []);

	const queued = figures?.queues?.reduce((sum, q) => sum + (q.messages ?? 0), 0);
	const traffic = figures?.traffic;

	return (
		<>
			<p class="muted small" aria-live="off">
				Over the last {MINUTES} minutes, refreshed every {REFRESH_MS / 1000} s
				{at ? ` (last at ${at.toLocaleTimeString()})` : ""}.
			</p>
			{error && (
				<p class="form-error" role="alert">
					{error}
				</p>
			)}
			{!figures && !error && <p class="muted">Loading…</p>}
			{figures && traffic && (
				<dl class="admin-figures" aria-label="Live figures">
					<Figure label="Open chat sockets" value={rate(figures.sockets.count)}>
						on {figures.sockets.nodes.length} {figures.sockets.nodes.length === 1 ? "node" : "nodes"}
						{figures.sockets.failures.length > 0 && `, ${figures.sockets.failures.length} not answering`}
					</Figure>
					<Figure label="Queue depth" value={queued === undefined ? "not available" : rate(queued)}>
						{figures.queues ? "messages waiting in the chat queues" : "embedded mode, or RabbitMQ out of reach"}
					</Figure>
					<Figure label="Replies per minute" value={rate(traffic.replies_per_minute)}>
						{rate(traffic.user_messages_per_minute)} messages per minute
					</Figure>
					<Figure label="Reply latency" value={ms(traffic.latency_p50_ms)}>
						median; 99th percentile {ms(traffic.latency_p99_ms)}
					</Figure>
					<Figure label="Errors" value={rate(traffic.failed_replies)}>
						messages that got no reply
					</Figure>
				</dl>
			)}
		</>
	);
}

function Figure({ label, value, children }: { label: string; value: string; children: ComponentChildren }) {
	return (
		<div class="admin-figure">
			<dt>{label}</dt>
			<dd>
				<strong>{value}</strong>
				<span class="muted small">{children}</span>
			</dd>
		</div>
	);
}
