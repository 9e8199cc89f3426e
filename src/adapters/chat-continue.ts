/**
 * The two turns on chat-ws that ask the model for more without a message of the user's:
 * - `continue` marks the session's last reply as being continued and asks ai-consumer for the rest through
 *   `chat.user.msg` (`continue_id`); its deltas and the longer reply reach every socket of the session.
 * - `impersonate` streams ai-consumer's suggestion for the user's next line to the asking socket only, never stored.
 */
import type { Readable } from "node:stream";
import { Chan, errorFrame, type ErrorFrame, type ImpersonateParams, type Publish } from "../domain/chat-wire.js";
import type { ContinuationStore } from "./continuations.js";
import type { ChatClient } from "./socket-hub.js";

/** What these turns need of chat-ws (a part of its TurnDeps). */
export interface SteeringDeps {
	continuations: ContinuationStore;
	/** `ai-consumer.impersonate`: a stream of text chunks, or a refusal (`cannot_impersonate`) before any. */
	impersonate(params: ImpersonateParams): Promise<Readable>;
	publish: Publish;
	refuse(client: ChatClient, frame: ErrorFrame): void;
	logger: { warn(...a: unknown[]): void };
}

const IMPERSONATION_UNAVAILABLE = "No suggestion can be written right now; try again in a moment";

/** Sockets with a suggestion streaming: one at a time each. */
const impersonating = new WeakSet<ChatClient>();

/** Asks for the rest of the session's last reply, if it is a reply and nothing is being written for it. */
export async function continueReply(deps: SteeringDeps, client: ChatClient): Promise<void> {
	const { sessionId, username, name, characterId } = client.identity;
	const reply = await deps.continuations.mark(sessionId);
	if (!reply) return deps.refuse(client, await deps.continuations.refusal(sessionId));
	const ask = { message_id: reply.id, continue_id: reply.id, session_id: sessionId, username, user_name: name };
	await deps.publish(Chan.UserMsg, { ...ask, character_id: characterId, content: reply.content }).catch(async (err) => {
		deps.logger.warn({ session_id: sessionId, message_id: reply.id }, `Publish of a continue failed: ${err.message}`);
		await deps.continuations.release(reply.id);
		deps.refuse(client, errorFrame("ai_unavailable", "Could not ask for more; try again", { reply_to: reply.id }));
	});
}

/**
 * Asks ai-consumer for the user's next line and relays it to this socket: `impersonation.delta` frames, then the
 * whole `impersonation`. The relay runs beside the socket's next frames, so a stop or a message need not wait for it.
 */
export async function impersonate(deps: SteeringDeps, client: ChatClient): Promise<void> {
	if (impersonating.has(client)) {
		return deps.refuse(client, errorFrame("cannot_impersonate", "A suggestion is already being written"));
	}
	const { sessionId, username, name, characterId } = client.identity;
	impersonating.add(client);
	let stream: Readable;
	try {
		stream = await deps.impersonate({ session_id: sessionId, username, character_id: characterId, user_name: name });
	} catch (err) {
		impersonating.delete(client);
		const refused = (err as { type?: unknown }).type === "cannot_impersonate";
		if (!refused) deps.logger.warn({ session_id: sessionId }, `Impersonation failed: ${(err as Error).message}`);
		return deps.refuse(
			client,
			errorFrame("cannot_impersonate", refused ? (err as Error).message : IMPERSONATION_UNAVAILABLE),
		);
	}
	void relay(deps, client, stream).finally(() => impersonating.delete(client));
}

async function relay(deps: SteeringDeps, client: ChatClient, stream: Readable): Promise<void> {
	// Chunks cross the transporter as bytes: decoded as a whole, a character split between two stays whole.
	stream.setEncoding("utf8");
	let content = "";
	try {
		for await (const delta of stream as AsyncIterable<string>) {
			content += delta;
			client.send({ type: "impersonation.delta", delta });
		}
	} catch (err) {
		deps.logger.warn({ session_id: client.identity.sessionId }, `Impersonation broke off: ${(err as Error).message}`);
		return deps.refuse(client, errorFrame("cannot_impersonate", IMPERSONATION_UNAVAILABLE));
	}
	client.send({ type: "impersonation", content });
}
