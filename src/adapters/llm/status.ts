/**
 * What an ai-consumer process knows about its model's configuration, for the startup log and `/readyz`: checked
 * once at start (`ChatModel.check`, in the background: a slow provider must not hold the start up), then kept up to
 * date by the replies. A misconfiguration (refused key, unknown model) stays reported until a reply succeeds.
 */
import type { LoggerInstance } from "moleculer";
import { LlmUnavailableError, type ChatModel } from "../../domain/chat-model.js";

export class LlmStatus {
	/** "ok", "offline", "unchecked…" or "misconfigured: <the provider's words>". */
	private state = "unchecked";

	constructor(
		private readonly model: ChatModel,
		private readonly logger: LoggerInstance,
	) {}

	get summary(): string {
		return this.state;
	}

	get misconfigured(): boolean {
		return this.state.startsWith("misconfigured");
	}

	checkAtStart(): void {
		const { model, logger } = this;
		if (!model.check) {
			this.state = model.name;
			return;
		}
		void model.check().then((result) => {
			if (result.status === "ok") {
				this.state = "ok";
				logger.info(`Model check: ${model.name} accepts the key and knows the model`);
			} else if (result.status === "misconfigured") {
				this.state = `misconfigured: ${result.detail}`;
				logger.error(
					`Model check: ${model.name} is misconfigured (${result.detail}). Every reply fails with ai_misconfigured until the key or model is fixed (GOOGLE_API_KEY, GEMINI_MODEL or OPENAI_*).`,
				);
			} else {
				this.state = `unchecked: ${result.detail}`;
				logger.warn(`Model check: could not check ${model.name} (${result.detail}); the first reply will tell`);
			}
		});
	}

	replied(): void {
		if (this.model.check) this.state = "ok";
	}

	failed(err: unknown): void {
		if (err instanceof LlmUnavailableError && err.reason === "misconfigured")
			this.state = `misconfigured: ${err.detail}`;
	}
}
