/**
 * Gives a service `this.db` (the process's one Sequelize instance and its models), opened before the service's own
 * `started` runs and released after its `stopped`.
 */
import type { Service, ServiceSchema } from "moleculer";
import type { Config } from "../src/config.js";
import { acquireDatabase, releaseDatabase, type Database } from "../src/adapters/database.js";

export interface DbThis {
	db: Database;
}

export default function DbMixin(config: Config): Partial<ServiceSchema> {
	return {
		async started(this: Service) {
			(this as Service & DbThis).db = await acquireDatabase(config, this.logger);
		},
		async stopped() {
			await releaseDatabase();
		},
	};
}
