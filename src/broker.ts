/**
 * Builds a broker running the configured services. Used by the entry point, the cluster runner and the tests,
 * so every path starts the system the same way.
 */
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../moleculer.config.js";
import { serviceFactories } from "../services/index.js";
import type { Config } from "./config.js";
import { loadOrCreateLocalSecrets } from "./adapters/local-secrets.js";

/**
 * Embedded mode without JWT_SECRET or SECRETS_KEY gets them generated once and kept under the data directory. A
 * cluster node never writes there: its secrets come from the environment (config.ts requires those it needs), and
 * its root filesystem may be read-only.
 */
export async function withLocalSecrets(config: Config): Promise<Config> {
	if (config.mode !== "embedded" || (config.jwtSecret && config.secretsKey)) return config;
	const secrets = await loadOrCreateLocalSecrets(config.dataDir);
	return {
		...config,
		jwtSecret: config.jwtSecret ?? secrets.jwtSecret,
		secretsKey: config.secretsKey ?? Buffer.from(secrets.secretsKey, "hex"),
	};
}

export function createBroker(
	config: Config,
	overrides: Partial<ReturnType<typeof createBrokerOptions>> = {},
): ServiceBroker {
	const broker = new ServiceBroker({ ...createBrokerOptions(config), ...overrides });
	for (const name of config.services) broker.createService(serviceFactories[name](config));
	return broker;
}
