/** Which model names the configuration makes: the one replies use, and those characters and chats may name. */
import type { LlmConfig } from "../../config.js";
import { allowedModelsFor, isModelAllowed } from "../../domain/model-settings.js";
import { ModelNotAllowed } from "../../errors.js";

/** The model replies use unless a character or chat names another. */
export function configuredModel(llm: LlmConfig): string {
	if (llm.provider === "gemini") return llm.geminiModel;
	if (llm.provider === "openai") return llm.openaiModel ?? "";
	return "offline";
}

/** What characters and chat presets may name as their model: the configured one and LLM_ALLOWED_MODELS' for it. */
export function allowedModels(llm: LlmConfig): string[] {
	return allowedModelsFor(llm.provider, configuredModel(llm), llm.allowedModels);
}

/** Refuses (422 MODEL_NOT_ALLOWED) a character's or chat preset's model the operator does not allow. */
export function assertModelAllowed(llm: LlmConfig, field: string, model: string | null | undefined): void {
	const allowed = allowedModels(llm);
	if (!isModelAllowed(model, allowed)) throw ModelNotAllowed(field, String(model), allowed);
}
