/**
 * ai-consumer's side of `impersonate`: the model's suggestion for the user's next line as a Node stream of text,
 * which Moleculer carries to chat-ws as it is written (in-process, or chunk by chunk over the transporter). Nothing
 * is stored or published; what it cost is reported once the last chunk is read.
 */
import { Readable } from "node:stream";
import { Errors } from "moleculer";
import type { ChatModel, StreamOptions } from "../domain/chat-model.js";
import type { Usage } from "../domain/chat-wire.js";
import type { AssembledPrompt } from "../domain/prompt.js";
import { usageOf } from "./llm/factory.js";

/** The refusal chat-ws shows as a `cannot_impersonate` error frame (`type`), in these words (`message`). */
export function cannotImpersonate(message: string): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, 409, "cannot_impersonate");
}

export interface Impersonation {
	model: ChatModel;
	prompt: Pick<AssembledPrompt, "messages" | "tokens">;
	overrides: StreamOptions["overrides"];
	/** Called once the whole suggestion was read: the model that wrote it and its tokens. */
	onDone(spent: { model: string; usage: Usage }): void;
}

/**
 * The suggestion's chunks. The first is awaited before the stream is handed out: a model that cannot answer throws
 * here (an `LlmUnavailableError`), a refusal rather than a stream that breaks at once.
 */
export async function impersonationStream({ model, prompt, overrides, onDone }: Impersonation): Promise<Readable> {
	const stream = model.stream(prompt.messages, { overrides });
	const chunks = stream[Symbol.asyncIterator]();
	const first = await chunks.next();
	let content = "";
	async function* rest(): AsyncGenerator<string> {
		for (let next = first; !next.done; next = await chunks.next()) {
			content += next.value;
			yield next.value;
		}
		onDone({ model: stream.model ?? model.name, usage: usageOf(prompt.tokens, content, stream.usage) });
	}
	// Bytes, not objects: the transporter sends a byte stream's chunks as they are.
	return Readable.from(rest(), { objectMode: false });
}
