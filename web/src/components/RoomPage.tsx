/**
 * A room (`#/rooms/{session_id}`): its people, invites and settings in a sidebar (a drawer on phones), and the live
 * conversation. The room is read again whenever it says it changed; who is there and who types come from its socket.
 * Removed by the owner (the socket's 4003 "Removed from the room", or the room read again answering 404), or having
 * left, you are taken back to the gallery, still logged in.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, errorText, type RoomView, type User } from "../api";
import { presenceOf, typingAt, typingDone, typingFrom, type Presence, type Typist } from "../chat/room";
import type { ChatCallbacks } from "../chat/use-chat";
import { navigate } from "../router";
import { toast } from "../toast";
import { ChatError, ChatLayout } from "./ChatLayout";
import { RoomConversation } from "./RoomConversation";
import { RoomSidebar } from "./RoomSidebar";

const REMOVED_NOTICE = "You were removed from this room";

export function RoomPage({ sessionId, visit, user }: { sessionId: string; visit: number; user: User | null }) {
	const [room, setRoom] = useState<RoomView | null>(null);
	const [error, setError] = useState("");
	const [presence, setPresence] = useState<Presence>({});
	const [typists, setTypists] = useState<Typist[]>([]);
	const [drawer, setDrawer] = useState(false);
	const me = useRef(user?.username);
	me.current = user?.username;
	const loaded = useRef(false);
	/** Leaving closes this member's sockets as a removal does: that close is then no news. */
	const leaving = useRef(false);

	const goBack = useCallback((notice: string) => {
		toast(notice);
		navigate("#/");
	}, []);

	const load = useCallback(() => {
		api<RoomView>(`/sessions/${encodeURIComponent(sessionId)}`).then(
			(view) => {
				loaded.current = true;
				setRoom(view);
			},
			(err) => {
				const gone = err instanceof ApiError && err.status === 404;
				if (gone && loaded.current) goBack(REMOVED_NOTICE);
				else setError(gone ? "This room doesn't exist, or you're not in it." : errorText(err));
			},
		);
	}, [sessionId, goBack]);

	useEffect(load, [load]);
	useEffect(() => setDrawer(false), [visit]);

	// "X is typing…" fades on its own a few seconds after their last keystroke frame.
	useEffect(() => {
		if (typists.length === 0) return;
		const next = Math.min(...typists.map((t) => t.until));
		const timer = window.setTimeout(() => setTypists((t) => typingAt(t, Date.now())), next - Date.now() + 20);
		return () => window.clearTimeout(timer);
	}, [typists]);

	const onRoomFrame = useCallback<NonNullable<ChatCallbacks["onRoomFrame"]>>(
		(frame) => {
			if (frame.type === "presence") setPresence(presenceOf(frame));
			else if (frame.type === "typing") setTypists((t) => typingFrom(t, frame, me.current, Date.now()));
			else if (frame.type === "message") setTypists((t) => typingDone(t, frame.username));
			else load();
		},
		[load],
	);
	const onRemoved = useCallback(() => leaving.current || goBack(REMOVED_NOTICE), [goBack]);

	const leave = useCallback(async () => {
		leaving.current = true;
		try {
			await api(`/sessions/${encodeURIComponent(sessionId)}/members/me`, { method: "DELETE" });
			goBack("You left the room");
		} catch (err) {
			leaving.current = false;
			toast(errorText(err), "error");
		}
	}, [sessionId, goBack]);
	const onMissing = useCallback(() => goBack("This room no longer exists."), [goBack]);

	if (error) return <ChatError error={error} />;

	return (
		<ChatLayout
			sidebarLabel="About this room"
			sidebarTitle={room?.title ?? ""}
			closeLabel="Close room details"
			drawer={drawer}
			onCloseDrawer={() => setDrawer(false)}
			sidebar={room && <RoomSidebar room={room} me={user?.username} presence={presence} onLeave={leave} />}
		>
			{room && (
				<RoomConversation
					key={visit}
					room={room}
					user={user}
					typists={typists}
					onRoomFrame={onRoomFrame}
					onRemoved={onRemoved}
					onMissing={onMissing}
					onOpenPeople={() => setDrawer(true)}
				/>
			)}
		</ChatLayout>
	);
}
