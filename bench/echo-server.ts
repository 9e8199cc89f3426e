/**
 * The baseline of `npm run bench`: a bare `ws` server that sends every frame straight back, with nothing behind it.
 * Run by bench/run.ts over IPC: it reports `{ port }` once listening (loopback, OS-chosen port) and exits when its
 * parent goes away.
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

// chat-ws's frame limit; no compression, as chat-ws.
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 64 * 1024, perMessageDeflate: false });
wss.on("connection", (ws) => {
	ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
	ws.on("error", () => ws.terminate());
});
wss.on("listening", () => process.send?.({ port: (wss.address() as AddressInfo).port }));
process.on("disconnect", () => process.exit(0));
