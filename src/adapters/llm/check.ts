/**
 * A cheap look at the configured provider at start: is the key accepted, does the model exist? One GET (Gemini's
 * model resource, the OpenAI-compatible model list) with a short deadline, so a bad key shows in the startup log and
 * `/readyz` before any user meets it. Also what tells a permanent provider error from a passing one.
 */
import type { LlmConfig } from "../../config.js";
import type { ModelCheck } from "../../domain/chat-model.js";

const CHECK_TIMEOUT_MS = 5000;
const GEMINI_ENDPOINT = "https://generativelanguage.googleapis.com";
const OPENAI_ENDPOINT = "https://api.openai.com/v1";
const DETAIL_CHARS = 300;

/**
 * Whether a provider's HTTP error means the configuration is wrong (retrying, or waiting, cannot help): a refused key
 * (Google answers a bad key with 400 API_KEY_INVALID), a missing permission, an unknown model.
 */
export function isMisconfiguration(status: number, detail: string): boolean {
	return (
		status === 401 ||
		status === 403 ||
		status === 404 ||
		(status === 400 && /API_KEY_INVALID|API key not valid|API key expired/i.test(detail))
	);
}

export async function checkModel(llm: LlmConfig, signal?: AbortSignal): Promise<ModelCheck> {
	const deadline = AbortSignal.timeout(CHECK_TIMEOUT_MS);
	const opts = { signal: signal ? AbortSignal.any([signal, deadline]) : deadline };
	try {
		if (llm.provider === "gemini") {
			const base = llm.geminiBaseUrl ?? GEMINI_ENDPOINT;
			const res = await fetch(`${base}/v1beta/models/${encodeURIComponent(llm.geminiModel)}`, {
				...opts,
				headers: { "x-goog-api-key": llm.googleApiKey ?? "" },
			});
			return res.ok ? { status: "ok" } : failed(res.status, await errorMessage(res), llm);
		}
		const base = llm.openaiBaseUrl ?? OPENAI_ENDPOINT;
		const res = await fetch(`${base}/models`, {
			...opts,
			headers: llm.openaiApiKey ? { authorization: `Bearer ${llm.openaiApiKey}` } : {},
		});
		// A compatible server without a model list says nothing about the key or the model.
		if (!res.ok)
			return res.status === 404 && llm.openaiBaseUrl
				? { status: "unknown", detail: "the server lists no models" }
				: failed(res.status, await errorMessage(res), llm);
		const listed = ((await res.json()) as { data?: { id?: string }[] }).data?.map((m) => m.id) ?? [];
		if (listed.includes(llm.openaiModel)) return { status: "ok" };
		const detail = `model "${llm.openaiModel}" is not in the provider's model list`;
		// OpenAI's list is complete; a local server may serve names it does not list.
		return llm.openaiBaseUrl ? { status: "unknown", detail } : { status: "misconfigured", detail };
	} catch (err) {
		const reason = deadline.aborted ? `no answer within ${CHECK_TIMEOUT_MS} ms` : (err as Error).message;
		return { status: "unknown", detail: redact(reason, llm) };
	}
}

function failed(status: number, message: string, llm: LlmConfig): ModelCheck {
	const detail = redact(`HTTP ${status}: ${message}`, llm).slice(0, DETAIL_CHARS);
	return isMisconfiguration(status, message) ? { status: "misconfigured", detail } : { status: "unknown", detail };
}

/** The provider's own words: Google's and OpenAI's error bodies both carry `error.message` (Google adds a reason). */
async function errorMessage(res: Response): Promise<string> {
	const text = await res.text();
	try {
		const { error } = JSON.parse(text) as { error?: { message?: string; details?: { reason?: string }[] } };
		const reason = error?.details?.find((d) => d.reason)?.reason;
		return [error?.message ?? res.statusText, reason && `(${reason})`].filter(Boolean).join(" ");
	} catch {
		return res.statusText || text.slice(0, DETAIL_CHARS);
	}
}

function redact(text: string, llm: LlmConfig): string {
	let out = text;
	for (const key of [llm.googleApiKey, llm.openaiApiKey]) if (key) out = out.split(key).join("[redacted]");
	return out;
}
