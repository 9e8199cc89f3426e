/**
 * Choosing the lorebooks attached to something (a chat, a persona, a character): yours and the public ones, each a
 * checkbox, in the order they were chosen. The caller saves the set.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { LorebookSummary } from "../lore";
import { CheckList } from "./CheckList";

/** The books you may attach (GET /lorebooks: yours and the public ones); null until they arrive. */
export function useLorebooks(): LorebookSummary[] | null {
	const [books, setBooks] = useState<LorebookSummary[] | null>(null);
	useEffect(() => {
		let live = true;
		api<LorebookSummary[]>("/lorebooks").then(
			(list) => live && setBooks(list),
			() => live && setBooks([]),
		);
		return () => {
			live = false;
		};
	}, []);
	return books;
}

export function LorebookPicker({
	selected,
	onChange,
	legend = "Lorebooks",
}: {
	selected: string[];
	onChange: (ids: string[]) => void;
	legend?: string;
}) {
	const books = useLorebooks();
	return (
		<fieldset class="form-group lorebook-picker">
			<legend>{legend}</legend>
			{books === null && <p class="muted small">Loading lorebooks…</p>}
			{books?.length === 0 && (
				<p class="muted small">
					No lorebooks yet. <a href="#/lorebooks">Make or import one</a>.
				</p>
			)}
			{books && books.length > 0 && (
				<CheckList
					items={books}
					chosen={selected}
					onChange={onChange}
					label={(book) => (
						<span class="check-text">
							<span>{book.name}</span>
							<span class="muted small">
								{book.entry_count === 1 ? "1 entry" : `${book.entry_count} entries`}
								{book.is_own ? "" : " · public"}
							</span>
						</span>
					)}
				/>
			)}
		</fieldset>
	);
}
