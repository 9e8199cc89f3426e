/**
 * What a chat is beside its messages: who you play in it and the lorebooks attached to it (GET/PATCH
 * /sessions/{id}), and what it remembers (GET/PATCH /sessions/{id}/memory: the summary and the pinned messages).
 * Read once the session has an id; each change is sent at once and the answer shown. Failures reject with an
 * ApiError fit to show.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, type Memory, type SessionSettings } from "../api";

export function useMemory(sessionId: string | undefined) {
	const [settings, setSettings] = useState<SessionSettings | null>(null);
	const [memory, setMemory] = useState<Memory | null>(null);
	const path = sessionId ? `/sessions/${encodeURIComponent(sessionId)}` : undefined;

	const reloadMemory = useCallback(async () => {
		if (path) setMemory(await api<Memory>(`${path}/memory`));
	}, [path]);

	useEffect(() => {
		if (!path) return;
		let live = true;
		api<SessionSettings>(path).then(
			(s) => live && setSettings(s),
			() => undefined,
		);
		api<Memory>(`${path}/memory`).then(
			(m) => live && setMemory(m),
			() => undefined,
		);
		return () => {
			live = false;
		};
	}, [path]);

	const patchSession = useCallback(
		async (body: { persona_id?: string; lorebook_ids?: string[] }) => {
			if (!path) return;
			setSettings(await api<SessionSettings>(path, { method: "PATCH", body }));
		},
		[path],
	);

	const patchMemory = useCallback(
		async (body: { summary?: string | null; pinned?: string[] }) => {
			if (!path) return;
			setMemory(await api<Memory>(`${path}/memory`, { method: "PATCH", body }));
		},
		[path],
	);

	const pinned = memory?.pinned ?? [];
	const togglePin = useCallback(
		(id: string) => patchMemory({ pinned: pinned.includes(id) ? pinned.filter((p) => p !== id) : [...pinned, id] }),
		[patchMemory, pinned],
	);

	return { settings, memory, patchSession, patchMemory, togglePin, reloadMemory };
}
