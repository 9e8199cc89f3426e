/**
 * Your own AI provider (issue 17) on the account page: a Gemini key, or an OpenAI-compatible server with its key and
 * model, that writes your replies instead of the server's model. The key is never shown back, only its last four
 * characters; removing it goes back to the server's model.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorText } from "../api";
import { toast } from "../toast";
import { PasswordField, TextField } from "./credentials";
import { FormFooter } from "./FormFooter";

type ProviderName = "gemini" | "openai";

/** GET /me/provider: never the key itself. */
interface OwnProviderView {
	provider: ProviderName;
	model: string | null;
	base_url: string | null;
	key_last4: string;
	updated_at: string;
	tokens_today: number;
	tokens_month: number;
}

/** The server's caps (src/domain/own-provider.ts), for the inputs; the server says so too. */
const KEY_MAX = 512;
const URL_MAX = 2048;
const MODEL_MAX = 100;

const FIELD_SENTENCES = {
	api_key: "The key is 1–512 characters, without spaces.",
	base_url:
		"The server refuses this address: it must be an http(s) URL of an OpenAI-compatible server on the internet " +
		"(one on the server's own network only if the operator allows it).",
	model: "Name the model (letters, digits and . _ : / -), e.g. gpt-4o-mini or llama3.",
};

export function OwnProvider() {
	const [current, setCurrent] = useState<OwnProviderView | null | undefined>(undefined);
	const [provider, setProvider] = useState<ProviderName>("openai");
	const [apiKey, setApiKey] = useState("");
	const [baseUrl, setBaseUrl] = useState("");
	const [model, setModel] = useState("");
	const [error, setError] = useState("");
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		api<OwnProviderView>("/me/provider").then(setCurrent, (err) =>
			err instanceof ApiError && err.status === 404 ? setCurrent(null) : setError(errorText(err)),
		);
	}, []);

	/** Model names belong to a provider: another provider starts from its default. */
	function chooseProvider(name: ProviderName) {
		setProvider(name);
		setModel("");
	}

	async function save(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError("");
		const body = {
			provider,
			api_key: apiKey.trim(),
			...(model.trim() ? { model: model.trim() } : {}),
			...(provider === "openai" && baseUrl.trim() ? { base_url: baseUrl.trim() } : {}),
		};
		try {
			setCurrent(await api<OwnProviderView>("/me/provider", { method: "PUT", body, fields: FIELD_SENTENCES }));
			setApiKey("");
			toast("Your replies now come from your own provider");
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	async function remove() {
		try {
			await api("/me/provider", { method: "DELETE" });
			setCurrent(null);
			toast("Your key is deleted: the server's model answers you again");
		} catch (err) {
			toast(errorText(err), "error");
		}
	}

	return (
		<section class="account-section" aria-labelledby="account-own-provider">
			<h2 id="account-own-provider">Your own AI provider</h2>
			<p class="muted">
				Use your own Gemini key or OpenAI-compatible server (OpenAI, OpenRouter, Ollama…) for your replies. You pay your
				provider; the server's daily token limit no longer applies to you. The key is stored encrypted and never shown
				again.
			</p>
			{current && (
				<div class="own-provider-current" aria-label="Your provider">
					<p>
						<strong>{current.provider === "gemini" ? "Gemini" : "OpenAI-compatible"}</strong>
						{current.model ? ` · ${current.model}` : " · the server's default model"}
						{current.base_url ? ` · ${current.base_url}` : ""} · key …{current.key_last4}
					</p>
					<p class="muted small">
						{current.tokens_today.toLocaleString()} tokens today, {current.tokens_month.toLocaleString()} this month
					</p>
					<div class="form-actions">
						<button type="button" class="button" onClick={() => void remove()}>
							Stop using my key
						</button>
					</div>
				</div>
			)}
			<form class="form" onSubmit={save} aria-label="Set your own provider">
				<label class="field">
					<span>Provider</span>
					<select value={provider} onChange={(e) => chooseProvider(e.currentTarget.value as ProviderName)}>
						<option value="openai">OpenAI-compatible server</option>
						<option value="gemini">Google Gemini</option>
					</select>
				</label>
				<PasswordField
					label="API key"
					autocomplete="off"
					required
					maxLength={KEY_MAX}
					value={apiKey}
					onValue={setApiKey}
				/>
				{provider === "openai" && (
					<TextField
						label="Base URL"
						type="url"
						placeholder="https://api.openai.com/v1"
						maxLength={URL_MAX}
						value={baseUrl}
						onValue={setBaseUrl}
					/>
				)}
				<TextField
					label={provider === "openai" ? "Model" : "Model (optional)"}
					required={provider === "openai"}
					maxLength={MODEL_MAX}
					placeholder={provider === "openai" ? "gpt-4o-mini" : "the server's default"}
					value={model}
					onValue={setModel}
				/>
				<FormFooter
					error={error}
					submit={current ? "Replace my provider" : "Use my provider"}
					disabled={busy || !apiKey.trim()}
				/>
			</form>
		</section>
	);
}
