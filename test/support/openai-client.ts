/** The /v1 tests' use of the official `openai` client: its failures, and streams read then aborted. */
import { expect } from "vitest";
import { APIError } from "openai";

/** The APIError a call fails with (the test fails if it succeeds or fails otherwise). */
export async function failure(call: Promise<unknown>): Promise<APIError> {
	const err = await call.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(err).toBeInstanceOf(APIError);
	return err as APIError;
}

/** Reads a completion's chunks and aborts after `after` of them; resolves with the texts read (the client ends quietly). */
export async function readThenAbort(
	stream: AsyncIterable<{ choices: { delta: { content?: string | null } }[] }>,
	controller: AbortController,
	after: number,
): Promise<string[]> {
	const texts: string[] = [];
	try {
		for await (const chunk of stream) {
			texts.push(chunk.choices[0]?.delta.content ?? "");
			if (texts.length === after) controller.abort();
		}
	} catch {
		// An abort may also end the iteration with an error, depending on when it lands.
	}
	return texts;
}
