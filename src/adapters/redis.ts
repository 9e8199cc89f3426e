/**
 * One ioredis connection per process for data (history cache, route registry), shared by the services that need
 * it and closed when the last of them stops. Keys are prefixed with the namespace so deployments never mix.
 */
import { Redis } from "ioredis";

let client: Redis | undefined;
let users = 0;

export function acquireRedis(url: string): Redis {
	users += 1;
	// maxRetriesPerRequest: a command fails after a few reconnect attempts instead of hanging while Redis is down.
	client ??= new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
	return client;
}

export async function releaseRedis(): Promise<void> {
	if (users === 0) return;
	users -= 1;
	if (users > 0 || !client) return;
	const closing = client;
	client = undefined;
	await closing.quit().catch(() => closing.disconnect());
}

export function redisKey(namespace: string, ...parts: string[]): string {
	return [namespace, ...parts].join(":");
}
