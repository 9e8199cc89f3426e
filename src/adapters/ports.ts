/** Whether a TCP port can be listened on, found out by listening on it for a moment. */
import { createServer } from "node:net";

/** Resolves with the port it could listen on (`0`: one the OS picked), or rejects (EADDRINUSE, ...). */
export function listenOnce(port: number, host: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.once("error", reject);
		probe.listen(port, host, () => {
			const { port: bound } = probe.address() as { port: number };
			probe.close(() => resolve(bound));
		});
	});
}

/** True when another program listens on `host:port`; other failures (EACCES) are left to whoever listens next. */
export async function portTaken(port: number, host: string): Promise<boolean> {
	if (port === 0) return false;
	try {
		await listenOnce(port, host);
		return false;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EADDRINUSE";
	}
}
