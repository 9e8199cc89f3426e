/** Reading the official `openai` client's streams in the /v1 tests. */

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
