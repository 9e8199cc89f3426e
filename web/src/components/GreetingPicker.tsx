/**
 * Choosing how a new chat opens: the card's first message or one of its alternate greetings, as the reader will see
 * them (names filled in), and a button that opens a new chat with the chosen one (`?greeting=n`).
 */
import { useEffect, useState } from "preact/hooks";
import { api, type CharacterDetails, type User } from "../api";
import { filled } from "../format";
import { chatHash, navigate, newChatHash } from "../router";
import { Modal } from "./Modal";
import { PlusIcon } from "./icons";

/** The greetings to choose from (none when the card has one only) and the New chat button. */
export function GreetingPicker({
	character,
	user,
	primary = true,
	onStart,
}: {
	character: CharacterDetails;
	user: User | null;
	/** The main action where it is shown. */
	primary?: boolean;
	/** Called once the new chat is opened (a dialog around the picker closes). */
	onStart?: () => void;
}) {
	const [chosen, setChosen] = useState(0);
	const greetings = [character.greeting, ...character.alternate_greetings];
	return (
		<>
			{greetings.length > 1 && (
				<fieldset class="greeting-picker">
					<legend>Start a new chat with…</legend>
					{greetings.map((text, i) => (
						<label class={i === chosen ? "greeting-option chosen" : "greeting-option"} key={i}>
							<input type="radio" name="greeting" value={i} checked={i === chosen} onChange={() => setChosen(i)} />
							<span class="greeting-label">{i === 0 ? "First message" : `Alternate greeting ${i}`}</span>
							<span class="greeting-text">
								{text.trim() ? filled(text, character.name, user) : "(no greeting: you start)"}
							</span>
						</label>
					))}
				</fieldset>
			)}
			<button
				type="button"
				class={primary ? "button primary wide" : "button wide"}
				onClick={() => {
					navigate(newChatHash(character.id, chosen));
					onStart?.();
				}}
			>
				<PlusIcon /> New chat
			</button>
		</>
	);
}

/**
 * The chat page's New chat: a new chat at once when the card has one greeting, else a dialog to choose which one it
 * opens with.
 */
export function NewChatButton({ characterId, user }: { characterId: string; user: User | null }) {
	const [choosing, setChoosing] = useState<CharacterDetails | null>(null);
	const [asking, setAsking] = useState(false);

	useEffect(() => setChoosing(null), [characterId]);

	async function start() {
		setAsking(true);
		try {
			const character = await api<CharacterDetails>(`/characters/id/${encodeURIComponent(characterId)}`);
			if (character.alternate_greetings.length > 0) return setChoosing(character);
		} catch {
			// The chat page says what is wrong with the character; a new chat is what was asked for.
		} finally {
			setAsking(false);
		}
		navigate(chatHash(characterId));
	}

	return (
		<>
			<button type="button" class="button primary wide" disabled={asking} onClick={() => void start()}>
				<PlusIcon /> New chat
			</button>
			{choosing && (
				<Modal title={`New chat with ${choosing.name}`} onClose={() => setChoosing(null)}>
					<div class="sheet-chat">
						<GreetingPicker character={choosing} user={user} onStart={() => setChoosing(null)} />
					</div>
				</Modal>
			)}
		</>
	);
}
