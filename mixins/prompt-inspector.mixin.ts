/**
 * ai-consumer's side of the prompt inspector: the prompts this node made for the latest replies of each session
 * (src/adapters/prompt-records.ts, in memory), and `prompt`, which the memory service asks every ai-consumer node.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../src/config.js";
import { PromptRecords, type PromptView } from "../src/adapters/prompt-records.js";

export interface PromptInspectorThis extends Service {
	/** What `record` keeps, `prompt` answers with. */
	records: PromptRecords;
}

interface FindParams {
	session_id: string;
	reply_id: string;
}

export default function PromptInspectorMixin(config: Config): Partial<ServiceSchema> {
	return {
		actions: {
			/** The kept prompt of a reply of a session, or null when this node did not make it (or no longer has it). */
			prompt: {
				visibility: "public",
				params: { session_id: "uuid", reply_id: "uuid" },
				handler(this: PromptInspectorThis, ctx: Context<FindParams>): PromptView | null {
					return this.records.find(ctx.params.session_id, ctx.params.reply_id);
				},
			},
		},

		created(this: Service) {
			(this as PromptInspectorThis).records = new PromptRecords(
				config.chat.inspectorReplies,
				config.chat.inspectorCacheMb * 1024 * 1024,
			);
		},

		stopped(this: Service) {
			(this as PromptInspectorThis).records.close();
		},
	};
}
